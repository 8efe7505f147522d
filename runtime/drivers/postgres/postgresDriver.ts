import pg from "pg";
import type { Driver, SqlExecutor } from "../driver.js";

/** Options of {@link createPostgresDriver}. */
export interface PostgresDriverOptions {
  /** A `postgres://` URL. */
  connectionString: string;
  /** Pool size. @default 10 */
  maxConnections?: number;
}

/** `postgres://user@host:5432/db` without the password, for logs. @internal */
export function redactConnectionString(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

/**
 * A {@link Driver} on a `pg` connection pool.
 *
 * @example
 * ```ts
 * const driver = createPostgresDriver({ connectionString: process.env.DATABASE_URL! });
 * ```
 */
export function createPostgresDriver(options: PostgresDriverOptions): Driver {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => {});

  return {
    kind: "postgres",
    description: `Postgres at ${redactConnectionString(options.connectionString)}`,

    async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
      const result = await pool.query(text, params as unknown[] | undefined);
      return result.rows as TRow[];
    },

    async transaction<T>(setup: string, body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no pool listener: a connection lost between statements
      // would otherwise be an uncaught error that ends the process.
      const onError = (error: Error) => {
        broken = error;
      };
      client.on("error", onError);
      try {
        await client.query(setup ? `BEGIN; ${setup}` : "BEGIN");
        const tx: SqlExecutor = {
          async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
            const result = await client.query(text, params as unknown[] | undefined);
            return result.rows as TRow[];
          },
        };
        const value = await body(tx);
        await client.query("COMMIT");
        return value;
      } catch (error) {
        await client.query("ROLLBACK").catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
    },

    async listen(channel, onNotify, onLost) {
      const client = new pg.Client({ connectionString: options.connectionString });
      let lost = false;
      const lose = (error: unknown) => {
        if (lost) return;
        lost = true;
        client.removeAllListeners("notification");
        onLost(error);
      };
      client.on("error", lose);
      client.on("end", () => lose(new Error("listener connection ended")));
      client.on("notification", (message) => {
        if (message.channel === channel) onNotify(message.payload ?? "");
      });
      await client.connect();
      await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      return async () => {
        lost = true;
        await client.end().catch(() => {});
      };
    },

    async exec(sql: string): Promise<void> {
      await pool.query(sql);
    },

    async close(): Promise<void> {
      await pool.end();
    },
  };
}
