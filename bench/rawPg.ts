import type pg from "pg";

/** Runs one statement the way Convoy's Postgres driver does: BEGIN + setup, statement, COMMIT. */
export async function rawTransaction(
  pool: pg.Pool,
  setup: string,
  text: string,
  params: unknown[],
): Promise<unknown[]> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN; ${setup}`);
    const result = await client.query(text, params);
    await client.query("COMMIT");
    return result.rows;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
