import { once } from "node:events";
import type { Server } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { functionBuilders } from "../../runtime/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { localStorageOutbox, type StringStorage } from "../../runtime/client/mutationOutbox.js";
import { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { createConvoyApp } from "../../runtime/server/expressApp.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { FaultyProxy } from "../support/faultyProxy.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { testDriverFactories, type TestDatabase } from "../support/testDatabases.js";
import type { testSchema } from "../support/testSchema.js";
import { openTestRuntime } from "../support/testRuntime.js";

const { mutation, query } = functionBuilders<typeof testSchema>();
const functions = {
  ...liveTestFunctions,
  fields: {
    /** Saves a value under a name, as a form field saved on each change would. */
    save: mutation({
      args: { name: z.string(), value: z.number() },
      handler: async (ctx, args) => {
        const field = await ctx.db
          .query("counters")
          .withIndex("by_name", (q) => q.eq("name", args.name))
          .unique();
        if (field) await ctx.db.patch(field._id, { value: args.value });
        else await ctx.db.insert("counters", args);
        return args.value;
      },
    }),
    read: query({
      args: { name: z.string() },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("counters")
            .withIndex("by_name", (q) => q.eq("name", args.name))
            .unique()
        )?.value ?? null,
    }),
  },
};

const api = functionReferences<ApiFromFunctions<typeof functions>>({
  users: { add: "mutation", me: "query" },
  projects: { add: "mutation", byUser: "query" },
  fields: { save: "mutation", read: "query" },
});

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`client mutations across lost answers on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    let server: Server;
    let proxy: FaultyProxy;
    let url: string;
    const userCount = async () =>
      ((await runtime.store.query((db) => db.query("users").fullTableScan().collect())) as unknown[]).length;

    beforeAll(async () => {
      ({ database, runtime } = await openTestRuntime(factory, functions));
      const { app } = createConvoyApp({ runtime, functions });
      server = app.listen(0, "127.0.0.1");
      await once(server, "listening");
      proxy = new FaultyProxy((server.address() as { port: number }).port);
      url = `http://127.0.0.1:${await proxy.listen()}`;
    });
    afterAll(async () => {
      await proxy?.close();
      server?.closeAllConnections();
      server?.close();
      await database?.dispose();
    });
    beforeEach(async () => {
      await database.driver.exec(
        `DELETE FROM "${database.schemaName}"."users"; DELETE FROM "${database.schemaName}"."counters"`,
      );
      proxy.faults.length = 0;
      proxy.requestsForwarded = 0;
    });

    it("a mutation whose answer was lost twice is sent again and applied once", async () => {
      const client = createConvoyClient({ url });
      proxy.faults.push("lose-answer", "lose-answer");
      const id = await client.mutation(api.users.add, { name: "Ada" });
      expect(typeof id).toBe("string");
      expect(proxy.requestsForwarded).toBe(3);
      expect(await userCount()).toBe(1);
    });

    it("a proxy's 502 is sent again; other errors are not", async () => {
      const client = createConvoyClient({ url });
      proxy.faults.push("bad-gateway", "bad-gateway");
      await client.mutation(api.users.add, { name: "Bob" });
      expect(await userCount()).toBe(1);
      expect(proxy.requestsForwarded).toBe(1);

      const refused = await client.mutation(api.users.add, { name: 42 } as never).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConvoyError);
      expect((refused as ConvoyError).code).toBe("BAD_REQUEST");
      expect(proxy.requestsForwarded).toBe(2);
    });

    it("with retries off, the lost answer is an error, though the mutation was applied", async () => {
      const client = createConvoyClient({ url, mutationRetryMs: 0 });
      proxy.faults.push("lose-answer");
      const error = await client.mutation(api.users.add, { name: "Cy" }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConvoyError);
      expect((error as ConvoyError).code).toBe("SERVICE_UNAVAILABLE");
      expect(await userCount()).toBe(1);
    });

    it("a mutation sent while no server listens is applied once it is back, within the retry window", async () => {
      const port = Number(new URL(url).port);
      await proxy.close();
      const client = createConvoyClient({ url, mutationRetryMs: 20_000 });
      const pending = client.mutation(api.users.add, { name: "Dee" });
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await userCount()).toBe(0);
      proxy = new FaultyProxy((server.address() as { port: number }).port);
      await proxy.listen(port);
      await pending;
      expect(await userCount()).toBe(1);
    });

    it("a caller's own id resends a mutation later, from another client (an outbox across page loads)", async () => {
      const mutationId = "outbox-0001-aaaa-bbbb";
      const before = createConvoyClient({ url, mutationRetryMs: 0 });
      proxy.faults.push("lose-answer");
      await expect(before.mutation(api.users.add, { name: "Eve" }, { mutationId })).rejects.toThrow(ConvoyError);
      const after = createConvoyClient({ url });
      const first = await after.mutation(api.users.add, { name: "Eve" }, { mutationId });
      expect(await after.mutation(api.users.add, { name: "Eve" }, { mutationId })).toBe(first);
      expect(await userCount()).toBe(1);
      const reused = await after
        .mutation(api.users.add, { name: "Fay" }, { mutationId })
        .catch((error: unknown) => error);
      expect((reused as ConvoyError).code).toBe("CONFLICT");
    });

    it("a client's mutations apply in the order it called them, even when the first is resent", async () => {
      const save = async (client: ConvoyClient, name: string) => {
        proxy.faults.push("bad-gateway"); // the first save is resent after the others were sent
        const values = await Promise.all(
          Array.from({ length: 8 }, (_, value) => client.mutation(api.fields.save, { name, value })),
        );
        expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        return client.query(api.fields.read, { name });
      };
      // With mutationOrder "concurrent" the resent first save usually lands last (0).
      expect(await save(createConvoyClient({ url }), "field")).toBe(7);
    });

    describe("with an outbox", () => {
      /** Storage as a page's localStorage offers it, kept across the "page loads" of a test. */
      const pageStorage = (): StringStorage => {
        const items = new Map<string, string>();
        return { getItem: (key) => items.get(key) ?? null, setItem: (key, value) => void items.set(key, value) };
      };

      it("a mutation the server never got stays in the outbox; the next client sends it first", async () => {
        const outbox = localStorageOutbox("convoy:outbox", pageStorage());
        const port = Number(new URL(url).port);
        await proxy.close();
        const before = createConvoyClient({ url, outbox, mutationRetryMs: 300 });
        const error = await before.mutation(api.users.add, { name: "Ada" }).catch((caught: unknown) => caught);
        expect((error as ConvoyError).code).toBe("SERVICE_UNAVAILABLE");
        expect(outbox.load()).toEqual([{ path: "users.add", args: { name: "Ada" }, mutationId: expect.any(String) }]);
        proxy = new FaultyProxy((server.address() as { port: number }).port);
        await proxy.listen(port);
        createConvoyClient({ url, outbox });
        await expect.poll(() => outbox.load(), { timeout: 10_000 }).toEqual([]);
        expect(await userCount()).toBe(1);
      });

      it("a mutation whose answer was lost is sent again by the next client and applied once", async () => {
        const outbox = localStorageOutbox("convoy:outbox", pageStorage());
        proxy.faults.push("lose-answer");
        await createConvoyClient({ url, outbox, mutationRetryMs: 0 })
          .mutation(api.users.add, { name: "Bob" })
          .catch(() => {});
        expect(await userCount()).toBe(1);
        expect(outbox.load()).toHaveLength(1);
        const after = createConvoyClient({ url, outbox });
        await expect.poll(() => outbox.load(), { timeout: 10_000 }).toEqual([]);
        await after.mutation(api.users.add, { name: "Cy" });
        expect(await userCount()).toBe(2);
      });

      it("a mutation its function refuses leaves the outbox, and a resent one is reported", async () => {
        const storage = pageStorage();
        const outbox = localStorageOutbox("convoy:outbox", storage);
        const client = createConvoyClient({ url, outbox });
        await expect(client.mutation(api.users.add, { name: 7 } as never)).rejects.toThrow(/Invalid arguments/);
        expect(outbox.load()).toEqual([]);
        outbox.save([{ path: "users.add", args: { name: 7 }, mutationId: "left-by-an-old-page-1" }]);
        const refused: string[] = [];
        createConvoyClient({
          url,
          outbox,
          onOutboxError: (entry, error) => refused.push(`${entry.mutationId} ${error.code}`),
        });
        await expect.poll(() => refused, { timeout: 10_000 }).toEqual(["left-by-an-old-page-1 BAD_REQUEST"]);
        expect(outbox.load()).toEqual([]);
        // What is not an outbox is ignored rather than sent.
        storage.setItem("convoy:outbox", "not json");
        expect(outbox.load()).toEqual([]);
      });
    });

    it("queries are not sent again: TanStack Query retries them", async () => {
      const client = createConvoyClient({ url });
      proxy.faults.push("bad-gateway");
      const error = await client.query(api.users.me, {}).catch((caught: unknown) => caught);
      expect((error as ConvoyError).code).toBe("SERVICE_UNAVAILABLE");
      expect(await client.query(api.users.me, {})).toBeNull();
    });
  });
}
