import { checkFieldPath, jsonPathSql, nullAsJson, quoteIdent, quoteLiteral, type SqlCast } from "../sqlText.js";
import { jsonbKey, nullableScalarKey, SCALAR_TYPES, scalarKey, type ScalarType } from "./fieldKeys.js";
import { hasForeignKey, postgresName, type ColumnSpec, type ColumnType } from "../../schema/relationalColumns.js";
import { INDEX_TAIL_SQL, systemFieldJson, systemKey } from "./systemKeys.js";
import { systemColumnsSql } from "./systemDefaults.js";
import type { FieldKey, MigrationConstraint, Statement, StoredDocument, TableLayout } from "./tableLayout.js";

const SCALAR_OF: Record<Exclude<ColumnType, "jsonb">, ScalarType> = {
  text: SCALAR_TYPES.text,
  "double precision": SCALAR_TYPES.float8,
  boolean: SCALAR_TYPES.bool,
};

const CAST_OF: Record<ColumnType, SqlCast> = {
  text: "text",
  "double precision": "float8",
  boolean: "bool",
  jsonb: "jsonb",
};

/** jsonb's order of object keys (shorter first, then bytewise), so documents read alike from both layouts. */
function jsonbKeyOrder(a: ColumnSpec, b: ColumnSpec): number {
  if (a.field.length !== b.field.length) return a.field.length - b.field.length;
  return a.field < b.field ? -1 : a.field > b.field ? 1 : 0;
}

/**
 * A jsonb column that may be NULL is read as text: drivers parse JSON `null` and SQL
 * `NULL` (a missing field) alike, and only the text tells them apart.
 */
function readsAsText(spec: ColumnSpec): boolean {
  return spec.type === "jsonb" && spec.nullMeans === "missing";
}

function selectSql(spec: ColumnSpec): string {
  const column = quoteIdent(spec.column);
  return readsAsText(spec) ? `${column}::text AS ${column}` : column;
}

function literalSql(value: string | number | boolean): string {
  return typeof value === "string" ? quoteLiteral(value) : String(value);
}

/** A relational table's constraint names: `<table>__<column>__<what>`, at most 63 bytes. @internal */
export function constraintName(table: string, column: string, what: "check" | "fkey" | "not_null"): string {
  return postgresName(`${table}__${column}__${what}`);
}

/**
 * One typed column per field ({@link ColumnSpec}), native indexes on the columns, and a
 * foreign key for each `defineRef` field. Documents, orders and ranges are the same as
 * the JSONB layout's (see `fieldKeys.ts`).
 * @internal
 */
export class RelationalLayout implements TableLayout {
  readonly kind = "relational";
  readonly selectList: string;
  private readonly byField: Map<string, ColumnSpec>;
  /** Columns in the order a jsonb document lists its keys. */
  private readonly documentOrder: ColumnSpec[];
  /** Fields named like an `Object.prototype` member (`constructor`, `__proto__`): defined, never assigned. */
  private readonly prototypeNamed: ReadonlySet<string>;
  /** The statements of {@link insert} and {@link update}, made once: a mutation's client CPU is mostly such text. */
  private readonly insertText: string;
  private readonly updateText: string;

  constructor(
    readonly schemaName: string,
    readonly table: string,
    readonly tableSql: string,
    readonly columns: readonly ColumnSpec[],
  ) {
    this.byField = new Map(columns.map((column) => [column.field, column]));
    this.documentOrder = [...columns].sort(jsonbKeyOrder);
    this.prototypeNamed = new Set(columns.map((spec) => spec.field).filter((field) => field in Object.prototype));
    this.selectList = ["_id", "_creation_time", ...this.documentOrder.map(selectSql)].join(", ");
    const names = columns.map((spec) => `, ${quoteIdent(spec.column)}`).join("");
    const values = columns.map((spec, i) => `, $${i + 3}::${CAST_OF[spec.type]}`).join("");
    this.insertText = `INSERT INTO ${tableSql} (_id, _creation_time${names}) VALUES ($1::text, $2::float8${values})`;
    const sets = columns.map((spec, i) => `${quoteIdent(spec.column)} = $${i + 2}::${CAST_OF[spec.type]}`);
    this.updateText = `UPDATE ${tableSql} SET ${sets.join(", ")} WHERE _id = $1::text`;
  }

  toDocument(row: Record<string, unknown>): StoredDocument {
    const document: StoredDocument = { _id: row._id as string, _creationTime: row._creation_time as number };
    for (const spec of this.documentOrder) {
      const stored = row[spec.column];
      let value: unknown;
      if (stored === null || stored === undefined) {
        // NULL is a missing field, or JSON null: SQL NULL of a nullable scalar column, or
        // jsonb `null` of a NOT NULL jsonb column, which drivers also parse to null.
        if (spec.nullMeans === "missing") continue;
        value = null;
      } else {
        value = readsAsText(spec) ? JSON.parse(stored as string) : stored;
      }
      // A field named like an Object.prototype member is a field: defined, since assigning
      // `__proto__` sets the prototype. Others are assigned, several times faster.
      if (this.prototypeNamed.has(spec.field)) {
        Object.defineProperty(document, spec.field, { value, enumerable: true, writable: true, configurable: true });
      } else {
        document[spec.field] = value;
      }
    }
    return document;
  }

  private column(field: string): ColumnSpec | undefined {
    return this.byField.get(field);
  }

  /** The jsonb value of a whole column: NULL when the field is missing. */
  private columnJson(spec: ColumnSpec): string {
    const column = quoteIdent(spec.column);
    if (spec.type === "jsonb") return column;
    return spec.nullMeans === "null" ? nullAsJson(`to_jsonb(${column})`) : `to_jsonb(${column})`;
  }

  key(field: string): FieldKey {
    const system = systemKey(field);
    if (system) return system;
    const spec = field.includes(".") ? undefined : this.column(field);
    if (spec === undefined || spec.type === "jsonb") return jsonbKey(field, nullAsJson(this.fieldJson(field)));
    const scalar = SCALAR_OF[spec.type];
    const column = quoteIdent(spec.column);
    return spec.nullMeans === "never" ? scalarKey(field, column, scalar) : nullableScalarKey(field, column, scalar);
  }

  fieldJson(path: string): string {
    const system = systemFieldJson(path);
    if (system !== null) return system;
    const [top, ...rest] = checkFieldPath(path);
    const spec = this.column(top!);
    if (spec === undefined) return "NULL::jsonb";
    const value = this.columnJson(spec);
    return rest.length === 0 ? value : jsonPathSql(value, rest);
  }

  /** A column's parameter for a document's value (undefined: missing). */
  private value(spec: ColumnSpec, fields: Record<string, unknown>): unknown {
    const value = Object.hasOwn(fields, spec.field) ? fields[spec.field] : undefined;
    if (spec.type === "jsonb") return value === undefined ? null : JSON.stringify(value);
    return value ?? null;
  }

  insert(id: string, creationTime: number, fields: Record<string, unknown>): Statement {
    const params: unknown[] = [id, creationTime];
    for (const spec of this.columns) params.push(this.value(spec, fields));
    return { text: this.insertText, params };
  }

  update(id: string, fields: Record<string, unknown>): Statement {
    const params: unknown[] = [id];
    for (const spec of this.columns) params.push(this.value(spec, fields));
    return { text: this.updateText, params };
  }

  storageColumns(): { column: string; type: string }[] {
    return this.columns.map((spec) => ({ column: spec.column, type: spec.type }));
  }

  /** The `CHECK` of a column: finite numbers, allowed values; null when it needs none. @internal */
  checkSql(spec: ColumnSpec): string | null {
    const column = quoteIdent(spec.column);
    const conditions: string[] = [];
    // NaN and the infinities are not JSON numbers; NaN sorts above every number, so this
    // one comparison refuses all three (and an allowed list refuses them already). Postgres
    // prepares every CHECK afresh for each statement: one comparison instead of two took
    // a fifth off a relational insert's CHECK cost (benchmarks.md, "Relational tables").
    if (spec.type === "double precision" && !spec.allowed) conditions.push(`abs(${column}) < 'Infinity'`);
    if (spec.allowed) conditions.push(`${column} IN (${spec.allowed.map(literalSql).join(", ")})`);
    return conditions.length === 0 ? null : conditions.join(" AND ");
  }

  /** A column's definition in `CREATE TABLE`. */
  private columnSql(spec: ColumnSpec): string {
    const check = this.checkSql(spec);
    return [
      `${quoteIdent(spec.column)} ${spec.type}`,
      spec.nullMeans === "never" ? " NOT NULL" : "",
      check ? ` CONSTRAINT ${quoteIdent(constraintName(this.table, spec.column, "check"))} CHECK (${check})` : "",
    ].join("");
  }

  createTableSql(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.tableSql} (
    ${[systemColumnsSql(this.schemaName, this.table), ...this.columns.map((spec) => this.columnSql(spec))].join(",\n    ")}
  )`;
  }

  /** The foreign key of a reference column. @internal */
  foreignKeySql(spec: ColumnSpec, notValid = false): string {
    const target = `${quoteIdent(this.schemaName)}.${quoteIdent(spec.references!)}`;
    const name = quoteIdent(constraintName(this.table, spec.column, "fkey"));
    return `ALTER TABLE ${this.tableSql} ADD CONSTRAINT ${name} FOREIGN KEY (${quoteIdent(spec.column)}) REFERENCES ${target} (_id) DEFERRABLE INITIALLY DEFERRED${notValid ? " NOT VALID" : ""}`;
  }

  foreignKeysSql(): string[] {
    return this.columns.filter(hasForeignKey).map((spec) => this.foreignKeySql(spec));
  }

  indexColumnsSql(fields: readonly string[]): string {
    return [...fields.flatMap((field) => this.key(field).parts.map((part) => part.sql)), INDEX_TAIL_SQL].join(", ");
  }

  documentSql(alias: string): string {
    const required = this.documentOrder.filter((spec) => spec.nullMeans !== "missing");
    const optional = this.documentOrder.filter((spec) => spec.nullMeans === "missing");
    const value = (spec: ColumnSpec) => `${alias}.${quoteIdent(spec.column)}`;
    // jsonb_build_object takes at most 100 arguments: 50 fields a call.
    const objects: string[] = [];
    for (let i = 0; i < required.length || i === 0; i += 50) {
      const pairs = required.slice(i, i + 50).map((spec) => `${quoteLiteral(spec.field)}, ${value(spec)}`);
      objects.push(`jsonb_build_object(${pairs.join(", ")})`);
    }
    for (const spec of optional) {
      objects.push(
        `(CASE WHEN ${value(spec)} IS NULL THEN '{}'::jsonb ELSE jsonb_build_object(${quoteLiteral(spec.field)}, ${value(spec)}) END)`,
      );
    }
    return objects.length === 1 ? objects[0]! : `(${objects.join(" || ")})`;
  }

  /** The jsonb type a column's values have inside a document. */
  private static readonly JSON_TYPE: Record<Exclude<ColumnType, "jsonb">, string> = {
    text: "string",
    "double precision": "number",
    boolean: "boolean",
  };

  /** SQL that holds (never NULL) when the document's value of `spec` fits the column: type, presence, allowed values. */
  private fitsSql(spec: ColumnSpec, doc: string): string {
    const value = jsonPathSql(doc, [spec.field]);
    if (spec.type === "jsonb") return spec.nullMeans === "never" ? `(${value} IS NOT NULL)` : "true";
    const typed = `coalesce(jsonb_typeof(${value}) = ${quoteLiteral(RelationalLayout.JSON_TYPE[spec.type])}, false)`;
    // CASE, not AND: the cast of the value may only run once its type is known.
    const present = spec.allowed
      ? `(CASE WHEN ${typed} THEN ${valueSql(spec, doc)} IN (${spec.allowed.map(literalSql).join(", ")}) ELSE false END)`
      : typed;
    if (spec.nullMeans === "missing") return `(${value} IS NULL OR ${present})`;
    if (spec.nullMeans === "null") return `(coalesce(${value} = 'null'::jsonb, false) OR ${present})`;
    return present;
  }

  storageFromDocumentSql(doc: string, id: string): { column: string; sql: string }[] {
    const known = `ARRAY[${this.columns.map((spec) => quoteLiteral(spec.field)).join(", ")}]::text[]`;
    return this.columns.map((spec, i) => {
      const value = jsonPathSql(doc, [spec.field]);
      const misfit = (field: string, shown: string, expected: string) =>
        `${quoteIdent(this.schemaName)}."_misfit"(${quoteLiteral(this.table)}, ${id}, ${field}, ${shown}, ${quoteLiteral(expected)})::${spec.type}`;
      const expected = describeColumn(spec);
      const absent =
        spec.nullMeans === "missing"
          ? `${value} IS NULL`
          : spec.nullMeans === "null"
            ? `${value} = 'null'::jsonb`
            : "false";
      const stored = spec.type === "jsonb" ? value : valueSql(spec, doc);
      let sql = `CASE WHEN ${absent} THEN NULL WHEN ${this.fitsSql(spec, doc)} THEN ${stored} ELSE ${misfit(quoteLiteral(spec.field), value, expected)} END`;
      // The first column also refuses fields the schema does not have: they would be lost.
      if (i === 0) {
        const unknown = `(${doc} - ${known})`;
        sql = `CASE WHEN ${unknown} <> '{}'::jsonb THEN ${misfit("'(unknown)'", unknown, "no such field in the schema")} ELSE ${sql} END`;
      }
      return { column: spec.column, sql };
    });
  }

  documentProblemSql(doc: string): string | null {
    const known = `ARRAY[${this.columns.map((spec) => quoteLiteral(spec.field)).join(", ")}]::text[]`;
    const cases = [
      `WHEN jsonb_typeof(${doc}) <> 'object' THEN 'the document is not a JSON object'`,
      `WHEN (${doc} - ${known}) <> '{}'::jsonb THEN 'fields not in the schema: ' || (SELECT string_agg(k, ', ') FROM jsonb_object_keys(${doc} - ${known}) AS k)`,
      ...this.columns.map((spec) => {
        const shown = `coalesce(left(${jsonPathSql(doc, [spec.field])}::text, 100), 'missing')`;
        return `WHEN NOT ${this.fitsSql(spec, doc)} THEN ${quoteLiteral(`${spec.field}: `)} || ${shown} || ${quoteLiteral(` does not fit ${describeColumn(spec)}`)}`;
      }),
      ...this.columns.filter(hasForeignKey).map((spec) => {
        const target = `${quoteIdent(this.schemaName)}.${quoteIdent(spec.references)}`;
        const id = valueSql(spec, doc);
        return `WHEN ${id} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${target} AS referenced WHERE referenced._id = ${id}) THEN ${quoteLiteral(`${spec.field}: `)} || ${id} || ${quoteLiteral(` is not a document of ${spec.references}`)}`;
      }),
    ];
    return `CASE ${cases.join(" ")} END`;
  }

  migrationConstraints(): MigrationConstraint[] {
    return this.columns.flatMap((spec) => {
      const column = quoteIdent(spec.column);
      const constraints: MigrationConstraint[] = [];
      if (spec.nullMeans === "never") {
        constraints.push({
          name: constraintName(this.table, spec.column, "not_null"),
          definition: `CHECK (${column} IS NOT NULL)`,
          notNullColumn: spec.column,
        });
      }
      const check = this.checkSql(spec);
      if (check)
        constraints.push({ name: constraintName(this.table, spec.column, "check"), definition: `CHECK (${check})` });
      if (hasForeignKey(spec)) {
        const target = `${quoteIdent(this.schemaName)}.${quoteIdent(spec.references)}`;
        constraints.push({
          name: constraintName(this.table, spec.column, "fkey"),
          definition: `FOREIGN KEY (${column}) REFERENCES ${target} (_id) DEFERRABLE INITIALLY DEFERRED`,
        });
      }
      return constraints;
    });
  }
}

/** The typed value of a scalar field inside a document, assuming it fits. */
function valueSql(spec: ColumnSpec, doc: string): string {
  const value = jsonPathSql(doc, [spec.field]);
  if (spec.type === "text") return `(${doc} ->> ${quoteLiteral(spec.field)})`;
  if (spec.type === "double precision") return `(${value})::double precision`;
  if (spec.type === "boolean") return `(${value})::boolean`;
  return value;
}

/** How a column is described in a misfit report, e.g. `text NOT NULL`. */
function describeColumn(spec: ColumnSpec): string {
  const nullable =
    spec.nullMeans === "never" ? " NOT NULL" : spec.nullMeans === "missing" ? " (NULL: missing)" : " (NULL: null)";
  const allowed = spec.allowed ? ` IN (${spec.allowed.map((value) => JSON.stringify(value)).join(", ")})` : "";
  return `${spec.column} ${spec.type}${nullable}${allowed}`;
}
