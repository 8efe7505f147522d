import { readFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { Driver } from "../../runtime/drivers/driver.js";
import { createPgliteDriver } from "../../runtime/drivers/pglite/pgliteDriver.js";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";

/** A fresh, isolated database for one suite, and how to dispose of it. */
export interface TestDatabase {
  driver: Driver;
  /** Postgres schema for Convoy's tables, unique to this suite. */
  schemaName: string;
  dispose(): Promise<void>;
}

/** How a shared suite gets a fresh database on one driver. */
export interface TestDriverFactory {
  name: "pglite" | "postgres";
  /** Null when the driver can run here; else why it is skipped (never in CI). */
  unavailable: string | null;
  open(): Promise<TestDatabase>;
}

export function uniqueSchemaName(): string {
  return `t_${randomBytes(6).toString("hex")}`;
}

export const pgliteFactory: TestDriverFactory = {
  name: "pglite",
  unavailable: null,
  async open() {
    const template = new Blob([await readFile(inject("pgliteTemplate"))]);
    const driver = await createPgliteDriver({ loadDataDir: template });
    return { driver, schemaName: "convoy", dispose: () => driver.close() };
  },
};

export const postgresFactory: TestDriverFactory = {
  name: "postgres",
  unavailable: inject("postgresUrl") === null ? `Postgres not reachable: ${inject("postgresUnavailable")}` : null,
  async open() {
    const url = inject("postgresUrl");
    if (url === null) throw new Error("Postgres is not available");
    const driver = createPostgresDriver({ connectionString: url, maxConnections: 10 });
    const schemaName = uniqueSchemaName();
    return {
      driver,
      schemaName,
      async dispose() {
        await driver.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
        await driver.close();
      },
    };
  },
};

export const testDriverFactories = [pgliteFactory, postgresFactory];
