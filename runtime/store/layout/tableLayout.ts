import type { LayoutKind } from "../../schema/defineTable.js";
import type { SqlCast, SqlParams } from "../sqlText.js";

export type { LayoutKind } from "../../schema/defineTable.js";

/** A document as functions see it: system fields, then user fields. @internal */
export type StoredDocument = Record<string, unknown> & { _id: string; _creationTime: number };

/** A statement with positional parameters. @internal */
export interface Statement {
  text: string;
  params: unknown[];
}

/** A comparison of an index key with a value. @internal */
export type KeyComparison = "=" | "<" | "<=" | ">" | ">=";

/** One SQL expression of an index key, with the SQL type of its values. @internal */
export interface KeyPart {
  sql: string;
  cast: SqlCast;
}

/**
 * How one field takes part in an index key, a sort and a range: its SQL parts (one, or
 * two for a column that may be NULL), and how a JSON value compares with it. Every
 * layout orders a field's values as Postgres orders them inside `jsonb`, so results,
 * ranges and cursors are the same whichever layout holds the table.
 * @internal
 */
export interface FieldKey {
  readonly field: string;
  readonly parts: readonly KeyPart[];
  /** True when `value` can be a position of this key (a cursor made on either layout). */
  accepts(value: unknown): boolean;
  /** The parameters of a position this key {@link accepts}, one per part. */
  position(value: unknown, params: SqlParams): string[];
  /** SQL that holds where the key compares to `value` as `op` does, in jsonb's order. */
  compare(op: KeyComparison, value: unknown, params: SqlParams): string;
}

/**
 * How one table is stored: everything that renders SQL for a document table asks its
 * layout (see docs/storage.md, "How the code keeps the two layouts apart").
 * `jsonbLayout.ts` and `relationalLayout.ts` implement it.
 * @internal
 */
export interface TableLayout {
  readonly kind: LayoutKind;
  readonly table: string;
  /** The qualified, quoted table name. */
  readonly tableSql: string;
  /** What `SELECT` lists to read whole documents. */
  readonly selectList: string;
  /** A row read with {@link selectList} as the document functions see. */
  toDocument(row: Record<string, unknown>): StoredDocument;
  /** The key of a field (or system field) in indexes, sorts and ranges. */
  key(field: string): FieldKey;
  /** The jsonb SQL of a field path's value, NULL where it is missing (filters). */
  fieldJson(path: string): string;
  /** Inserts a validated document. */
  insert(id: string, creationTime: number, fields: Record<string, unknown>): Statement;
  /** Replaces the user fields of a document with validated ones. */
  update(id: string, fields: Record<string, unknown>): Statement;

  /** The storage columns of the user fields: `doc jsonb`, or one per field. */
  storageColumns(): { column: string; type: string }[];
  /** `CREATE TABLE` of this layout, without foreign keys ({@link foreignKeysSql}). */
  createTableSql(): string;
  /** `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY` statements (none for JSONB). */
  foreignKeysSql(): string[];
  /** The index expressions of an index over `fields`, ending with `_creation_time, _id`. */
  indexColumnsSql(fields: readonly string[]): string;
  /** The document's user fields as one jsonb expression, from a row named `alias`. */
  documentSql(alias: string): string;

  /**
   * Each storage column computed from a document (the jsonb SQL `doc`, of the row whose
   * id is the SQL `id`): what a migration's backfill and shape trigger write. A value
   * that does not fit its column raises `_misfit` (SQLSTATE 22023).
   */
  storageFromDocumentSql(doc: string, id: string): { column: string; sql: string }[];
  /** A text SQL expression naming why a document cannot be stored in this layout, NULL when it can. */
  documentProblemSql(doc: string): string | null;
  /**
   * The constraints a migration to this layout adds `NOT VALID` at its start and
   * validates after the backfill; a `notNullColumn` one is then replaced by `SET NOT NULL`.
   */
  migrationConstraints(): MigrationConstraint[];
}

/** A constraint added `NOT VALID`, then validated (see {@link TableLayout.migrationConstraints}). @internal */
export interface MigrationConstraint {
  name: string;
  /** What follows `ADD CONSTRAINT <name>`, without `NOT VALID`. */
  definition: string;
  /** Set for the stand-in of a `NOT NULL`: the column to `SET NOT NULL` once it is valid. */
  notNullColumn?: string;
}
