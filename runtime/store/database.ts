import { ConvoyError } from "../errors.js";
import type { GenericDataModel, TableNamesOf } from "../schema/dataModel.js";
import { generateId, tableOfId, type Id } from "../schema/ids.js";
import { nextCreationTime } from "./creationTime.js";
import type { StoredDocument } from "./layout/tableLayout.js";
import { QueryImpl, type QueryInitializer } from "./query.js";
import { tableOf } from "./tableIndexes.js";
import type { TransactionContext } from "./transactionContext.js";
import { shownValue } from "./shownValue.js";
import { SystemDatabase, type SystemReader } from "./systemTables.js";
import { validateDocument } from "./validateDocument.js";

type DocumentOfTable<TDataModel extends GenericDataModel, TTable extends string> = TDataModel[TTable]["document"];
type InputOfTable<TDataModel extends GenericDataModel, TTable extends string> = TDataModel[TTable]["input"];

/** The read side of `ctx.db`, available in queries and mutations. */
export interface DatabaseReader<TDataModel extends GenericDataModel> {
  /**
   * The document with this id, or null if there is none.
   * @example
   * ```ts
   * const user = await ctx.db.get(args.userId);
   * ```
   */
  get<TTable extends TableNamesOf<TDataModel>>(id: Id<TTable>): Promise<DocumentOfTable<TDataModel, TTable> | null>;
  /** The document with this id in `table`, or null; throws if the id is of another table. */
  get<TTable extends TableNamesOf<TDataModel>>(
    table: TTable,
    id: Id<TTable>,
  ): Promise<DocumentOfTable<TDataModel, TTable> | null>;
  /**
   * Starts a query over a table.
   * @example
   * ```ts
   * await ctx.db.query("projects").withIndex("by_userId", (q) => q.eq("userId", userId)).collect();
   * ```
   */
  query<TTable extends TableNamesOf<TDataModel>>(table: TTable): QueryInitializer<TDataModel[TTable]>;
  /** `id` typed as an id of `table` if it is one, else null. */
  normalizeId<TTable extends TableNamesOf<TDataModel>>(table: TTable, id: string): Id<TTable> | null;
  /**
   * Convoy's system tables, read-only: `ctx.db.system.get(jobId)`,
   * `ctx.db.system.query("_scheduled_functions")` (live in a watched query).
   */
  readonly system: SystemReader;
}

/** The value a patch merges in: `undefined` removes an optional field. */
export type PatchValue<TInput> = { [K in keyof TInput]?: TInput[K] | undefined };

/** `ctx.db` in mutations: the reader plus writes, each validated against the schema. */
export interface DatabaseWriter<TDataModel extends GenericDataModel> extends DatabaseReader<TDataModel> {
  /**
   * Inserts a document and returns its new id.
   * @example
   * ```ts
   * const id = await ctx.db.insert("users", { name: "Ada", createdAt: Date.now() });
   * ```
   */
  insert<TTable extends TableNamesOf<TDataModel>>(
    table: TTable,
    value: InputOfTable<TDataModel, TTable>,
  ): Promise<Id<TTable>>;
  /** Shallow-merges `value` into the document; throws NOT_FOUND if it does not exist. */
  patch<TTable extends TableNamesOf<TDataModel>>(
    id: Id<TTable>,
    value: PatchValue<InputOfTable<TDataModel, TTable>>,
  ): Promise<void>;
  patch<TTable extends TableNamesOf<TDataModel>>(
    table: TTable,
    id: Id<TTable>,
    value: PatchValue<InputOfTable<TDataModel, TTable>>,
  ): Promise<void>;
  /** Replaces the document's user fields; throws NOT_FOUND if it does not exist. */
  replace<TTable extends TableNamesOf<TDataModel>>(
    id: Id<TTable>,
    value: InputOfTable<TDataModel, TTable>,
  ): Promise<void>;
  replace<TTable extends TableNamesOf<TDataModel>>(
    table: TTable,
    id: Id<TTable>,
    value: InputOfTable<TDataModel, TTable>,
  ): Promise<void>;
  /** Deletes the document; throws NOT_FOUND if it does not exist. */
  delete<TTable extends TableNamesOf<TDataModel>>(id: Id<TTable>): Promise<void>;
  delete<TTable extends TableNamesOf<TDataModel>>(table: TTable, id: Id<TTable>): Promise<void>;
}

const SYSTEM_FIELDS = ["_id", "_creationTime"] as const;

/** The run-time `ctx.db`; a query gets it typed as the reader only. @internal */
export class Database {
  constructor(private readonly ctx: TransactionContext) {}

  get system(): SystemDatabase {
    return new SystemDatabase(this.ctx);
  }

  /**
   * Splits `(id, ...rest)` / `(table, id, ...rest)` calls and checks the id's table.
   * `idFormArity` is how many arguments the id-only form takes.
   */
  private target(method: string, idFormArity: number, args: unknown[]): { table: string; id: string; rest: unknown[] } {
    const tableForm = args.length > idFormArity;
    if (tableForm) tableOf(this.ctx.layouts.schema, args[0]);
    const table = tableForm ? (args[0] as string) : null;
    const id = tableForm ? args[1] : args[0];
    const idTable = tableOfId(id);
    if (idTable === null) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${method}: ${shownValue(id)} is not a Convoy document id`,
      });
    }
    if (table !== null && table !== idTable) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${method}("${table}", id): the id belongs to table "${idTable}", not "${table}"`,
      });
    }
    tableOf(this.ctx.layouts.schema, idTable);
    return { table: idTable, id: id as string, rest: args.slice(tableForm ? 2 : 1) };
  }

  private async fetch(table: string, id: string): Promise<StoredDocument | null> {
    const layout = this.ctx.layouts.of(table);
    const [row] = await this.ctx.sql.query<Record<string, unknown>>(
      `SELECT ${layout.selectList} FROM ${layout.tableSql} WHERE _id = $1::text`,
      [id],
    );
    return row ? layout.toDocument(row) : null;
  }

  async get(...args: unknown[]): Promise<Record<string, unknown> | null> {
    const { table, id } = this.target("get", 1, args);
    this.ctx.onRead?.({ kind: "ids", table, ids: [id] });
    return this.fetch(table, id);
  }

  query(table: string): QueryImpl {
    return QueryImpl.start(this.ctx, table, tableOf(this.ctx.layouts.schema, table));
  }

  normalizeId(table: string, id: string): string | null {
    tableOf(this.ctx.layouts.schema, table);
    return tableOfId(id) === table ? id : null;
  }

  async insert(table: string, value: unknown): Promise<string> {
    const definition = tableOf(this.ctx.layouts.schema, table);
    const fields = validateDocument(table, definition, this.withoutSystemFields("insert", table, value, null));
    const creationTime = nextCreationTime();
    const id = generateId(table, creationTime);
    // Queued: it travels with the next read or with COMMIT (see TransactionExecutor).
    const { text, params } = this.ctx.layouts.of(table).insert(id, creationTime, fields);
    this.ctx.sql.queue(text, params);
    this.ctx.onWrite?.({ table, id, before: null, after: { creationTime, doc: fields } });
    return id;
  }

  async patch(...args: unknown[]): Promise<void> {
    const { table, id, rest } = this.target("patch", 2, args);
    const row = await this.existing("patch", table, id);
    const changes = this.withoutSystemFields("patch", table, rest[0], row);
    const merged = userFields(row);
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined) delete merged[field];
      // Defined, not assigned: a "__proto__" field is a field (that validation refuses), not the prototype.
      else Object.defineProperty(merged, field, { value, enumerable: true, writable: true, configurable: true });
    }
    this.write(table, row, merged);
  }

  async replace(...args: unknown[]): Promise<void> {
    const { table, id, rest } = this.target("replace", 2, args);
    const row = await this.existing("replace", table, id);
    this.write(table, row, this.withoutSystemFields("replace", table, rest[0], row));
  }

  async delete(...args: unknown[]): Promise<void> {
    const { table, id } = this.target("delete", 1, args);
    const layout = this.ctx.layouts.of(table);
    const [row] = await this.ctx.sql.query<Record<string, unknown>>(
      `DELETE FROM ${layout.tableSql} WHERE _id = $1::text RETURNING ${layout.selectList}`,
      [id],
    );
    if (row === undefined) throw notFound("delete", table, id);
    const before = layout.toDocument(row);
    this.ctx.onWrite?.({
      table,
      id,
      before: { creationTime: before._creationTime, doc: userFields(before) },
      after: null,
    });
  }

  private async existing(method: string, table: string, id: string): Promise<StoredDocument> {
    const document = await this.fetch(table, id);
    if (!document) throw notFound(method, table, id);
    return document;
  }

  /** Validates and queues new fields for an existing document. */
  private write(table: string, row: StoredDocument, fields: unknown): void {
    const valid = validateDocument(table, tableOf(this.ctx.layouts.schema, table), fields);
    const { text, params } = this.ctx.layouts.of(table).update(row._id, valid);
    this.ctx.sql.queue(text, params);
    const creationTime = row._creationTime;
    this.ctx.onWrite?.({
      table,
      id: row._id,
      before: { creationTime, doc: userFields(row) },
      after: { creationTime, doc: valid },
    });
  }

  /**
   * Removes `_id` / `_creationTime` from a written value: allowed when they equal the
   * stored ones (so a read document can be written back), rejected otherwise.
   */
  private withoutSystemFields(
    method: string,
    table: string,
    value: unknown,
    row: StoredDocument | null,
  ): Record<string, unknown> {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${method}("${table}"): pass an object of fields, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
      });
    }
    const fields = { ...(value as Record<string, unknown>) };
    for (const system of SYSTEM_FIELDS) {
      if (!(system in fields)) continue;
      const stored = row?.[system];
      if (fields[system] !== undefined && fields[system] !== stored) {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `${method}("${table}"): ${system} is a system field and cannot be set or changed`,
        });
      }
      delete fields[system];
    }
    return fields;
  }
}

/** A document's user fields, without `_id` and `_creationTime`. */
function userFields(document: StoredDocument): Record<string, unknown> {
  const { _id, _creationTime, ...fields } = document;
  return fields;
}

function notFound(method: string, table: string, id: string): ConvoyError {
  return new ConvoyError({
    code: "NOT_FOUND",
    message: `${method}: no document ${id} in table "${table}" (it was deleted or never existed)`,
  });
}
