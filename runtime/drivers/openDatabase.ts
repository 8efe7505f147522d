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
    return createPostgresDriver({ connectionString: databaseUrl });
  }
  const dataDir = options.dataDir ?? ".convoy";
  return createPgliteDriver({
    dataDir: join(dataDir, "pgdata"),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
