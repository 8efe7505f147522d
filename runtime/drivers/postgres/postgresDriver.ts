import pg from "pg";
import type { Driver, TransactionExecutor } from "../driver.js";
import { confirmListenerDelivery, PROBE_PREFIX } from "./listenerProbe.js";
import { PipelinedTransaction } from "./pipelinedTransaction.js";

/** Options of {@link createPostgresDriver}. */
export interface PostgresDriverOptions {
  /** A `postgres://` URL. */
  connectionString: string;
  /** Pool size. @default 10 */
  maxConnections?: number;
  /**
   * Where the live-query listener connects (LISTEN), when `connectionString` goes
   * through a pool that cannot keep a session, such as PgBouncer in transaction mode.
   * Must reach PostgreSQL directly (or through a session-mode pool).
   * @default connectionString
   */
  listenConnectionString?: string;
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
  const connections = options.maxConnections ?? 10;
  const pool = new pg.Pool({ connectionString: options.connectionString, max: connections });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  // Nor one between listeners: released while the pool ends (it drops the pool's listener
  // and ends the client), a connection the server terminates still reports an error.
  // Queries see their own errors; this one only has no one left to tell.
  pool.on("connect", (client) => client.on("error", () => {}));
  const listenUrl = options.listenConnectionString ?? options.connectionString;
  // The first LISTEN checks that notifications arrive; later ones are reconnects.
  let listenerConfirmed = false;

  /**
   * A client of its own on the listener URL. `onLost` is called once if it drops after
   * it connected, never after `close`; a failed connect only rejects (pg may still emit
   * `end` for it a tick later).
   */
  async function connectOutsidePool(
    what: string,
    onLost: (error: unknown) => void,
  ): Promise<{ client: pg.Client; close: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: listenUrl });
    let connected = false;
    let closed = false;
    const lose = (error: unknown) => {
      if (!connected || closed) return;
      closed = true;
      onLost(error);
    };
    client.on("error", lose);
    client.on("end", () => lose(new Error(`${what} connection ended`)));
    const close = async () => {
      closed = true;
      await client.end().catch(() => {});
    };
    try {
      await client.connect();
    } catch (error) {
      await close();
      throw error;
    }
    connected = true;
    return { client, close };
  }

  return {
    kind: "postgres",
    connections,
    description:
      `Postgres at ${redactConnectionString(options.connectionString)}` +
      (listenUrl === options.connectionString ? "" : ` (listener at ${redactConnectionString(listenUrl)})`),

    async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
      const result = await pool.query(text, params as unknown[] | undefined);
      return result.rows as TRow[];
    },

    async transaction<T>(setup: string, body: (tx: TransactionExecutor) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no pool listener: a connection lost between statements
      // would otherwise be an uncaught error that ends the process.
      const onError = (error: Error) => {
        broken = error;
      };
      client.on("error", onError);
      const tx = new PipelinedTransaction(client, setup);
      try {
        const value = await body(tx);
        await tx.commit();
        return value;
      } catch (error) {
        await tx.rollback(error).catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.off("error", onError);
        client.release(broken);
      }
    },

    async listen(channel, onNotify, onLost) {
      const connection = await connectOutsidePool("listener", (error) => {
        connection.client.removeAllListeners("notification");
        onLost(error);
      });
      const { client } = connection;
      client.on("notification", (message) => {
        const payload = message.payload ?? "";
        if (message.channel === channel && !payload.startsWith(PROBE_PREFIX)) onNotify(payload);
      });
      try {
        await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
        if (!listenerConfirmed) {
          const notify = (payload: string) => pool.query("SELECT pg_notify($1::text, $2::text)", [channel, payload]);
          await confirmListenerDelivery(client, channel, notify, redactConnectionString(listenUrl));
          listenerConfirmed = true;
        }
      } catch (error) {
        await connection.close();
        throw error;
      }
      return connection.close;
    },

    async openSession(onLost) {
      const { client, close } = await connectOutsidePool("session", onLost);
      return {
        processId: (client as unknown as { processID: number }).processID,
        async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
          const result = await client.query(text, params as unknown[] | undefined);
          return result.rows as TRow[];
        },
        close,
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
