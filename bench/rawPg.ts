import type pg from "pg";
import { inlineParameters } from "../runtime/drivers/postgres/inlineParameters.js";

/**
 * Runs one statement as Convoy's Postgres driver sends it: BEGIN and `setup` travel with
 * the statement (its values written in as literals); a `write` (no rows wanted) also
 * carries COMMIT, so it is one message; a `read` is followed by COMMIT on its own.
 */
export async function rawTransaction(
  pool: pg.Pool,
  setup: string,
  text: string,
  params: unknown[],
  kind: "read" | "write",
): Promise<unknown[]> {
  const inlined = inlineParameters(text, params);
  if (inlined === null) throw new Error(`rawTransaction: cannot write the values of ${text} into its text`);
  const client = await pool.connect();
  try {
    const message = `BEGIN; ${setup};\n${inlined}${kind === "write" ? ";\nCOMMIT" : ""}`;
    const results = (await client.query(message)) as unknown as pg.QueryResult[];
    if (kind === "read") await client.query("COMMIT");
    return results[kind === "write" ? results.length - 2 : results.length - 1]!.rows;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
