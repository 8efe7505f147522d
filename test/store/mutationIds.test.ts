import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { ConvoyError, functionBuilders } from "../../runtime/index.js";
import type { DocumentStore } from "../../runtime/store/documentStore.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import type { MutationCallId } from "../../runtime/store/mutationRecords.js";
import type { DataModelFromSchema } from "../../runtime/schema/dataModel.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { testDriverFactories, type TestDatabase } from "../support/testDatabases.js";
import { convoyRejection } from "../support/convoyRejection.js";
import { testSchema } from "../support/testSchema.js";
import { openTestRuntime } from "../support/testRuntime.js";

type Store = DocumentStore<DataModelFromSchema<typeof testSchema>>;

const call = (fingerprint = "f1"): MutationCallId => ({ id: randomUUID(), fingerprint });

const { mutation } = functionBuilders<typeof testSchema>();
const functions = {
  ...liveTestFunctions,
  named: {
    /** Adds a user unless one of that name exists, which it refuses. */
    addUnique: mutation({
      args: { name: z.string() },
      handler: async (ctx, args) => {
        const taken = await ctx.db
          .query("users")
          .withIndex("by_name", (q) => q.eq("name", args.name))
          .first();
        if (taken) throw new ConvoyError({ code: "CONFLICT", message: `${args.name} is taken` });
        return ctx.db.insert("users", { name: args.name, createdAt: 1 });
      },
    }),
  },
};

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`mutation ids on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    let store: Store;
    const records = async () =>
      Number(
        (
          await database.driver.query<{ n: string }>(
            `SELECT count(*) AS n FROM "${database.schemaName}"."_mutation_results"`,
          )
        )[0]!.n,
      );
    const users = async () => (await store.query((db) => db.query("users").fullTableScan().collect())).length;

    beforeAll(async () => {
      ({ database, runtime } = await openTestRuntime(factory, functions));
      store = runtime.store;
    });
    afterAll(async () => {
      await database?.dispose();
    });
    beforeEach(async () => {
      await database.driver.exec(
        `DELETE FROM "${database.schemaName}"."users"; DELETE FROM "${database.schemaName}"."_mutation_results"`,
      );
    });

    it("sent again, a named mutation returns its first result and writes nothing more", async () => {
      const named = call();
      const add = () => store.mutation((db) => db.insert("users", { name: "Ada", createdAt: 1 }), { call: named });
      const first = await add();
      const again = await add();
      expect(again).toBe(first);
      expect(await users()).toBe(1);
      expect(await records()).toBe(1);
      // Without an id, the same body applies each time.
      await store.mutation((db) => db.insert("users", { name: "Ada", createdAt: 1 }));
      expect(await users()).toBe(2);
    });

    it("sent ten times at once, it applies once and every copy gets that result", async () => {
      const named = call();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          store.mutation((db) => db.insert("users", { name: "Bob", createdAt: 1 }), { call: named }),
        ),
      );
      expect(new Set(results).size).toBe(1);
      expect(await users()).toBe(1);
    });

    it("sent again, it reports the first run's commit position, so read-your-writes waits for that commit", async () => {
      const named = call();
      const positions: (string | null)[] = [];
      const add = () =>
        store.mutation((db) => db.insert("users", { name: "Dee", createdAt: 1 }), {
          call: named,
          onCommit: (position) => positions.push(position),
        });
      await add();
      // Later transactions in between, so the answer is the first run's, not the latest.
      for (let i = 0; i < 3; i++) await store.mutation((db) => db.insert("users", { name: `x${i}`, createdAt: 1 }));
      await add();
      // Also when the copies race: the losers meet the record (its primary key).
      await Promise.all([add(), add()]);
      expect(positions[0]).toMatch(/^[1-9][0-9]*$/);
      expect(positions).toEqual(Array(4).fill(positions[0]));
    });

    it("keeps undefined, strings Postgres cannot hold in jsonb, and nested values", async () => {
      const nothing = call();
      expect(await store.mutation(async () => undefined, { call: nothing })).toBeUndefined();
      expect(await store.mutation(async () => "changed", { call: nothing })).toBeUndefined();
      const value = { text: "nul \u0000 and \ud800 lone", list: [1, 2.5, null, true], nested: { a: "b" } };
      const named = call();
      expect(await store.mutation(async () => value, { call: named })).toEqual(value);
      expect(await store.mutation(async () => "other", { call: named })).toEqual(value);
    });

    it("a mutation that failed records nothing: sent again it runs", async () => {
      const named = call();
      const failing = store.mutation(
        async (db) => {
          await db.insert("users", { name: "Cy", createdAt: 1 });
          throw new ConvoyError({ code: "BAD_REQUEST", message: "not yet" });
        },
        { call: named },
      );
      expect((await convoyRejection(failing)).message).toBe("not yet");
      expect(await records()).toBe(0);
      await store.mutation((db) => db.insert("users", { name: "Cy", createdAt: 1 }), { call: named });
      expect(await users()).toBe(1);
    });

    it("a result that is not JSON is refused and nothing is applied", async () => {
      const error = await convoyRejection(
        store.mutation(
          async (db) => {
            await db.insert("users", { name: "Dee", createdAt: 1 });
            return { big: 1n };
          },
          { call: call() },
        ),
      );
      expect(error.code).toBe("BAD_REQUEST");
      expect(error.message).toMatch(/cannot be sent as JSON.*nothing was applied/);
      expect(await users()).toBe(0);
    });

    it("an id already used by another call is a CONFLICT, and nothing is written", async () => {
      const named = call("first");
      await store.mutation((db) => db.insert("users", { name: "Eve", createdAt: 1 }), { call: named });
      const error = await convoyRejection(
        store.mutation((db) => db.insert("users", { name: "Eve", createdAt: 1 }), {
          call: { id: named.id, fingerprint: "second" },
        }),
      );
      expect(error.code).toBe("CONFLICT");
      expect(error.message).toMatch(/already used for another call.*new id/);
      expect(await users()).toBe(1);
    });

    it("deletes records older than the retention", async () => {
      const shortLived = createDocumentStore({
        schema: testSchema,
        driver: database.driver,
        schemaName: database.schemaName,
        mutationRecordRetentionMs: 0,
      });
      await store.mutation(async () => 1, { call: call() });
      expect(await records()).toBe(1);
      await shortLived.mutation(async () => 2, { call: call() });
      await expect.poll(records, { timeout: 10_000 }).toBe(0);
    });

    describe("through the runtime", () => {
      const ada = { tokenIdentifier: "test|ada", subject: "ada", issuer: "test" };

      it("a handler that fails because its first run's writes are there answers with the first result", async () => {
        const mutationId = randomUUID();
        const first = await runtime.call("named.addUnique", { name: "Fay" }, { kind: "mutation", mutationId });
        const again = await runtime.call("named.addUnique", { name: "Fay" }, { kind: "mutation", mutationId });
        expect(again).toBe(first);
        // A new id is a new call, which the handler refuses.
        const error = await convoyRejection(
          runtime.call("named.addUnique", { name: "Fay" }, { kind: "mutation", mutationId: randomUUID() }),
        );
        expect(error.message).toBe("Fay is taken");
      });

      it("the same id with other args or another caller is a CONFLICT; key order does not matter", async () => {
        const mutationId = randomUUID();
        const userId = await runtime.call("users.add", { name: "Gus" }, { kind: "mutation", auth: ada, mutationId });
        const same = await runtime.call("users.add", { name: "Gus" }, { kind: "mutation", auth: ada, mutationId });
        expect(same).toBe(userId);
        // A refreshed token (new expiry, same user) is the same caller.
        const refreshed = { ...ada, exp: 2_000_000_000 };
        expect(
          await runtime.call("users.add", { name: "Gus" }, { kind: "mutation", auth: refreshed, mutationId }),
        ).toBe(userId);
        for (const [args, auth] of [
          [{ name: "Hal" }, ada],
          [{ name: "Gus" }, null],
          [{ name: "Gus" }, { ...ada, subject: "bob", tokenIdentifier: "test|bob" }],
          [{ name: "Gus" }, { ...ada, issuer: "elsewhere" }],
        ] as const) {
          const error = await convoyRejection(runtime.call("users.add", args, { kind: "mutation", auth, mutationId }));
          expect(error.code).toBe("CONFLICT");
        }
        const project = randomUUID();
        const a = await runtime.call(
          "projects.addAt",
          { userId, name: "p", createdAt: 1 },
          { kind: "mutation", mutationId: project },
        );
        const b = await runtime.call(
          "projects.addAt",
          { createdAt: 1, name: "p", userId },
          { kind: "mutation", mutationId: project },
        );
        expect(b).toBe(a);
      });

      it("refuses an id on a query and an id of the wrong shape, saying what to send", async () => {
        const onQuery = await convoyRejection(
          runtime.call("users.me", {}, { kind: "query", mutationId: randomUUID() }),
        );
        expect(onQuery.code).toBe("BAD_REQUEST");
        expect(onQuery.message).toMatch(/only with mutations/);
        for (const mutationId of ["short", "x".repeat(129), "has space in it ok?", "ünïcödé-ünïcödé-ü"]) {
          const error = await convoyRejection(
            runtime.call("users.add", { name: "Ivy" }, { kind: "mutation", mutationId }),
          );
          expect(error.code).toBe("BAD_REQUEST");
          expect(error.message).toMatch(/16 to 128 characters/);
        }
        expect(await users()).toBe(0);
      });
    });
  });
}
