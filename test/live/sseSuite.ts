import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionBuilders, type Id } from "../../runtime/index.js";
import type { LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { convoyTRPC } from "../../runtime/server/expressApp.js";
import { createConvoyRouter } from "../../runtime/server/trpcRouter.js";
import type { TestDriverFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import type { testSchema } from "../support/testSchema.js";
import { transitionResults } from "../support/transitionEvents.js";

const { query } = functionBuilders<typeof testSchema>();
const functions = {
  projects: liveTestFunctions.projects,
  users: { ...liveTestFunctions.users, mine: query({ handler: async (ctx) => ctx.auth?.subject ?? "anonymous" }) },
};

/** The router type the server builds; the tRPC client is typed with it. */
const _routerForTypes = () => createConvoyRouter(convoyTRPC, functions);
type Router = ReturnType<typeof _routerForTypes>;

interface Received {
  events: { type: string; data: any }[];
  source: EventSource;
  next(type: string, predicate?: (data: any) => boolean): Promise<any>;
}

/** The SSE transport on one driver, with real EventSource clients. */
export function describeSseSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`GET /api/subscribe on ${factory.name}`, () => {
    let engine: LiveQueryEngine;
    let url: string;

    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(factory, functions, {
        auth: (request) =>
          typeof request.headers["x-user"] === "string" ? { subject: request.headers["x-user"] } : null,
      });
      ({ url } = server);
      engine = server.convoy.live;
    });
    afterAll(async () => {
      await server?.close();
    });

    const call = async (
      kind: "query" | "mutation",
      path: string,
      args: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(`${url}/api/${kind}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ path, args }),
      });
      return ((await response.json()) as { value: any }).value;
    };

    function open(query: string, headers: Record<string, string> = {}): Received {
      const source = new EventSource(`${url}/api/subscribe${query}`, {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
      });
      const events: { type: string; data: any }[] = [];
      const waiters: (() => void)[] = [];
      for (const type of ["ready", "transition", "queryError"]) {
        source.addEventListener(type, (event) => {
          const data = JSON.parse((event as MessageEvent<string>).data);
          // A transition's results, one by one, after the transition itself.
          events.push({ type, data }, ...(type === "transition" ? transitionResults(data) : []));
          for (const wake of waiters.splice(0)) wake();
        });
      }
      const consumed = new Set<number>();
      return {
        events,
        source,
        async next(type, predicate = () => true) {
          const deadline = Date.now() + 10_000;
          for (;;) {
            const index = events.findIndex(
              (event, i) => !consumed.has(i) && event.type === type && predicate(event.data),
            );
            if (index >= 0) {
              consumed.add(index);
              return events[index]!.data;
            }
            if (Date.now() > deadline) throw new Error(`no ${type} event; got ${JSON.stringify(events)}`);
            await new Promise<void>((resolve) => {
              waiters.push(resolve);
              setTimeout(resolve, 200);
            });
          }
        },
      };
    }

    it("streams the spec's ?path&args watch: first the result, then every change", async () => {
      const userId: Id<"users"> = await call("mutation", "users.add", { name: "Ada" });
      const stream = open(`?path=projects.byUser&args=${encodeURIComponent(JSON.stringify({ userId }))}`);
      expect(await stream.next("ready")).toEqual({ streamId: expect.any(String), maxWatches: 256 });
      expect(await stream.next("result")).toEqual({ id: "0", value: [] });
      await call("mutation", "projects.add", { userId, name: "one" });
      expect(await stream.next("result")).toEqual({ id: "0", value: ["one"] });
      await call("mutation", "projects.add", { userId, name: "two" });
      expect(await stream.next("result")).toEqual({ id: "0", value: ["one", "two"] });
      stream.source.close();
    });

    it("multiplexes watches on one stream: add and remove without reconnecting", async () => {
      const ada: Id<"users"> = await call("mutation", "users.add", { name: "Ada" });
      const bob: Id<"users"> = await call("mutation", "users.add", { name: "Bob" });
      const stream = open("");
      const { streamId } = await stream.next("ready");
      const add = await fetch(`${url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          add: [
            { id: "a", path: "projects.byUser", args: { userId: ada } },
            { id: "b", path: "projects.byUser", args: { userId: bob } },
          ],
        }),
      });
      expect(add.status).toBe(200);
      expect(await stream.next("result", (data) => data.id === "a")).toEqual({ id: "a", value: [] });
      expect(await stream.next("result", (data) => data.id === "b")).toEqual({ id: "b", value: [] });
      await call("mutation", "projects.add", { userId: bob, name: "bob's" });
      expect(await stream.next("result", (data) => data.id === "b")).toEqual({ id: "b", value: ["bob's"] });

      const remove = await fetch(`${url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ remove: ["b"] }),
      });
      expect(await remove.json()).toEqual({ ok: true, watches: ["a"] });
      await call("mutation", "projects.add", { userId: bob, name: "unseen" });
      await call("mutation", "projects.add", { userId: ada, name: "ada's" });
      expect(await stream.next("result", (data) => data.id === "a")).toEqual({ id: "a", value: ["ada's"] });
      expect(stream.events.filter((event) => event.data.id === "b")).toHaveLength(2);
      stream.source.close();
    });

    it("resumes after a reconnect with ?watches=[...] and the current results", async () => {
      const ada: Id<"users"> = await call("mutation", "users.add", { name: "Ada" });
      await call("mutation", "projects.add", { userId: ada, name: "before" });
      const watches = encodeURIComponent(
        JSON.stringify([{ id: "w1", path: "projects.byUser", args: { userId: ada } }]),
      );
      const stream = open(`?watches=${watches}`);
      expect(await stream.next("result")).toEqual({ id: "w1", value: ["before"] });
      stream.source.close();
    });

    it("refuses bad requests with 4xx and clear messages; bad args arrive as queryError", async () => {
      const unknown = await fetch(`${url}/api/subscribe?path=projects.nope`);
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/No public function/);
      const mutationWatch = await fetch(`${url}/api/subscribe?path=projects.add`);
      expect(mutationWatch.status).toBe(400);
      const badJson = await fetch(`${url}/api/subscribe?path=projects.byUser&args={oops`);
      expect(badJson.status).toBe(400);
      const noStream = await fetch(`${url}/api/subscribe/nope`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ add: [] }),
      });
      expect(noStream.status).toBe(404);

      const stream = open(`?path=projects.byUser&args=${encodeURIComponent(JSON.stringify({ userId: "nope" }))}`);
      expect(await stream.next("queryError")).toMatchObject({ id: "0", error: { code: "BAD_REQUEST" } });
      stream.source.close();
    });

    it("watches run as the stream's identity, and only that identity may change the stream", async () => {
      const alice = open("?path=users.mine", { "x-user": "alice" });
      const anonymous = open("?path=users.mine");
      const { streamId } = await alice.next("ready");
      expect(await alice.next("result")).toEqual({ id: "0", value: "alice" });
      expect(await anonymous.next("result")).toEqual({ id: "0", value: "anonymous" });
      const hijack = await fetch(`${url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-user": "mallory" },
        body: JSON.stringify({ remove: ["0"] }),
      });
      expect(hijack.status).toBe(404);
      alice.source.close();
      anonymous.source.close();
    });

    it("every query is also a tRPC subscription (httpSubscriptionLink), fed by the same watches", async () => {
      const ada: Id<"users"> = await call("mutation", "users.add", { name: "Ada" });
      const trpc = createTRPCClient<Router>({
        links: [
          splitLink({
            condition: (operation) => operation.type === "subscription",
            true: httpSubscriptionLink({ url: `${url}/trpc`, EventSource }),
            false: httpBatchLink({ url: `${url}/trpc` }),
          }),
        ],
      });
      const received: string[][] = [];
      const subscription = trpc.live.projects.byUser.subscribe(
        { userId: ada },
        { onData: (names) => received.push(names) },
      );
      await expect.poll(() => received, { timeout: 10_000 }).toEqual([[]]);
      await trpc.projects.add.mutate({ userId: ada, name: "via trpc" });
      await expect.poll(() => received.at(-1), { timeout: 10_000 }).toEqual(["via trpc"]);
      expect(engine.stats().watches).toBeGreaterThan(0);
      subscription.unsubscribe();
    });

    it("opening and closing 50 streams leaves no watches, streams or timers behind", async () => {
      const userId: Id<"users"> = await call("mutation", "users.add", { name: "Many" });
      await expect.poll(() => server.convoy.streams, { timeout: 5000 }).toBe(0);
      const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
      const baseline = timers();
      const streams = Array.from({ length: 50 }, (_, i) =>
        open(`?path=projects.byUser&args=${encodeURIComponent(JSON.stringify({ userId }))}&id=w${i}`),
      );
      for (const stream of streams) await stream.next("result");
      expect(server.convoy.streams).toBe(50);
      expect(engine.stats().watches).toBe(1);
      expect(timers()).toBeGreaterThanOrEqual(baseline + 50);
      for (const stream of streams) stream.source.close();
      await expect.poll(() => server.convoy.streams, { timeout: 5000 }).toBe(0);
      expect(engine.stats().watches).toBe(0);
      await expect.poll(timers, { timeout: 5000 }).toBeLessThanOrEqual(baseline);
    });

    it("closing streams releases every watch", async () => {
      await expect.poll(() => server.convoy.streams, { timeout: 5000 }).toBe(0);
      await expect.poll(() => engine.stats().watches, { timeout: 5000 }).toBe(0);
    });
  });
}
