import { join } from "node:path";
import type { Driver } from "./driver.js";
import { createPgliteDriver } from "./pglite/pgliteDriver.js";
import { createDatabaseIfMissing } from "./postgres/createDatabase.js";
import { createPostgresDriver } from "./postgres/postgresDriver.js";

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /**
   * A `postgres://` URL. Without one, Convoy runs embedded PGlite in `dataDir`.
   * @default process.env.DATABASE_URL
   */
  databaseUrl?: string | undefined;
  /**
   * A direct `postgres://` URL for the live-query listener (LISTEN), when `databaseUrl`
   * goes through PgBouncer in transaction mode. Ignored by embedded PGlite.
   * @default process.env.CONVOY_LISTEN_URL, else databaseUrl
   */
  listenUrl?: string | undefined;
  /**
   * Folder of the embedded database.
   * @default ".convoy"
   */
  dataDir?: string;
  /** Told about slow steps and which database is used. */
  onProgress?: (message: string) => void;
}

/**
 * Opens the application's database: Postgres when a URL is given (creating the
 * database if missing), else embedded PGlite in a local folder.
 *
 * @example
 * ```ts
 * const driver = await openDatabase({ onProgress: console.log });
 * ```
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Driver> {
  const databaseUrl = "databaseUrl" in options ? options.databaseUrl : process.env.DATABASE_URL;
  if (databaseUrl) {
    if (await createDatabaseIfMissing(databaseUrl)) options.onProgress?.("Created the database");
    const listenUrl = "listenUrl" in options ? options.listenUrl : process.env.CONVOY_LISTEN_URL;
    return createPostgresDriver({
      connectionString: databaseUrl,
      ...(listenUrl ? { listenConnectionString: listenUrl } : {}),
    });
  }
  const dataDir = options.dataDir ?? ".convoy";
  return createPgliteDriver({
    dataDir: join(dataDir, "pgdata"),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
