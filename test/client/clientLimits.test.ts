// convoy/client in plain Node 20 (no EventSource anywhere): live queries on the built-in
// fetch reader, and the server's stream limits reaching the app instead of hanging it.
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { ConvoyServer } from "../../runtime/server/convoyServer.js";
import { generateId } from "../../runtime/schema/ids.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { restartServer, startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation", me: "query" },
});

let started: TestServer<typeof liveTestFunctions>;
/** The server running now (a restart replaces it). */
let convoy: ConvoyServer;
let writer: ConvoyClient;
const clients: ConvoyClient[] = [];
const newClient = (options: Parameters<typeof createConvoyClient>[0] = {}) => {
  const client = createConvoyClient({ url: started.url, ...options });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  started = await startTestServer(pgliteFactory, liveTestFunctions, {
    maxStreamsPerClient: 2,
    maxWatchesPerStream: 3,
    auth: (request) => {
      const user = request.headers["x-user"];
      return typeof user === "string" ? { subject: user } : null;
    },
  });
  convoy = started.convoy;
  writer = newClient();
});
afterAll(async () => {
  for (const client of clients) client.close();
  await convoy?.close({ timeoutMs: 1000 });
  await started?.database.dispose();
});

describe("convoy/client with no EventSource (Node 20)", () => {
  it("needs nothing extra: the fetch reader delivers results, sends headers, and resumes after a restart", async () => {
    expect((globalThis as { EventSource?: unknown }).EventSource).toBeUndefined();
    const client = newClient({ headers: { "x-user": "alice" } });
    const userId = await writer.mutation(api.users.add, { name: "Ada" });
    const seen: string[][] = [];
    const me: (string | null)[] = [];
    const errors: ConvoyError[] = [];
    const stop = client.watch(
      api.projects.byUser,
      { userId },
      (names) => seen.push(names),
      (e) => errors.push(e),
    );
    const stopMe = client.watch(api.users.me, {}, (subject) => me.push(subject));
    await expect.poll(() => [seen, me], { timeout: 10_000 }).toEqual([[[]], ["alice"]]);
    await writer.mutation(api.projects.add, { userId, name: "live" });
    await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toEqual(["live"]);

    // The server goes away and comes back on the same port: the stream reopens by itself.
    convoy = await restartServer(convoy, started.database, liveTestFunctions, {
      pollIntervalMs: 200,
      maxStreamsPerClient: 2,
      maxWatchesPerStream: 3,
    });
    await expect.poll(() => convoy.streams, { timeout: 10_000 }).toBe(1);
    await expect
      .poll(
        () =>
          writer.mutation(api.projects.add, { userId, name: "after" }).then(
            () => "ok",
            (e: Error) => e.message,
          ),
        {
          timeout: 10_000,
        },
      )
      .toBe("ok");
    await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toEqual(["live", "after"]);
    expect(errors).toEqual([]);
    stop();
    stopMe();
    await expect.poll(() => convoy.streams, { timeout: 5000 }).toBe(0);
  });
});

describe("limits reach the app", () => {
  it("a stream over the per-client limit: every watch's onError gets the server's 429 message, then it recovers", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Bea" });
    const tabs = [newClient(), newClient()];
    const stops = tabs.map((tab) => tab.watch(api.projects.byUser, { userId }, () => {}));
    await expect.poll(() => convoy.streams, { timeout: 10_000 }).toBe(2);

    const third = newClient();
    const errors: ConvoyError[] = [];
    const seen: string[][] = [];
    const stop = third.watch(
      api.projects.byUser,
      { userId },
      (names) => seen.push(names),
      (e) => errors.push(e),
    );
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBe(1);
    expect(errors[0]).toMatchObject({ code: "TOO_MANY_REQUESTS" });
    expect(errors[0]!.message).toContain("already has 2 live streams open");
    expect(seen).toEqual([]);

    // Another tab closes: the refused one gets in on its next retry, with its result.
    stops[0]!();
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual([[]]);
    expect(errors).toHaveLength(1);
    stop();
    stops[1]!();
    await expect.poll(() => convoy.streams, { timeout: 5000 }).toBe(0);
  });

  it("with another EventSource (no body), the 429 still reaches onError with a message", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Cy" });
    const tabs = [newClient(), newClient()];
    const stops = tabs.map((tab) => tab.watch(api.projects.byUser, { userId }, () => {}));
    await expect.poll(() => convoy.streams, { timeout: 10_000 }).toBe(2);
    const errors: ConvoyError[] = [];
    const stop = newClient({ EventSource }).watch(
      api.projects.byUser,
      { userId },
      () => {},
      (e) => errors.push(e),
    );
    await expect.poll(() => errors.map((error) => error.code), { timeout: 10_000 }).toEqual(["TOO_MANY_REQUESTS"]);
    expect(errors[0]!.message).toMatch(/refused a live stream \(429\)/);
    stop();
    for (const stopTab of stops) stopTab();
    await expect.poll(() => convoy.streams, { timeout: 5000 }).toBe(0);
  });

  it("more watches than one stream holds: the client opens another stream, every watch is live", async () => {
    const users = await Promise.all(
      Array.from({ length: 5 }, (_, i) => writer.mutation(api.users.add, { name: `u${i}` })),
    );
    const client = newClient({ headers: { "x-user": "dana" } });
    const seen = new Map<number, string[][]>();
    const errors: ConvoyError[] = [];
    // Two at once (one opening request), then three more while it opens, then one later: 6 > 3 per stream.
    const stops = users.map((userId, i) =>
      client.watch(
        api.projects.byUser,
        { userId },
        (names) => seen.set(i, [...(seen.get(i) ?? []), names]),
        (e) => errors.push(e),
      ),
    );
    stops.push(
      client.watch(
        api.users.me,
        {},
        (subject) => seen.set(5, [[String(subject)]]),
        (e) => errors.push(e),
      ),
    );
    await expect.poll(() => seen.size, { timeout: 10_000 }).toBe(6);
    expect(convoy.streams).toBe(2);
    expect(convoy.live.stats().watches).toBe(6);
    await writer.mutation(api.projects.add, { userId: users[4]!, name: "last" });
    await writer.mutation(api.projects.add, { userId: users[0]!, name: "first" });
    await expect
      .poll(() => [seen.get(0)!.at(-1), seen.get(4)!.at(-1)], { timeout: 10_000 })
      .toEqual([["first"], ["last"]]);
    expect(errors).toEqual([]);
    for (const stop of stops) stop();
    await expect.poll(() => convoy.streams, { timeout: 5000 }).toBe(0);
  });
});

describe("many watches on the default limits", () => {
  it("300 watches: two streams; after a restart every one is back (the opening URL stays short, the rest go by POST)", async () => {
    const big = await startTestServer(pgliteFactory, liveTestFunctions);
    let server = big.convoy;
    const client = createConvoyClient({ url: big.url });
    try {
      const seen = new Set<number>();
      const errors: ConvoyError[] = [];
      const stops = Array.from({ length: 300 }, (_, i) =>
        client.watch(
          api.projects.byUser,
          { userId: generateId("users") },
          () => seen.add(i),
          (e) => errors.push(e),
        ),
      );
      await expect.poll(() => seen.size, { timeout: 20_000 }).toBe(300);
      expect(server.streams).toBe(2);
      expect(server.live.stats().watches).toBe(300);

      server = await restartServer(server, big.database, liveTestFunctions, { pollIntervalMs: 200 });
      await expect.poll(() => server.live.stats().watches, { timeout: 20_000 }).toBe(300);
      expect(server.streams).toBe(2);
      expect(errors).toEqual([]);
      for (const stop of stops) stop();
      await expect.poll(() => server.streams, { timeout: 5000 }).toBe(0);
    } finally {
      client.close();
      await server.close({ timeoutMs: 1000 });
      await big.database.dispose();
    }
  });
});
