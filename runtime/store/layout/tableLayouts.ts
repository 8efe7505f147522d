import { sqlState, type SqlExecutor } from "../../drivers/driver.js";
import type { SchemaDefinition } from "../../schema/defineSchema.js";
import type { TableDefinition } from "../../schema/defineTable.js";
import { quoteIdent } from "../sqlText.js";
import { JsonbLayout } from "./jsonbLayout.js";
import { relationalColumns } from "../../schema/relationalColumns.js";
import { RelationalLayout } from "./relationalLayout.js";
import type { LayoutKind, TableLayout } from "./tableLayout.js";

/** The table recording each table's stored layout; no row means JSONB. @internal */
export function layoutsTable(schemaName: string): string {
  return `${quoteIdent(schemaName)}."_layouts"`;
}

/** DDL of {@link layoutsTable}. @internal */
export function layoutsTableSql(schemaName: string): string {
  return `CREATE TABLE IF NOT EXISTS ${layoutsTable(schemaName)} (
    table_name text PRIMARY KEY,
    layout text NOT NULL CHECK (layout IN ('jsonb', 'relational')),
    columns jsonb,
    changed_at timestamptz NOT NULL DEFAULT now()
  )`;
}

/** Reads the stored layout of every table that has a row (the others are JSONB). @internal */
export async function readStoredLayouts(sql: SqlExecutor, schemaName: string): Promise<Map<string, LayoutKind>> {
  try {
    const rows = await sql.query<{ table_name: string; layout: LayoutKind }>(
      `SELECT table_name, layout FROM ${layoutsTable(schemaName)}`,
    );
    return new Map(rows.map((row) => [row.table_name, row.layout]));
  } catch (error) {
    // A database synced before layouts existed: every table is JSONB.
    if (sqlState(error) === "42P01") return new Map();
    throw error;
  }
}

/**
 * The layout of one table of a schema, stored as `kind`.
 * @example
 * ```ts
 * const layout = createTableLayout("convoy", "projects", schema.tables.projects, "relational");
 * ```
 * @internal
 */
export function createTableLayout(
  schemaName: string,
  table: string,
  definition: TableDefinition,
  kind: LayoutKind,
): TableLayout {
  const tableSql = `${quoteIdent(schemaName)}.${quoteIdent(table)}`;
  if (kind === "jsonb") return new JsonbLayout(schemaName, table, tableSql);
  const columns = relationalColumns(table, definition.validator.shape, definition.relationalOptions);
  return new RelationalLayout(schemaName, table, tableSql, columns);
}

/**
 * Each table's layout for one store: the app's schema stored as the database says
 * (`convoy._layouts`). Read before the first transaction, and again when a statement
 * finds a shape gone (a migration's contract step).
 * @internal
 */
export class TableLayouts {
  private stored: ReadonlyMap<string, LayoutKind> | null = null;
  private loading: Promise<void> | null = null;
  private readonly layouts = new Map<string, TableLayout>();
  /** Counts the changes of some table's layout: a transaction that failed on a gone shape compares it with the one it ran under. */
  version = 0;

  constructor(
    readonly schema: SchemaDefinition,
    readonly schemaName: string,
  ) {}

  /** True once the stored layouts were read. */
  get loaded(): boolean {
    return this.stored !== null;
  }

  /** Reads the stored layouts, once; later calls wait for the same read. */
  load(sql: SqlExecutor): Promise<void> {
    this.loading ??= readStoredLayouts(sql, this.schemaName).then(
      (stored) => this.use(stored),
      (error: unknown) => {
        this.loading = null;
        throw error;
      },
    );
    return this.loading;
  }

  /** Reads the stored layouts again; returns the {@link version} after. */
  async reload(sql: SqlExecutor): Promise<number> {
    this.use(await readStoredLayouts(sql, this.schemaName));
    this.loading = Promise.resolve();
    return this.version;
  }

  /** Uses these layouts (sync and tests, which know them). */
  use(stored: ReadonlyMap<string, LayoutKind>): void {
    const changed =
      this.stored === null ||
      Object.keys(this.schema.tables).some((table) => this.kindOf(table) !== kindIn(stored, table));
    this.stored = stored;
    if (!changed) return;
    this.layouts.clear();
    this.version++;
  }

  /** The stored layout kind of a table. */
  kindOf(table: string): LayoutKind {
    return kindIn(this.stored ?? new Map(), table);
  }

  /** The layout of a table of the schema. */
  of(table: string): TableLayout {
    let layout = this.layouts.get(table);
    if (layout === undefined) {
      if (this.stored === null) throw new Error("TableLayouts.of before load: the store reads the layouts first");
      layout = createTableLayout(this.schemaName, table, this.schema.tables[table]!, this.kindOf(table));
      this.layouts.set(table, layout);
    }
    return layout;
  }
}

function kindIn(stored: ReadonlyMap<string, LayoutKind>, table: string): LayoutKind {
  return stored.get(table) ?? "jsonb";
}
