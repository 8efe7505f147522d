import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sqlState, type TransactionExecutor } from "../../runtime/drivers/driver.js";
import { testDriverFactories, type TestDatabase } from "../support/testDatabases.js";

const SETUP = "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE";

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`queued writes in a transaction (${factory.name})`, () => {
    let database: TestDatabase;
    let table: string;

    beforeAll(async () => {
      database = await factory.open();
      table = `"${database.schemaName}"."queued"`;
      await database.driver.exec(`CREATE SCHEMA IF NOT EXISTS "${database.schemaName}"`);
      await database.driver.exec(`CREATE TABLE ${table} (n int PRIMARY KEY, note jsonb)`);
    });
    afterAll(() => database?.dispose());
    afterEach(() => database.driver.exec(`TRUNCATE ${table}`));

    const insert = (tx: TransactionExecutor, n: number, note: unknown = null) =>
      tx.queue(`INSERT INTO ${table} (n, note) VALUES ($1::int, $2::jsonb)`, [n, note]);
    const numbers = async () =>
      (await database.driver.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`)).map((row) => row.n);

    it("run in order before the transaction's next query, which sees them", async () => {
      const seen = await database.driver.transaction(SETUP, async (tx) => {
        insert(tx, 1);
        // An object value cannot be written into the statement's text: it goes on its own, still in order.
        insert(tx, 2, { nested: ["x"] });
        tx.queue(`UPDATE ${table} SET note = $1::jsonb WHERE n = 2`, ['"second"']);
        insert(tx, 3);
        return tx.query<{ n: number; note: unknown }>(`SELECT n, note FROM ${table} ORDER BY n`);
      });
      expect(seen).toEqual([
        { n: 1, note: null },
        { n: 2, note: "second" },
        { n: 3, note: null },
      ]);
      expect(await numbers()).toEqual([1, 2, 3]);
    });

    it("still queued when the body returns: run before COMMIT", async () => {
      const value = await database.driver.transaction(SETUP, async (tx) => {
        insert(tx, 1);
        await tx.query("SELECT 1");
        insert(tx, 2);
        insert(tx, 3);
        return "done";
      });
      expect(value).toBe("done");
      expect(await numbers()).toEqual([1, 2, 3]);
    });

    it("a queued write that fails at commit fails the transaction with its error; nothing is kept", async () => {
      const error = await database.driver
        .transaction(SETUP, async (tx) => {
          insert(tx, 1);
          insert(tx, 1); // duplicate key
          insert(tx, 2);
        })
        .catch((e: unknown) => e);
      expect(sqlState(error)).toBe("23505");
      expect(await numbers()).toEqual([]);
      // The connection went back to the pool usable, not inside an aborted transaction.
      for (let i = 0; i < 12; i++) {
        await database.driver.transaction(SETUP, async (tx) => insert(tx, 10 + i));
      }
      expect(await numbers()).toHaveLength(12);
    });

    it("a queued write that fails is thrown by the next query", async () => {
      const error = await database.driver
        .transaction(SETUP, async (tx) => {
          insert(tx, 1);
          insert(tx, 1);
          await tx.query("SELECT 1");
          return "unreachable";
        })
        .catch((e: unknown) => e);
      expect(sqlState(error)).toBe("23505");
      expect(await numbers()).toEqual([]);
    });

    it("a queued read travels with the writes (also with COMMIT) and resolves with its own rows", async () => {
      let early: Promise<{ count: string }[]> | undefined;
      let atCommit: Promise<{ xid: string | null }[]> | undefined;
      await database.driver.transaction(SETUP, async (tx) => {
        insert(tx, 1);
        early = tx.queueQuery<{ count: string }>(`SELECT count(*)::text AS count FROM ${table}`);
        insert(tx, 2);
        await tx.query("SELECT 1");
        insert(tx, 3);
        atCommit = tx.queueQuery<{ xid: string | null }>("SELECT pg_current_xact_id_if_assigned()::text AS xid");
      });
      expect(await early).toEqual([{ count: "1" }]);
      const xid = (await atCommit)![0]!.xid;
      expect(xid).toMatch(/^\d+$/);
      // The position is the committed transaction's own: a snapshot now sees it.
      const [visible] = await database.driver.query<{ seen: boolean }>(
        "SELECT pg_visible_in_snapshot($1::xid8, pg_current_snapshot()) AS seen",
        [xid],
      );
      expect(visible!.seen).toBe(true);
      expect(await numbers()).toEqual([1, 2, 3]);
    });

    it("a queued read of a transaction that fails rejects; it never hangs", async () => {
      let read: Promise<unknown[]> | undefined;
      await expect(
        database.driver.transaction(SETUP, async (tx) => {
          insert(tx, 1);
          insert(tx, 1); // duplicate key: the batch stops here
          read = tx.queueQuery("SELECT 1 AS one");
        }),
      ).rejects.toMatchObject({ code: "23505" });
      await expect(read).rejects.toBeDefined();
    });

    it("a queued read of a body that throws rejects with the body's error; it never hangs", async () => {
      let read: Promise<unknown[]> | undefined;
      await expect(
        database.driver.transaction(SETUP, async (tx) => {
          read = tx.queueQuery("SELECT 1 AS one");
          throw new Error("handler failed first");
        }),
      ).rejects.toThrow("handler failed first");
      await expect(read).rejects.toThrow("handler failed first");
    });

    it("a body that throws after queueing writes nothing", async () => {
      await expect(
        database.driver.transaction(SETUP, async (tx) => {
          await tx.query("SELECT 1");
          insert(tx, 1);
          throw new Error("handler failed");
        }),
      ).rejects.toThrow("handler failed");
      await expect(
        database.driver.transaction(SETUP, async (tx) => {
          insert(tx, 2);
          throw new Error("before anything was sent");
        }),
      ).rejects.toThrow("before anything was sent");
      expect(await numbers()).toEqual([]);
    });
  });
}

const postgres = testDriverFactories.find((factory) => factory.name === "postgres")!;

describe.skipIf(postgres.unavailable !== null)("round trips of a Postgres transaction", () => {
  let database: TestDatabase;
  let table: string;
  beforeAll(async () => {
    database = await postgres.open();
    table = `"${database.schemaName}"."trips"`;
    await database.driver.exec(`CREATE SCHEMA IF NOT EXISTS "${database.schemaName}"`);
    await database.driver.exec(`CREATE TABLE ${table} (n int PRIMARY KEY, note text)`);
  });
  afterAll(() => database?.dispose());

  /** Counts the messages the driver's connections send while `run` runs (the real calls go through). */
  async function countSends(run: () => Promise<unknown>): Promise<number> {
    const spy = vi.spyOn(pg.Client.prototype, "query");
    try {
      await run();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  }

  it("writes only: BEGIN, setup, writes and COMMIT in one round trip", async () => {
    const sends = await countSends(() =>
      database.driver.transaction(`${SETUP}; SET LOCAL statement_timeout = 5000`, async (tx) => {
        tx.queue(`INSERT INTO ${table} VALUES ($1::int, $2::text)`, [1, "it's"]);
        tx.queue(`INSERT INTO ${table} VALUES ($1::int, $2::text)`, [2, "back\\slash"]);
      }),
    );
    expect(sends).toBe(1);
    expect(await database.driver.query(`SELECT n, note FROM ${table} ORDER BY n`)).toEqual([
      { n: 1, note: "it's" },
      { n: 2, note: "back\\slash" },
    ]);
  });

  it("a read in between: two round trips, the writes riding with the read and with COMMIT", async () => {
    const sends = await countSends(() =>
      database.driver.transaction(SETUP, async (tx) => {
        tx.queue(`INSERT INTO ${table} VALUES ($1::int, $2::text)`, [3, "a"]);
        const [row] = await tx.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${table}`);
        expect(row!.count).toBe(3);
        tx.queue(`UPDATE ${table} SET note = $1::text WHERE n = $2::int`, ["b", 3]);
      }),
    );
    expect(sends).toBe(2);
    expect(await database.driver.query(`SELECT note FROM ${table} WHERE n = 3`)).toEqual([{ note: "b" }]);
  });

  it("a body that sends nothing opens no transaction", async () => {
    expect(await countSends(() => database.driver.transaction(SETUP, async () => "nothing"))).toBe(0);
  });
});
