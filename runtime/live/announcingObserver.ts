import type { SqlExecutor } from "../drivers/driver.js";
import type { MutationObserver } from "../store/documentStore.js";
import { changeChannel } from "./changeLogDdl.js";
import { CommitNotifier } from "./commitNotifier.js";

/**
 * How a store that no live-query engine follows (a script, a server without
 * subscriptions) tells servers of its commits: its mutations are logged quietly (mode
 * `on`, see `changeTriggerFunctionSql`) and announced by one NOTIFY per burst after
 * commit, rather than a NOTIFY inside each transaction.
 * @internal
 */
export function announcingObserver(sql: SqlExecutor, schemaName: string): MutationObserver {
  const notifier = new CommitNotifier(sql, changeChannel(schemaName), "");
  return { changeLogMode: () => "on", committed: () => notifier.notify() };
}
