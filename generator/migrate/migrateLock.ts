import type { Driver, DriverSession } from "../../runtime/drivers/driver.js";
import { ConvoyError } from "../../runtime/errors.js";
import { schemaLockKey } from "../../runtime/live/changeLogDdl.js";

/** First half of the advisory-lock key `convoy migrate` holds; the second is the schema's. */
const MIGRATE_LOCK = 1131376210;

/** Schemas migrated by this process on a driver with one connection (PGlite), which locks per process. */
const localLocks = new Set<string>();

/** The migration lock, held by one `convoy migrate` per database schema. */
export interface MigrateLock {
  /** Set when the lock's connection dropped: another migrate may take it, so this one stops. */
  readonly lost: boolean;
  release(): Promise<void>;
}

/** Options of {@link acquireMigrateLock}. */
export interface AcquireOptions {
  /** Wait for the holder to finish (true) or refuse at once. @default true */
  wait?: boolean;
  /** Told once, when another process holds the lock. */
  onWait?: (message: string) => void;
  pollMs?: number;
}

function lockKey(schemaName: string): [number, number] {
  return [MIGRATE_LOCK, schemaLockKey(schemaName)];
}

/** Who holds the migration lock now: a backend pid, or null. */
export async function migrateLockHolder(driver: Driver, schemaName: string): Promise<number | null> {
  if (!driver.openSession) return localLocks.has(schemaName) ? process.pid : null;
  const [classId, objId] = lockKey(schemaName);
  const [row] = await driver.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 AND granted LIMIT 1`,
    [classId, objId],
  );
  return row?.pid ?? null;
}

/**
 * Takes the migration lock of a schema: a session-level advisory lock on a connection of
 * its own, released when the process ends however it ends (SIGKILL included), since
 * Postgres drops a dead connection's locks. A second `convoy migrate` waits, saying
 * which process holds the lock, or refuses with `wait: false`.
 */
export async function acquireMigrateLock(
  driver: Driver,
  schemaName: string,
  options: AcquireOptions = {},
): Promise<MigrateLock> {
  const wait = options.wait ?? true;
  const busy = (holder: number | null) =>
    new ConvoyError({
      code: "CONFLICT",
      message: `Another \`convoy migrate\` is running on this database (schema "${schemaName}", ${holder === null ? "its process just finished" : `Postgres backend pid ${holder}`}). Wait for it (\`convoy migrate --status\` shows its progress), then run convoy migrate again.`,
    });
  if (!driver.openSession) {
    // One process owns an embedded database (its lock file); in it, one migration at a time.
    while (localLocks.has(schemaName)) {
      if (!wait) throw busy(process.pid);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
    localLocks.add(schemaName);
    return { lost: false, release: async () => void localLocks.delete(schemaName) };
  }
  let lost = false;
  const session: DriverSession = await driver.openSession(() => {
    lost = true;
  });
  const [classId, objId] = lockKey(schemaName);
  let told = false;
  try {
    for (;;) {
      const [row] = await session.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock($1::int, $2::int) AS locked",
        [classId, objId],
      );
      if (row?.locked) break;
      const holder = await migrateLockHolder(driver, schemaName);
      if (!wait) throw busy(holder);
      if (!told) {
        told = true;
        options.onWait?.(
          `Another convoy migrate holds the migration lock (Postgres backend pid ${holder ?? "?"}); waiting for it to finish...`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
    }
  } catch (error) {
    await session.close().catch(() => {});
    throw error;
  }
  return {
    get lost() {
      return lost;
    },
    release: () => session.close(),
  };
}
