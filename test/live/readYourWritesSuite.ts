import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { functionBuilders } from "../../runtime/index.js";
import type { testSchema } from "../support/testSchema.js";
import type { ServerSetup } from "./serverSetups.js";

const { query, mutation } = functionBuilders<typeof testSchema>();

/**
 * Named counters (the test schema's `counters`). test/live/readYourWrites.nginx.test.ts
 * serves the same module as a file of a `convoy serve` project: keep the two alike.
 */
export const tallyFunctions = {
  tally: {
    /** Adds one to a counter (created at 1) and returns its new value. */
    increment: mutation({
      args: { name: z.string() },
      handler: async (ctx, args) => {
        const counter = await ctx.db
          .query("counters")
          .withIndex("by_name", (q) => q.eq("name", args.name))
          .unique();
        if (counter === null) {
          await ctx.db.insert("counters", { name: args.name, value: 1 });
          return 1;
        }
        await ctx.db.patch(counter._id, { value: counter.value + 1 });
        return counter.value + 1;
      },
    }),
    get: query({
      args: { name: z.string() },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("counters")
            .withIndex("by_name", (q) => q.eq("name", args.name))
            .unique()
        )?.value ?? 0,
    }),
    /** The sum of every counter. */
    total: query({
      handler: async (ctx) =>
        (await ctx.db.query("counters").fullTableScan().collect()).reduce((sum, row) => sum + row.value, 0),
    }),
  },
};

const api = functionReferences<ApiFromFunctions<typeof tallyFunctions>>({
  tally: { increment: "mutation", get: "query", total: "query" },
});

/** Where the suite's clients send requests. */
export interface ReadYourWritesServers {
  url: string;
  /**
   * Where a request to `url` really goes, for a setup that balances load in the client's
   * fetch (mutations to one server, streams to another); none sends it as it is.
   */
  route?: (url: string) => string;
  /** Whether a mutation and the client's stream can reach different servers (the suite asserts some did). */
  balanced: boolean;
  close(): Promise<void>;
}

/** Where {@link describeReadYourWritesSuite} runs. */
export interface ReadYourWritesSetup {
  name: string;
  /** Null when the setup can run here; else why the suite is skipped (an error in CI). */
  unavailable: string | null;
  /** Serves {@link tallyFunctions} on a fresh database. */
  start(): Promise<ReadYourWritesServers>;
}

/** One server, or two on one database: mutations go to the second, streams to the first. */
export function servedBy(setup: ServerSetup): ReadYourWritesSetup {
  return {
    name: setup.name,
    unavailable: setup.unavailable,
    async start() {
      const running = await setup.start(tallyFunctions);
      const [first, second] = running.urls as [string, string | undefined];
      return {
        url: first,
        balanced: second !== undefined,
        ...(second === undefined
          ? {}
          : {
              route: (url: string) =>
                url.startsWith(`${first}/api/mutation`) ? second + url.slice(first.length) : url,
            }),
        close: () => running.close(),
      };
    },
  };
}

/** A request a client sent: its path (with the query string) and the server that answered it. */
interface SentRequest {
  path: string;
  server: string;
}

/** A convoy/client that logs each request it sends and which server answered (nginx's `X-Convoy-Upstream`). */
function tracedClient(servers: ReadYourWritesServers): { client: ConvoyClient; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const client = createConvoyClient({
    url: servers.url,
    fetch: async (input, init) => {
      const requested = input instanceof Request ? input.url : input.toString();
      const target = servers.route?.(requested) ?? requested;
      const response = await fetch(input instanceof Request ? new Request(target, input) : target, init);
      const url = new URL(target);
      sent.push({ path: url.pathname + url.search, server: response.headers.get("x-convoy-upstream") ?? url.host });
      return response;
    },
  });
  return { client, sent };
}

/** Rejects when `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not resolve within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Mutations of the main test; `READ_YOUR_WRITES_MUTATIONS=10000` for a long run. */
const MUTATIONS = Number(process.env.READ_YOUR_WRITES_MUTATIONS ?? 1000);

/**
 * Issue 14's read-your-writes: once `await client.mutation()` resolves, every watch of
 * that client the mutation changed already shows it, checked synchronously after each
 * await; also when the mutation and the client's stream are on different servers.
 */
export function describeReadYourWritesSuite(setup: ReadYourWritesSetup): void {
  describe.skipIf(setup.unavailable !== null)(`read your writes on ${setup.name}`, () => {
    let servers: ReadYourWritesServers;
    const clients: ConvoyClient[] = [];
    const open = () => {
      const traced = tracedClient(servers);
      clients.push(traced.client);
      return traced;
    };

    beforeAll(async () => {
      servers = await setup.start();
    }, 300_000);
    afterAll(async () => {
      for (const client of clients) client.close();
      await servers?.close();
    });

    it(
      `${MUTATIONS} mutations one after another: each is in the client's watches when its promise resolves`,
      async () => {
        const { client, sent } = open();
        const name = "mine";
        let count: number | undefined;
        let total: number | undefined;
        client.watch(api.tally.get, { name }, (value) => (count = value));
        client.watch(api.tally.total, {}, (value) => (total = value));
        await expect.poll(() => [count, total], { timeout: 15_000 }).toEqual([0, 0]);

        const stale: string[] = [];
        let crossed = 0;
        const started = Date.now();
        let done = 0;
        // Past 50 stale answers the run stops: enough to report, and far quicker to fail.
        for (let i = 1; i <= MUTATIONS && stale.length < 50; i++) {
          done = i;
          const value = await client.mutation(api.tally.increment, { name });
          // Right after the await, before anything else runs.
          const [seenCount, seenTotal] = [count, total];
          expect(value).toBe(i);
          if (seenCount !== i || seenTotal !== i) stale.push(`mutation ${i}: count ${seenCount}, total ${seenTotal}`);
          const stream = sent.findLast(({ path }) => path.startsWith("/api/subscribe?"))?.server;
          const answered = sent.findLast(({ path }) => path === "/api/mutation")?.server;
          if (stream !== answered) crossed++;
          // Behind a round-robin balancer a mutation and the request after it (the await on
          // the stream) alternate between two instances: a query now and then shifts the
          // phase, so the mutations land on both the stream's instance and the other.
          if (i % 7 === 0) await client.query(api.tally.get, { name });
        }
        console.log(
          `[read your writes ${setup.name}] ${done} mutations in ${Date.now() - started} ms, ` +
            `${crossed} answered by another server than the stream's, ${stale.length} resolved before the watches showed them` +
            (stale.length > 0 ? ` (first: ${stale[0]}; last: ${stale.at(-1)})` : ""),
        );
        // The watches do follow the mutations: a failure below is about timing alone.
        await expect.poll(() => [count, total], { timeout: 15_000 }).toEqual([done, done]);
        if (servers.balanced) expect(crossed, "no mutation went to another server than the stream").toBeGreaterThan(0);
        expect(
          stale.length,
          `${stale.length} of ${done} mutations resolved before the client's watches showed them; first:\n` +
            stale.slice(0, 5).join("\n"),
        ).toBe(0);
      },
      30_000 + MUTATIONS * 250,
    );

    it("a mutation that none of the client's watches reads resolves (at once, when its server holds the stream)", async () => {
      const { client, sent } = open();
      let watched: number | undefined;
      client.watch(api.tally.get, { name: "watched" }, (value) => (watched = value));
      await expect.poll(() => watched, { timeout: 15_000 }).toBe(0);
      const before = sent.length;
      for (let i = 1; i <= 20; i++) {
        expect(await within(client.mutation(api.tally.increment, { name: "unwatched" }), 5000, `mutation ${i}`)).toBe(
          i,
        );
      }
      expect(watched).toBe(0);
      // One server: its answers name the stream unaffected, so the client asks the stream nothing.
      const awaits = sent.slice(before).filter(({ path }) => path.startsWith("/api/subscribe/"));
      if (!servers.balanced) expect(awaits).toEqual([]);
    });

    it("a client with no watches resolves its mutations at once, without a stream", async () => {
      const { client, sent } = open();
      for (let i = 1; i <= 20; i++) {
        expect(await within(client.mutation(api.tally.increment, { name: "unseen" }), 2000, `mutation ${i}`)).toBe(i);
      }
      expect(sent.map(({ path }) => path)).toEqual(Array.from({ length: 20 }, () => "/api/mutation"));
    });
  });
}
