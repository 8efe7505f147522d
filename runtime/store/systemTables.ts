import { z } from "zod";
import { ConvoyError } from "../errors.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import { TableDefinition } from "../schema/defineTable.js";
import type { StoredDocument } from "./layout/tableLayout.js";
import { TableLayouts } from "./layout/tableLayouts.js";
import { QueryImpl, type QueryInitializer } from "./query.js";
import type { TransactionContext } from "./transactionContext.js";

/** The table of scheduled functions, in Convoy's Postgres schema. */
export const SCHEDULED_FUNCTIONS_TABLE = "_scheduled_functions";

/** Where a scheduled function is in its life; a job is `pending` until a server takes it. */
export type ScheduledFunctionState = "pending" | "inProgress" | "success" | "failed" | "canceled";

/**
 * A scheduled function as `ctx.db.system` returns it (the `doc` column of its row in
 * `convoy._scheduled_functions`): Convex's document shape.
 */
// A type, not an interface: query builders need it to be a Record.
export type ScheduledFunctionDoc = {
  _id: string;
  _creationTime: number;
  /** The function's path, e.g. `"emails.sendWelcome"`. */
  name: string;
  args: Record<string, unknown>;
  /** When it is due, in ms since the epoch. */
  scheduledTime: number;
  /** When it finished (success, failed or canceled). */
  completedTime?: number;
  state: { kind: ScheduledFunctionState; error?: string };
  /** The cron job it is a run of, if any. */
  cron?: string;
  /** For a cron run: how many of its runs were missed while no server was up. */
  missedRuns?: number;
};

/** The system tables' documents by table name. */
export interface SystemTables {
  _scheduled_functions: ScheduledFunctionDoc;
}

/** The system tables as a schema (JSONB layout: they have `_id`, `_creation_time` and `doc`). */
const SYSTEM_SCHEMA: SchemaDefinition = {
  tables: {
    [SCHEDULED_FUNCTIONS_TABLE]: new TableDefinition({
      name: z.string(),
      args: z.record(z.string(), z.unknown()),
      scheduledTime: z.number(),
      completedTime: z.number().optional(),
      state: z.object({ kind: z.string(), error: z.string().optional() }),
      cron: z.string().optional(),
      missedRuns: z.number().optional(),
    }),
  },
};

const layoutsBySchema = new Map<string, TableLayouts>();

function systemLayouts(schemaName: string): TableLayouts {
  let layouts = layoutsBySchema.get(schemaName);
  if (layouts === undefined) {
    layouts = new TableLayouts(SYSTEM_SCHEMA, schemaName);
    layouts.use(new Map());
    layoutsBySchema.set(schemaName, layouts);
  }
  return layouts;
}

/**
 * `ctx.db.system`: reads Convoy's system tables (today `_scheduled_functions`) the way
 * `ctx.db` reads yours, live in a watched query.
 *
 * @example
 * ```ts
 * const job = await ctx.db.system.get(jobId);
 * const pending = await ctx.db.system.query("_scheduled_functions").filter((q) => q.eq(q.field("state.kind"), "pending")).collect();
 * ```
 */
export interface SystemReader {
  get(id: string): Promise<ScheduledFunctionDoc | null>;
  query<TTable extends keyof SystemTables>(table: TTable): QueryInitializer<SystemTableInfo<TTable>>;
}

/** The table info of a system table, for its query builder. */
export interface SystemTableInfo<TTable extends keyof SystemTables> {
  document: SystemTables[TTable];
  input: Omit<SystemTables[TTable], "_id" | "_creationTime">;
  indexes: { by_id: ["_id"]; by_creation_time: ["_creationTime"] };
}

/** The run-time `ctx.db.system`. @internal */
export class SystemDatabase {
  private readonly ctx: TransactionContext;

  constructor(ctx: TransactionContext) {
    this.ctx = { ...ctx, layouts: systemLayouts(ctx.layouts.schemaName) };
  }

  async get(id: unknown): Promise<StoredDocument | null> {
    if (typeof id !== "string" || !id.startsWith(`${SCHEDULED_FUNCTIONS_TABLE}_`)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `db.system.get: ${JSON.stringify(String(id).slice(0, 80))} is not the id of a scheduled function (ctx.scheduler returns those)`,
      });
    }
    const layout = this.ctx.layouts.of(SCHEDULED_FUNCTIONS_TABLE);
    this.ctx.onRead?.({ kind: "ids", table: SCHEDULED_FUNCTIONS_TABLE, ids: [id] });
    const [row] = await this.ctx.sql.query<Record<string, unknown>>(
      `SELECT ${layout.selectList} FROM ${layout.tableSql} WHERE _id = $1::text`,
      [id],
    );
    return row ? layout.toDocument(row) : null;
  }

  query(table: unknown): QueryImpl {
    if (table !== SCHEDULED_FUNCTIONS_TABLE) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `db.system.query(${JSON.stringify(table)}): the system tables are "${SCHEDULED_FUNCTIONS_TABLE}"`,
      });
    }
    return QueryImpl.start(this.ctx, table, SYSTEM_SCHEMA.tables[table]!);
  }
}
