import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Driver, SqlExecutor, TransactionExecutor } from "../driver.js";
import { queueWrites } from "../queuedWrites.js";
import { acquireLockFile } from "./lockFile.js";

/** Options of {@link createPgliteDriver}. */
export interface PgliteDriverOptions {
  /**
   * Folder to keep the database in; omit for an in-memory database.
   * @default undefined
   */
  dataDir?: string;
  /** A tarball from `dumpDataDir()` to start from (fast fresh databases in tests). */
  loadDataDir?: Blob;
  /** Told about slow steps, e.g. the first open of a new folder. */
  onProgress?: (message: string) => void;
}

function wrap(target: PGlite | Transaction): SqlExecutor {
  return {
    async query<TRow>(text: string, params?: readonly unknown[]): Promise<TRow[]> {
      const result = await target.query<TRow>(text, params as unknown[] | undefined);
      return result.rows;
    },
  };
}

/**
 * A {@link Driver} on embedded PGlite: real Postgres in WebAssembly, in a local folder.
 * One process at a time may open a folder (a lock file enforces it), and transactions
 * run one at a time.
 *
 * @example
 * ```ts
 * const driver = await createPgliteDriver({ dataDir: ".convoy/pgdata" });
 * ```
 */
export async function createPgliteDriver(options: PgliteDriverOptions = {}): Promise<Driver> {
  const { dataDir, onProgress } = options;
  let releaseLock: (() => void) | undefined;
  let description = "embedded PGlite (in memory)";
  if (dataDir !== undefined) {
    const folder = resolve(dataDir);
    mkdirSync(folder, { recursive: true });
    releaseLock = acquireLockFile(join(folder, "..", `${folder.split(/[\\/]/).pop()}.lock`), folder);
    description = `embedded PGlite in ${dataDir}`;
    if (!existsSync(join(folder, "PG_VERSION"))) {
      onProgress?.(`Creating the embedded database in ${dataDir} (first run: about 5 s and up to 1 GB of memory)...`);
    }
  }
  const started = Date.now();
  let db: PGlite;
  try {
    db = await PGlite.create({
      ...(dataDir !== undefined ? { dataDir: resolve(dataDir) } : {}),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
  } catch (error) {
    releaseLock?.();
    throw error;
  }
  const elapsed = Date.now() - started;
  if (elapsed > 1000) onProgress?.(`Embedded database ready in ${(elapsed / 1000).toFixed(1)} s`);

  return pgliteDriverOn(db, description, releaseLock);
}

/**
 * A {@link Driver} on an open PGlite instance (what {@link createPgliteDriver} returns;
 * `convoy/test` uses it to dump a template database). `close()` closes the instance.
 * @internal
 */
export function pgliteDriverOn(db: PGlite, description: string, releaseLock?: () => void): Driver {
  return {
    kind: "pglite",
    description,
    ...wrap(db),

    transaction<T>(setup: string, body: (tx: TransactionExecutor) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        if (setup) await tx.exec(setup);
        const executor = queueWrites(wrap(tx));
        try {
          const value = await body(executor);
          await executor.flush();
          return value;
        } catch (error) {
          executor.discard(error);
          throw error;
        }
      });
    },

    async listen(channel, onNotify) {
      // A PGlite listener that throws would crash the process: keep it contained.
      const unsubscribe = await db.listen(channel, (payload) => {
        try {
          onNotify(payload);
        } catch {
          // The feed polls again on the next notification.
        }
      });
      return async () => {
        if (!db.closed) await unsubscribe();
      };
    },

    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },

    async close(): Promise<void> {
      try {
        if (!db.closed) await db.close();
      } finally {
        releaseLock?.();
      }
    },
  };
}

/** Dumps a PGlite driver's database to a tarball, for {@link PgliteDriverOptions.loadDataDir}. @internal */
export async function dumpPgliteDataDir(dataDir: string): Promise<Blob> {
  const db = await PGlite.create({ dataDir });
  try {
    return await db.dumpDataDir("none");
  } finally {
    await db.close();
  }
}
