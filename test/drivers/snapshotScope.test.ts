// inOneSnapshot: several read transactions that all see one snapshot, on both drivers
// (exported to parallel connections on Postgres, savepoints in one transaction on PGlite).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver } from "../../runtime/drivers/driver.js";
import { inOneSnapshot, ownSnapshot } from "../../runtime/drivers/snapshotScope.js";
import { parseSnapshot } from "../../runtime/protocol/snapshotVersion.js";
import { testDriverFactories, type TestDatabase } from "../support/testDatabases.js";

const READ = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`inOneSnapshot (${factory.name})`, () => {
    let database: TestDatabase;
    let table: string;

    beforeAll(async () => {
      database = await factory.open();
      table = `"${database.schemaName}"."scoped"`;
      await database.driver.exec(`CREATE SCHEMA IF NOT EXISTS "${database.schemaName}"`);
      await database.driver.exec(`CREATE TABLE ${table} (n int PRIMARY KEY)`);
      await database.driver.exec(`INSERT INTO ${table} VALUES (1)`);
    });
    afterAll(() => database?.dispose());

    const count = (scope: Parameters<Parameters<typeof inOneSnapshot>[1]>[0]) =>
      scope.transaction(READ, async (tx) => {
        const [row] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        return row!.n;
      });

    it("every read sees the scope's snapshot, not commits made while the scope is open", async () => {
      const seen = await inOneSnapshot(database.driver, async (scope) => {
        expect(parseSnapshot(scope.snapshot)).not.toBeNull();
        const first = await count(scope);
        // PGlite runs one transaction at a time: the write waits for the scope, and
        // commits after it. On Postgres it commits now, and the scope must not see it.
        const write = database.driver.exec(`INSERT INTO ${table} SELECT max(n) + 1 FROM ${table}`);
        if (factory.name === "postgres") await write;
        const later = await Promise.all([count(scope), count(scope), count(scope)]);
        return { first, later, write };
      });
      await seen.write;
      expect(seen.later).toEqual([seen.first, seen.first, seen.first]);
      const after = await database.driver.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(after[0]!.n).toBe(seen.first + 1);
    });

    it("a read that fails leaves the others working", async () => {
      const results = await inOneSnapshot(database.driver, (scope) =>
        Promise.allSettled([
          count(scope),
          scope.transaction(READ, (tx) => tx.query("SELECT * FROM no_such_table_here")),
          count(scope),
        ]),
      );
      expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    });

    it("a read alone gives its value before its transaction's COMMIT is done, and its snapshot with it", async () => {
      // A driver whose transactions take 300 ms more to end once their body is done (a slow COMMIT).
      const events: string[] = [];
      const slowCommit: Driver = {
        ...database.driver,
        transaction: (setup, body) =>
          database.driver.transaction(setup, async (tx) => {
            const value = await body(tx);
            await new Promise((resolve) => setTimeout(resolve, 300));
            events.push("committed");
            return value;
          }),
      };
      const alone = ownSnapshot(slowCommit);
      const n = await alone.transaction(READ, async (tx) => {
        const [row] = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        return row!.n;
      });
      events.push("read");
      expect(parseSnapshot(await alone.snapshot())).not.toBeNull();
      expect(n).toBeGreaterThan(0);
      expect(events).toEqual(["read"]);
      // A failing read still rejects with its own error.
      await expect(
        ownSnapshot(slowCommit).transaction(READ, (tx) => tx.query("SELECT * FROM no_such_table_here")),
      ).rejects.toMatchObject({ code: "42P01" });
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(events).toEqual(["read", "committed"]);
    });
  });
}
