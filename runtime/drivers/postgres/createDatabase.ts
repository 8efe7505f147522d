import pg from "pg";
import { ConvoyError } from "../../errors.js";
import { sqlState } from "../driver.js";
import { redactConnectionString } from "./postgresDriver.js";

/**
 * Creates the database a connection string names when it does not exist yet, by
 * connecting to the server's `postgres` database. Returns true when it created it.
 * @internal
 */
export async function createDatabaseIfMissing(connectionString: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString });
  try {
    await probe.connect();
    return false;
  } catch (error) {
    if (sqlState(error) !== "3D000") {
      throw new ConvoyError({
        code: "INTERNAL_SERVER_ERROR",
        message: `Cannot connect to ${redactConnectionString(connectionString)}: ${(error as Error).message}. Check DATABASE_URL and that Postgres is running`,
        cause: error,
      });
    }
  } finally {
    await probe.end().catch(() => {});
  }
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = "/postgres";
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return true;
  } catch (error) {
    // Another process created it between our probe and now: that is what we wanted.
    if (sqlState(error) === "42P04") return false;
    throw new ConvoyError({
      code: "INTERNAL_SERVER_ERROR",
      message: `Database "${name}" does not exist and could not be created: ${(error as Error).message}. Create it, or use a role that may (CREATEDB)`,
      cause: error,
    });
  } finally {
    await admin.end();
  }
}
