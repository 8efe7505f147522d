import type { TableLayout } from "../store/layout/tableLayout.js";
import { postgresName } from "../schema/relationalColumns.js";
import { quoteIdent, quoteLiteral } from "../store/sqlText.js";

/**
 * The change log: one row per changed document, written by triggers in the same
 * transaction as the change, so writes from psql or another service are seen too.
 * `xid` is the writing transaction's id, which lets readers take only settled rows;
 * it is the only index (reads and pruning go by xid), and `id` orders rows.
 *
 * The log is UNLOGGED: it is a short-lived queue, not data. Its rows skip the WAL
 * (about a tenth of a mutation's cost); after a Postgres crash it starts empty, and
 * every server, having lost its listener connection, re-runs all of its watches.
 * @internal
 */
export function changeLogTableSql(schemaName: string): string[] {
  const schema = quoteIdent(schemaName);
  const log = `${schema}."_changes"`;
  return [
    `CREATE UNLOGGED TABLE IF NOT EXISTS ${log} (
      id bigserial,
      xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
      tbl text NOT NULL,
      doc_id text,
      old_creation_time double precision,
      old_doc jsonb,
      new_creation_time double precision,
      new_doc jsonb,
      origin text
    )`,
    // Guarded by catalog checks: ALTER TABLE and CREATE INDEX lock the log even when
    // there is nothing to do, and a sync holding that lock while it waits for another
    // table would deadlock with mutations that write to both.
    `DO $columns$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ${quoteLiteral(log)}::regclass
                      AND attname = 'origin' AND NOT attisdropped) THEN
        ALTER TABLE ${log} ADD COLUMN origin text;
      END IF;
      IF to_regclass(${quoteLiteral(`${schema}."_changes_xid"`)}) IS NULL THEN
        CREATE INDEX "_changes_xid" ON ${log} (xid);
      END IF;
    END $columns$`,
    // A log made by an earlier version: logged, with a primary key and a timestamp.
    `DO $upgrade$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = ${quoteLiteral(schemaName)} AND c.relname = '_changes' AND c.relpersistence = 'p') THEN
        ALTER TABLE ${log} DROP CONSTRAINT IF EXISTS "_changes_pkey", DROP COLUMN IF EXISTS at;
        DROP INDEX IF EXISTS ${schema}."_changes_at";
        ALTER TABLE ${log} SET UNLOGGED;
      END IF;
    END $upgrade$`,
  ];
}

/** The NOTIFY channel of a schema's change log. @internal */
export function changeChannel(schemaName: string): string {
  return `convoy_changes_${schemaName}`;
}

/**
 * Advisory-lock keys (first halves; the second is {@link schemaLockKey}, or a backend
 * pid) by which change feeds learn whether they are alone on a database. See
 * `peerPresence.ts`. @internal
 */
export const FEED_LOCKS = {
  /** Held shared, for its whole life, by every listening feed. */
  presence: 1131376201,
  /** Held or awaited exclusively by feeds that have peers: while it is, no mutation skips the log. */
  guard: 1131376202,
  /** Held exclusively by a feed's lock session, keyed by that session's pid: proves the session alive. */
  session: 1131376203,
} as const;

/** The second half of a schema's feed lock keys: a 31-bit hash of its name. @internal */
export function schemaLockKey(schemaName: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < schemaName.length; i++) hash = Math.imul(hash ^ schemaName.charCodeAt(i), 0x01000193);
  return hash >>> 1;
}

/**
 * The trigger function. How it logs depends on the transaction's `convoy.mutation`:
 *
 * - unset (psql, another service): log the rows and NOTIFY, so listening servers
 *   read them at once;
 * - `on`: a Convoy mutation with no live engine watching (a script, a server without
 *   subscriptions): log the rows; the runtime sends one NOTIFY per burst after commit;
 * - `log:<origin>`: a mutation of a live server that applies its own writes and
 *   notifies its peers after commit (NOTIFY in every transaction would serialise
 *   commits): log the rows, tagged with the origin so that server's reads skip them;
 * - `solo:<origin>:<pid>`: a mutation of a server that believes it is the only one
 *   listening. Nobody else needs its rows, so none are written, provided that is still
 *   true: no feed holds or awaits the guard lock, and the server's lock session (pid)
 *   is alive. Otherwise the rows are logged and notified;
 * - `backfill`: a migration filling a table's new columns from its documents (or the
 *   reverse). The documents do not change, so nothing is logged.
 *
 * JSONB tables share one function, `_record_changes`, which logs the `doc` column; a
 * relational table has its own (see {@link changeTriggerFunctionName}), which builds the
 * same document JSON from the columns.
 * @internal
 */
export function changeTriggerFunctionSql(schemaName: string, layout?: TableLayout): string {
  const schema = quoteIdent(schemaName);
  const log = `${schema}."_changes"`;
  const schemaKey = schemaLockKey(schemaName);
  const doc = (alias: string) => (layout ? layout.documentSql(alias) : `${alias}.doc`);
  const name = quoteIdent(changeTriggerFunctionName(layout));
  return `CREATE OR REPLACE FUNCTION ${schema}.${name}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
  mode text := current_setting('convoy.mutation', true);
  log_origin text;
  quiet boolean := false;
BEGIN
  IF mode = 'backfill' THEN
    RETURN NULL;
  END IF;
  IF mode LIKE 'solo:%' THEN
    IF pg_try_advisory_xact_lock_shared(${FEED_LOCKS.guard}, ${schemaKey})
       AND NOT pg_try_advisory_xact_lock_shared(${FEED_LOCKS.session}, split_part(mode, ':', 3)::int) THEN
      RETURN NULL;
    END IF;
    log_origin := split_part(mode, ':', 2);
  ELSIF mode LIKE 'log:%' THEN
    log_origin := split_part(mode, ':', 2);
    quiet := true;
  ELSIF mode = 'on' THEN
    quiet := true;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${log} (tbl, doc_id, new_creation_time, new_doc, origin)
      SELECT TG_TABLE_NAME, n._id, n._creation_time, ${doc("n")}, log_origin FROM new_rows n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO ${log} (tbl, doc_id, old_creation_time, old_doc, new_creation_time, new_doc, origin)
      SELECT TG_TABLE_NAME, coalesce(n._id, o._id), o._creation_time, ${doc("o")}, n._creation_time, ${doc("n")}, log_origin
        FROM new_rows n FULL JOIN old_rows o ON o._id = n._id;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO ${log} (tbl, doc_id, old_creation_time, old_doc, origin)
      SELECT TG_TABLE_NAME, o._id, o._creation_time, ${doc("o")}, log_origin FROM old_rows o;
  ELSE
    INSERT INTO ${log} (tbl, origin) VALUES (TG_TABLE_NAME, log_origin);
  END IF;
  IF NOT quiet THEN
    PERFORM pg_notify(${quoteLiteral(changeChannel(schemaName))}, '');
  END IF;
  RETURN NULL;
END
$body$`;
}

/**
 * The change-log trigger function of a table: the shared `_record_changes` for JSONB
 * tables (no layout given, or a JSONB one), `_log__<table>` for a relational one.
 * @internal
 */
export function changeTriggerFunctionName(layout?: TableLayout): string {
  return layout?.kind === "relational" ? postgresName(`_log__${layout.table}`) : "_record_changes";
}

/**
 * The triggers that feed the change log from one document table, as one statement that
 * (re)creates them only when they are not all in place as defined here: creating a
 * trigger locks its table against writes, which a sync must not do to a serving table
 * for nothing.
 * @internal
 */
export function changeTriggersSql(schemaName: string, layout: TableLayout): string {
  const target = layout.tableSql;
  const fn = `${quoteIdent(schemaName)}.${quoteIdent(changeTriggerFunctionName(layout))}()`;
  const triggers = [
    { name: "_convoy_insert", type: 4, oldRows: "", newRows: "new_rows", on: "INSERT" },
    { name: "_convoy_update", type: 16, oldRows: "old_rows", newRows: "new_rows", on: "UPDATE" },
    { name: "_convoy_delete", type: 8, oldRows: "old_rows", newRows: "", on: "DELETE" },
    { name: "_convoy_truncate", type: 32, oldRows: "", newRows: "", on: "TRUNCATE" },
  ];
  // pg_trigger.tgtype: statement-level AFTER triggers carry only their event's bit.
  const wanted = triggers
    .map((t) => `(${quoteLiteral(t.name)}, ${t.type}, ${quoteLiteral(t.oldRows)}, ${quoteLiteral(t.newRows)})`)
    .join(", ");
  const creates = triggers.map((t) => {
    const referencing = [t.oldRows && `OLD TABLE AS ${t.oldRows}`, t.newRows && `NEW TABLE AS ${t.newRows}`]
      .filter(Boolean)
      .join(" ");
    const sql = `CREATE OR REPLACE TRIGGER ${quoteIdent(t.name)} AFTER ${t.on} ON ${target} ${referencing ? `REFERENCING ${referencing} ` : ""}FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`;
    return `EXECUTE ${quoteLiteral(sql)};`;
  });
  return `DO $triggers$ BEGIN
    IF (SELECT count(*) FROM pg_trigger
         WHERE tgrelid = ${quoteLiteral(target)}::regclass AND NOT tgisinternal
           AND tgfoid = ${quoteLiteral(fn)}::regprocedure
           AND (tgname::text, tgtype::int, coalesce(tgoldtable::text, ''), coalesce(tgnewtable::text, '')) IN (${wanted})) <> ${triggers.length} THEN
      ${creates.join("\n      ")}
    END IF;
  END $triggers$`;
}
