import { COLUMN, quoteIdent, quoteLiteral } from "../sqlText.js";

/** The SQL function that makes a new document id: `<schema>."_new_id"('<table>')`. */
function newIdFunction(schemaName: string): string {
  return `${quoteIdent(schemaName)}."_new_id"`;
}

/**
 * `CREATE OR REPLACE FUNCTION <schema>._new_id(table)`: a Convoy id made in SQL, in the
 * format `generateId` makes (runtime/schema/ids.ts) and `tableOfId` accepts:
 * `<table>_` + 10 Crockford base32 characters of the time in ms + 16 random ones.
 * The random characters come from `gen_random_uuid()` (built in since Postgres 13,
 * PGlite included), skipping its fixed version and variant bits.
 * @internal
 */
export function newIdFunctionSql(schemaName: string): string {
  return `CREATE OR REPLACE FUNCTION ${newIdFunction(schemaName)}(table_name text) RETURNS text
  LANGUAGE plpgsql VOLATILE AS $convoy_new_id$
DECLARE
  alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
  rest bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  time_part text := '';
  random_part text := '';
  first bytea := uuid_send(gen_random_uuid());
  second bytea := uuid_send(gen_random_uuid());
BEGIN
  FOR i IN 1..10 LOOP
    time_part := substr(alphabet, (rest % 32)::int + 1, 1) || time_part;
    rest := rest / 32;
  END LOOP;
  -- Byte 6 of a v4 uuid holds its version: take that character from the second uuid.
  FOR i IN 0..15 LOOP
    random_part := random_part || substr(alphabet, (CASE WHEN i = 6 THEN get_byte(second, 0) ELSE get_byte(first, i) END % 32) + 1, 1);
  END LOOP;
  RETURN table_name || '_' || time_part || random_part;
END
$convoy_new_id$`;
}

/** The `_creation_time` of a row written in SQL: now, in ms since the epoch (as `Date.now()`). */
const CREATION_TIME_DEFAULT = "(extract(epoch FROM clock_timestamp()) * 1000)::double precision";

/** The default of `_id` in `table`. */
function idDefault(schemaName: string, table: string): string {
  return `${newIdFunction(schemaName)}(${quoteLiteral(table)})`;
}

/**
 * The system columns' DDL, shared by every layout's table. Both have defaults, so an
 * `INSERT` from psql need not invent them.
 * @internal
 */
export function systemColumnsSql(schemaName: string, table: string): string {
  return `${COLUMN.id} text PRIMARY KEY DEFAULT ${idDefault(schemaName, table)},
    ${COLUMN.creationTime} double precision NOT NULL DEFAULT ${CREATION_TIME_DEFAULT}`;
}

/** Gives an existing table (made before the defaults existed) the system columns' defaults. @internal */
export function setSystemDefaultsSql(schemaName: string, table: string): string {
  return `ALTER TABLE ${quoteIdent(schemaName)}.${quoteIdent(table)}
    ALTER COLUMN ${COLUMN.id} SET DEFAULT ${idDefault(schemaName, table)},
    ALTER COLUMN ${COLUMN.creationTime} SET DEFAULT ${CREATION_TIME_DEFAULT}`;
}
