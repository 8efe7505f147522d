// Calls whose database connection is cut, or never made, answer 503 and say whether
// sending them again is safe; a named mutation sent again applies once.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";
import { functionBuilders } from "../../runtime/index.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { handleCall } from "../../runtime/server/handleCall.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { postgresFactory, type TestDatabase } from "../support/testDatabases.js";
import { convoyRejection } from "../support/convoyRejection.js";
import { testSchema } from "../support/testSchema.js";
import { openTestRuntime } from "../support/testRuntime.js";

const { mutation } = functionBuilders<typeof testSchema>();
const functions = {
  ...liveTestFunctions,
  slow: {
    /** Adds a user, then waits with its transaction open before reading again. */
    add: mutation({
      args: { name: z.string(), waitMs: z.number() },
      handler: async (ctx, args) => {
        await ctx.db.query("users").first();
        const id = await ctx.db.insert("users", { name: args.name, createdAt: 1 });
        await new Promise((resolve) => setTimeout(resolve, args.waitMs));
        await ctx.db.get(id);
        return id;
      },
    }),
  },
};

describe("a database out of reach", () => {
  it("refused connections: queries say try again, mutations say whether a retry is safe, over HTTP a 503", async () => {
    const driver = createPostgresDriver({ connectionString: "postgres://postgres@127.0.0.1:1/nowhere" });
    const runtime = new ConvoyRuntime({ schema: testSchema, functions, driver });
    try {
      const query = await convoyRejection(runtime.call("users.me", {}, { kind: "query" }));
      expect(query.code).toBe("SERVICE_UNAVAILABLE");
      expect(query.message).toMatch(/database is not reachable.*try again/);
      const unnamed = await convoyRejection(runtime.call("users.add", { name: "Ada" }, { kind: "mutation" }));
      expect(unnamed.message).toMatch(/may or may not have been applied; send a mutation id/);
      const named = await convoyRejection(
        runtime.call("users.add", { name: "Ada" }, { kind: "mutation", mutationId: randomUUID() }),
      );
      expect(named.message).toMatch(/same mutation id/);
      const answer = await handleCall(runtime, {
        kind: "mutation",
        body: { path: "users.add", args: { name: "Ada" } },
        auth: null,
      });
      expect(answer.status).toBe(503);
    } finally {
      await runtime.close();
    }
  });
});

describe.skipIf(postgresFactory.unavailable !== null)("a connection cut inside a mutation (Postgres)", () => {
  let database: TestDatabase;
  let runtime: ConvoyRuntime;
  beforeAll(async () => {
    ({ database, runtime } = await openTestRuntime(postgresFactory, functions));
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("is a 503; sent again with its id, the mutation applies once", async () => {
    const mutationId = randomUUID();
    const args = { name: "Bob", waitMs: 400 };
    const first = runtime.call("slow.add", args, { kind: "mutation", mutationId });
    // Cut the mutation's connection while its transaction waits.
    await expect
      .poll(
        async () =>
          (
            await database.driver.query<{ cut: boolean }>(
              `SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity
               WHERE state LIKE 'idle in transaction%' AND query LIKE $1::text`,
              [`%${database.schemaName}%`],
            )
          ).length,
        { timeout: 5000, interval: 20 },
      )
      .toBe(1);
    const error = await convoyRejection(first);
    expect(error.code).toBe("SERVICE_UNAVAILABLE");
    expect(error.message).toMatch(/same mutation id/);

    const id = await runtime.call("slow.add", args, { kind: "mutation", mutationId });
    expect(await runtime.call("slow.add", args, { kind: "mutation", mutationId })).toBe(id);
    const users = await runtime.store.query((db) => db.query("users").fullTableScan().collect());
    expect(users.map((user: { name: string }) => user.name)).toEqual(["Bob"]);
  });
});
