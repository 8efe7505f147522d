import { checkFieldPath, COLUMN, jsonPathSql, nullAsJson } from "../sqlText.js";
import { jsonbKey } from "./fieldKeys.js";
import { INDEX_TAIL_SQL, systemFieldJson, systemKey } from "./systemKeys.js";
import { systemColumnsSql } from "./systemDefaults.js";
import { postgresName } from "../../schema/relationalColumns.js";
import type { FieldKey, MigrationConstraint, Statement, StoredDocument, TableLayout } from "./tableLayout.js";

/** The column holding a JSONB table's user fields. @internal */
export const DOC_COLUMN = "doc";

/**
 * The default layout: the user fields in one `doc jsonb` column, indexes over
 * expressions such as `COALESCE((doc -> 'userId'), 'null'::jsonb)`.
 * @internal
 */
export class JsonbLayout implements TableLayout {
  readonly kind = "jsonb";
  readonly selectList = `${COLUMN.id}, ${COLUMN.creationTime}, ${DOC_COLUMN}`;

  constructor(
    readonly schemaName: string,
    readonly table: string,
    readonly tableSql: string,
  ) {}

  toDocument(row: Record<string, unknown>): StoredDocument {
    return {
      _id: row._id as string,
      _creationTime: row._creation_time as number,
      ...(row.doc as Record<string, unknown>),
    };
  }

  key(field: string): FieldKey {
    return systemKey(field) ?? jsonbKey(field, nullAsJson(this.fieldJson(field)));
  }

  fieldJson(path: string): string {
    return systemFieldJson(path) ?? jsonPathSql(DOC_COLUMN, checkFieldPath(path));
  }

  insert(id: string, creationTime: number, fields: Record<string, unknown>): Statement {
    return {
      text: `INSERT INTO ${this.tableSql} (_id, _creation_time, doc) VALUES ($1::text, $2::float8, $3::jsonb)`,
      params: [id, creationTime, JSON.stringify(fields)],
    };
  }

  update(id: string, fields: Record<string, unknown>): Statement {
    return {
      text: `UPDATE ${this.tableSql} SET doc = $2::jsonb WHERE _id = $1::text`,
      params: [id, JSON.stringify(fields)],
    };
  }

  storageColumns(): { column: string; type: string }[] {
    return [{ column: DOC_COLUMN, type: "jsonb" }];
  }

  createTableSql(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.tableSql} (
    ${systemColumnsSql(this.schemaName, this.table)},
    ${DOC_COLUMN} jsonb NOT NULL
  )`;
  }

  foreignKeysSql(): string[] {
    return [];
  }

  indexColumnsSql(fields: readonly string[]): string {
    return [...fields.map((field) => nullAsJson(this.fieldJson(field))), INDEX_TAIL_SQL].join(", ");
  }

  documentSql(alias: string): string {
    return `${alias}.${DOC_COLUMN}`;
  }

  storageFromDocumentSql(doc: string): { column: string; sql: string }[] {
    return [{ column: DOC_COLUMN, sql: doc }];
  }

  documentProblemSql(): string | null {
    return null; // any document fits a jsonb column
  }

  migrationConstraints(): MigrationConstraint[] {
    const name = postgresName(`${this.table}__${DOC_COLUMN}__not_null`);
    return [{ name, definition: `CHECK (${DOC_COLUMN} IS NOT NULL)`, notNullColumn: DOC_COLUMN }];
  }
}
