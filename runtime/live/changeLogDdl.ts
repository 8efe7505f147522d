import { quoteIdent, quoteLiteral } from "../store/sqlText.js";
import { tableSql } from "../store/transactionContext.js";

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
      new_doc jsonb
    )`,
    `CREATE INDEX IF NOT EXISTS "_changes_xid" ON ${log} (xid)`,
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
 * The trigger function. Convoy's own mutations set `convoy.mutation` and notify once
 * after commit (NOTIFY in every transaction would serialise commits); any other writer
 * notifies from the trigger, so its changes arrive without polling.
 * @internal
 */
export function changeTriggerFunctionSql(schemaName: string): string {
  const schema = quoteIdent(schemaName);
  const log = `${schema}."_changes"`;
  return `CREATE OR REPLACE FUNCTION ${schema}."_record_changes"() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${log} (tbl, doc_id, new_creation_time, new_doc)
      SELECT TG_TABLE_NAME, n._id, n._creation_time, n.doc FROM new_rows n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO ${log} (tbl, doc_id, old_creation_time, old_doc, new_creation_time, new_doc)
      SELECT TG_TABLE_NAME, coalesce(n._id, o._id), o._creation_time, o.doc, n._creation_time, n.doc
        FROM new_rows n FULL JOIN old_rows o ON o._id = n._id;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO ${log} (tbl, doc_id, old_creation_time, old_doc)
      SELECT TG_TABLE_NAME, o._id, o._creation_time, o.doc FROM old_rows o;
  ELSE
    INSERT INTO ${log} (tbl) VALUES (TG_TABLE_NAME);
  END IF;
  IF current_setting('convoy.mutation', true) IS DISTINCT FROM 'on' THEN
    PERFORM pg_notify(${quoteLiteral(changeChannel(schemaName))}, '');
  END IF;
  RETURN NULL;
END
$body$`;
}

/** The triggers that feed the change log from one document table. @internal */
export function changeTriggersSql(schemaName: string, table: string): string[] {
  const target = tableSql(schemaName, table);
  const fn = `${quoteIdent(schemaName)}."_record_changes"()`;
  return [
    `CREATE OR REPLACE TRIGGER "_convoy_insert" AFTER INSERT ON ${target} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
    `CREATE OR REPLACE TRIGGER "_convoy_update" AFTER UPDATE ON ${target} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
    `CREATE OR REPLACE TRIGGER "_convoy_delete" AFTER DELETE ON ${target} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
    `CREATE OR REPLACE TRIGGER "_convoy_truncate" AFTER TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}`,
  ];
}
