import type { TransactionExecutor } from "../drivers/driver.js";
import type { WriteListener } from "./documentChange.js";
import type { TableLayouts } from "./layout/tableLayouts.js";
import type { ReadListener } from "./readSet.js";
import { quoteIdent } from "./sqlText.js";

/** What `ctx.db` runs on inside one transaction. @internal */
export interface TransactionContext {
  /** Reads go through `query`; writes whose rows are not needed are queued (see {@link TransactionExecutor}). */
  sql: TransactionExecutor;
  /** The schema, and how each of its tables is stored. */
  layouts: TableLayouts;
  onRead: ReadListener | undefined;
  /** Told of each write (mutations only), so the live-query engine can apply it after commit. */
  onWrite: WriteListener | undefined;
}

/** The qualified, quoted name of a document table. @internal */
export function tableSql(schemaName: string, table: string): string {
  return `${quoteIdent(schemaName)}.${quoteIdent(table)}`;
}
