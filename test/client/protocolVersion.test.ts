// The live wire protocol's version negotiation and message checks, with a real server
// and convoy/client: another version is refused once and clearly (426), a malformed
// event becomes an error and is never applied, and the current version works unchanged.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { LIVE_PROTOCOL_VERSION } from "../../runtime/protocol/liveProtocol.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation", me: "query" },
});

let server: TestServer<typeof liveTestFunctions>;
const clients: ConvoyClient[] = [];
const newClient = (options: Parameters<typeof createConvoyClient>[0] = {}) => {
  const client = createConvoyClient({ url: server.url, ...options });
  clients.push(client);
  return client;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, liveTestFunctions);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await server?.close();
});

describe("protocol version on the wire", () => {
  it("a client of the current version states it and works unchanged", async () => {
    const urls: string[] = [];
    const client = newClient({
      fetch: (input, init) => {
        urls.push(input as string);
        return fetch(input, init);
      },
    });
    const userId = await client.mutation(api.users.add, { name: "Ada" });
    const seen: string[][] = [];
    const seenOther: string[][] = [];
    const stop = client.watch(api.projects.byUser, { userId }, (names) => seen.push(names));
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual([[]]);
    // A watch added to the open stream goes by POST, which states the version too.
    const stopOther = client.watch(api.projects.byUser, { userId }, (names) => seenOther.push(names));
    await client.mutation(api.projects.add, { userId, name: "live" });
    await expect.poll(() => [seen.at(-1), seenOther.at(-1)], { timeout: 10_000 }).toEqual([["live"], ["live"]]);
    stop();
    stopOther();
    const subscribe = urls.filter((url) => url.includes("/api/subscribe"));
    const stated = `protocol=${LIVE_PROTOCOL_VERSION}`;
    expect(subscribe.some((url) => url.includes(`/api/subscribe?${stated}&watches=`))).toBe(true);
    expect(subscribe.some((url) => new RegExp(`/api/subscribe/[^?]+\\?${stated}$`).test(url))).toBe(true);
  });

  it("a request without a version is the current version (curl), another is 426 with both versions", async () => {
    const plain = await fetch(`${server.url}/api/subscribe?path=users.me`);
    expect(plain.status).toBe(200);
    const reader = plain.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: ready\ndata: \{"streamId":"[^"]+","maxWatches":256\}/);
    await reader.cancel();

    const other = await fetch(`${server.url}/api/subscribe?protocol=${LIVE_PROTOCOL_VERSION + 1}&path=users.me`);
    expect(other.status).toBe(426);
    expect(await other.json()).toEqual({
      error: {
        code: "UPGRADE_REQUIRED",
        message: expect.stringContaining(
          `speaks Convoy's live protocol ${LIVE_PROTOCOL_VERSION + 1}, the server speaks ${LIVE_PROTOCOL_VERSION}: upgrade convoy`,
        ),
        data: { clientProtocol: LIVE_PROTOCOL_VERSION + 1, serverProtocol: LIVE_PROTOCOL_VERSION },
      },
    });
    const post = await fetch(`${server.url}/api/subscribe/any?protocol=${LIVE_PROTOCOL_VERSION + 1}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(post.status).toBe(426);
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe("UPGRADE_REQUIRED");
    const garbled = await fetch(`${server.url}/api/subscribe?protocol=one&path=users.me`);
    expect(garbled.status).toBe(400);
    expect(((await garbled.json()) as { error: { message: string } }).error.message).toMatch(/whole number/);
  });

  it("a client of another version reports the 426 to every watch once and stops retrying", async () => {
    let opened = 0;
    // The client's requests, rewritten to state the next version: a client built for another protocol.
    const client = newClient({
      fetch: (input, init) => {
        const url = (input as string).replace(
          `protocol=${LIVE_PROTOCOL_VERSION}`,
          `protocol=${LIVE_PROTOCOL_VERSION + 1}`,
        );
        if (url.includes("/api/subscribe?")) opened++;
        return fetch(url, init);
      },
    });
    const errors: ConvoyError[][] = [[], [], []];
    const updates: unknown[] = [];
    client.watch(
      api.users.me,
      {},
      (value) => updates.push(value),
      (error) => errors[0]!.push(error),
    );
    client.watch(
      api.users.me,
      {},
      (value) => updates.push(value),
      (error) => errors[1]!.push(error),
    );
    await expect.poll(() => errors.slice(0, 2).map((list) => list.length), { timeout: 10_000 }).toEqual([1, 1]);
    expect(errors[0]![0]!.code).toBe("UPGRADE_REQUIRED");
    expect(errors[0]![0]!.message).toContain(
      `live protocol ${LIVE_PROTOCOL_VERSION + 1}, the server speaks ${LIVE_PROTOCOL_VERSION}`,
    );
    expect(errors[0]![0]!.data).toEqual({
      clientProtocol: LIVE_PROTOCOL_VERSION + 1,
      serverProtocol: LIVE_PROTOCOL_VERSION,
    });
    // Backoff would have retried at 250, 500 and 1000 ms: nothing is retried.
    await sleep(2000);
    expect(opened).toBe(1);
    expect(errors.slice(0, 2).map((list) => list.length)).toEqual([1, 1]);
    // A watch added later learns it at once, without another request.
    client.watch(
      api.users.me,
      {},
      (value) => updates.push(value),
      (error) => errors[2]!.push(error),
    );
    expect(errors[2]!.map((error) => error.code)).toEqual(["UPGRADE_REQUIRED"]);
    expect(opened).toBe(1);
    expect(updates).toEqual([]);
  });
});

/** A server that answers `GET /api/subscribe` with `events` (SSE text) and holds the stream open. */
async function fakeStreamServer(events: string): Promise<{ url: string; server: Server; opened: () => number }> {
  let opened = 0;
  const fake = createServer((request, response) => {
    if (!request.url?.startsWith("/api/subscribe?")) {
      response.writeHead(404).end();
      return;
    }
    opened++;
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write(events);
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const { port } = fake.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server: fake, opened: () => opened };
}

describe("malformed events from the server", () => {
  const fakes: Server[] = [];
  afterAll(async () => {
    for (const fake of fakes) {
      fake.closeAllConnections();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it("a malformed transition or queryError is reported and never applied, not even in part", async () => {
    const fake = await fakeStreamServer(
      [
        'event: ready\ndata: {"streamId":"s","maxWatches":8}\n\n',
        "event: transition\ndata: <html>not json</html>\n\n",
        'event: transition\ndata: {"version":"5:5:","results":[{"id":"w0","value":["half"]},{"id":"w1"}]}\n\n',
        'event: queryError\ndata: {"id":"w1","error":"boom"}\n\n',
        'event: transition\ndata: {"version":"6:6:","results":[{"id":"w0","value":["fine"]}]}\n\n',
      ].join(""),
    );
    fakes.push(fake.server);
    const client = createConvoyClient({ url: fake.url });
    clients.push(client);
    const updates: unknown[][] = [[], []];
    const errors: ConvoyError[][] = [[], []];
    for (const i of [0, 1])
      client.watch(
        api.users.me,
        {},
        (value) => updates[i]!.push(value),
        (error) => errors[i]!.push(error),
      );
    await expect.poll(() => errors.map((list) => list.length), { timeout: 10_000 }).toEqual([2, 3]);
    // A bad transition is about every watch of the stream: each hears of it, and none of
    // it applies (w0's "half" never shows). The bad queryError names w1 only.
    expect(errors[0]![0]!.code).toBe("PROTOCOL_ERROR");
    expect(errors[0]![0]!.message).toMatch(/"transition" event is not JSON \(<html>not json<\/html>\)/);
    expect(errors[1]!.map((error) => error.message.match(/"\w+" event [^(]+/)![0].trim())).toEqual([
      '"transition" event is not JSON',
      '"transition" event has a result for w1 with neither value nor error',
      '"queryError" event has no { code, message } error',
    ]);
    await expect.poll(() => updates, { timeout: 10_000 }).toEqual([[["fine"]], []]);
  });

  it("a malformed ready is reported to every watch", async () => {
    const fake = await fakeStreamServer('event: ready\ndata: {"id":"s"}\n\n');
    fakes.push(fake.server);
    const client = createConvoyClient({ url: fake.url });
    clients.push(client);
    const errors: ConvoyError[] = [];
    client.watch(
      api.users.me,
      {},
      () => {},
      (error) => errors.push(error),
    );
    client.watch(
      api.users.me,
      {},
      () => {},
      (error) => errors.push(error),
    );
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBe(2);
    expect(errors.map((error) => error.code)).toEqual(["PROTOCOL_ERROR", "PROTOCOL_ERROR"]);
    expect(errors[0]!.message).toMatch(/"ready" event has no streamId/);
    // It keeps trying (a proxy may have garbled one stream), but says so once per run of failures.
    await expect.poll(() => fake.opened(), { timeout: 10_000 }).toBeGreaterThan(1);
    expect(errors).toHaveLength(2);
  });
});
