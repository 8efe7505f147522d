import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MAX_STREAMS_PER_CLIENT } from "../../runtime/server/expressApp.js";
import type { TestDriverFactory } from "../support/testDatabases.js";
import { callApi, exchange, expectClearMessage } from "./exchange.js";
import { openSse, trpcClient, type SseClient } from "./liveClients.js";
import { startSecurityServer, type SecurityServer } from "./securityServer.js";

const ALICE = { "x-user": "alice" };

/** Every limit has a default, a clear 4xx when reached, and an option; CORS is closed unless configured. */
export function describeLimitsSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`limits and CORS on ${factory.name}`, () => {
    /** Small limits, so each is quick to reach. */
    let small: SecurityServer;
    /** Defaults, plus two allowed origins. */
    let standard: SecurityServer;

    beforeAll(async () => {
      small = await startSecurityServer(factory, {
        bodyLimit: "2kb",
        maxWatchesPerStream: 3,
        maxStreamsPerClient: 2,
      });
      standard = await startSecurityServer(factory, {
        cors: (origin) => origin === "https://app.example" || origin.endsWith(".trusted.example"),
      });
    });
    afterAll(async () => {
      await small?.close();
      await standard?.close();
    });

    it("body size: 413 with the limit in the message on every endpoint that takes a body, nothing written", async () => {
      const before = await small.dump();
      const big = "x".repeat(3000);
      const native = await callApi(small.url, "mutation", "notes.add", { title: big }, ALICE);
      expect(native.status).toBe(413);
      expect(native.json.error).toEqual({
        code: "PAYLOAD_TOO_LARGE",
        message: "The request body is larger than the limit of 2kb",
      });
      const trpc = await exchange(`${small.url}/trpc/notes.add`, {
        method: "POST",
        headers: { "content-type": "application/json", ...ALICE },
        body: JSON.stringify({ title: big }),
      });
      expect(trpc.status).toBe(413);
      expectClearMessage(trpc.json.error.message, "tRPC 413", small.database.schemaName);
      const stream = openSse(small.url, "");
      const { streamId } = await stream.next("ready");
      const update = await exchange(`${small.url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ add: [{ id: "a", path: "notes.count", args: { pad: big } }] }),
      });
      expect(update.status).toBe(413);
      stream.close();
      expect(await small.dump()).toEqual(before);
      // Under the limit, the same calls work.
      expect((await callApi(small.url, "mutation", "notes.add", { title: "fits" }, ALICE)).status).toBe(200);
    });

    it("watches per stream: the one over the limit is refused with 429 (queryError at open, 429 on add)", async () => {
      const watches = Array.from({ length: 4 }, (_, i) => ({ id: `w${i}`, path: "notes.count", args: {} }));
      const stream = openSse(small.url, `?watches=${encodeURIComponent(JSON.stringify(watches))}`);
      const refused = await stream.next("queryError");
      expect(refused).toMatchObject({ id: "w3", error: { code: "TOO_MANY_REQUESTS" } });
      expect(refused.error.message).toBe(
        "A stream holds at most 3 watches; remove some, or open another stream (GET /api/subscribe) for the rest (convoy/client does this by itself)",
      );
      expect(refused.error.data).toEqual({ maxWatches: 3 });
      const { streamId } = await stream.next("ready");
      const add = await exchange(`${small.url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ add: [{ id: "extra", path: "notes.mine", args: {} }] }),
      });
      expect(add.status).toBe(429);
      expect(add.json.error.code).toBe("TOO_MANY_REQUESTS");
      // Removing one makes room, in the same request.
      const swap = await exchange(`${small.url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ remove: ["w0"], add: [{ id: "extra", path: "notes.mine", args: {} }] }),
      });
      expect(swap.json).toEqual({ ok: true, watches: ["w1", "w2", "extra"] });
      stream.close();
    });

    it("streams per client: the one over the limit gets 429 saying what to do; other clients are not affected", async () => {
      await expect.poll(() => small.convoy.streams, { timeout: 5000 }).toBe(0);
      const open: SseClient[] = [openSse(small.url, "", ALICE), openSse(small.url, "", ALICE)];
      for (const stream of open) await stream.next("ready");

      const third = await exchange(`${small.url}/api/subscribe`, { headers: ALICE });
      expect(third.status).toBe(429);
      expect(third.json.error.code).toBe("TOO_MANY_REQUESTS");
      expect(third.json.error.message).toMatch(/already has 2 live streams open.*Close the ones it no longer needs/);
      // A tRPC subscription is a stream too.
      const subscription = await exchange(`${small.url}/trpc/live.notes.mine?input=%7B%7D`, { headers: ALICE });
      expect(subscription.status).toBe(429);
      expect(subscription.json.error.data).toMatchObject({ code: "TOO_MANY_REQUESTS", httpStatus: 429 });

      // Another user, and anonymous callers (counted by address), still get streams.
      const bob = openSse(small.url, "", { "x-user": "bob" });
      const anonymous = openSse(small.url, "");
      await bob.next("ready");
      await anonymous.next("ready");

      // Closing one of alice's streams frees its slot.
      open[0]!.close();
      await expect.poll(() => small.convoy.streams, { timeout: 5000 }).toBe(3);
      const again = openSse(small.url, "", ALICE);
      await again.next("ready");
      for (const stream of [open[1]!, bob, anonymous, again]) stream.close();
      await expect.poll(() => small.convoy.streams, { timeout: 5000 }).toBe(0);
    });

    it("streams per client: tRPC subscriptions count, and a closed one frees its slot", async () => {
      const received: string[][] = [];
      const subscriptions = [0, 1].map(() =>
        trpcClient(small.url, ALICE).live.notes.mine.subscribe(undefined, {
          onData: (titles) => received.push(titles),
        }),
      );
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
      const refused = await exchange(`${small.url}/api/subscribe`, { headers: ALICE });
      expect(refused.status).toBe(429);
      subscriptions[0]!.unsubscribe();
      await expect
        .poll(
          async () =>
            (await exchange(`${small.url}/api/subscribe`, { headers: ALICE }, (events) => events.length > 0)).status,
          {
            timeout: 5000,
          },
        )
        .toBe(200);
      subscriptions[1]!.unsubscribe();
    });

    it(`streams per client default to ${DEFAULT_MAX_STREAMS_PER_CLIENT}`, async () => {
      expect(DEFAULT_MAX_STREAMS_PER_CLIENT).toBe(64);
      const open = Array.from({ length: 64 }, () => openSse(standard.url, "", { "x-user": "many" }));
      for (const stream of open) await stream.next("ready");
      const over = await exchange(`${standard.url}/api/subscribe`, { headers: { "x-user": "many" } });
      expect(over.status).toBe(429);
      expect(over.json.error.message).toMatch(/already has 64 live streams open/);
      for (const stream of open) stream.close();
      await expect.poll(() => standard.convoy.streams, { timeout: 5000 }).toBe(0);
    });

    describe("CORS", () => {
      it("closed by default: no Access-Control-Allow-Origin anywhere, an unlisted preflight is refused without allow headers", async () => {
        const evil = { origin: "https://evil.example" };
        const requests: [string, RequestInit][] = [
          ["/api/health", { headers: evil }],
          [
            "/api/query",
            {
              method: "POST",
              headers: { ...evil, "content-type": "application/json" },
              body: '{"path":"notes.count"}',
            },
          ],
          ["/trpc/notes.count", { headers: evil }],
          ["/api/subscribe?path=notes.count", { headers: evil }],
          ["/api/nope", { headers: evil }],
        ];
        for (const server of [small, standard]) {
          for (const [path, init] of requests) {
            const answer = await exchange(`${server.url}${path}`, init, (events) => events.length > 0);
            expect(answer.headers.get("access-control-allow-origin"), path).toBeNull();
            expect(answer.headers.get("access-control-allow-credentials"), path).toBeNull();
          }
          const preflight = await exchange(`${server.url}/api/mutation`, {
            method: "OPTIONS",
            headers: {
              ...evil,
              "access-control-request-method": "POST",
              "access-control-request-headers": "content-type",
            },
          });
          expect(preflight.status).toBe(403);
          expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
          expect(preflight.headers.get("access-control-allow-methods")).toBeNull();
          expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
          expect(preflight.json.error.message).toMatch(/Origin https:\/\/evil\.example may not call this server.*cors/);
        }
      });

      it("an unlisted page cannot call with a visitor's cookies (a text/plain POST needs no preflight)", async () => {
        const before = await small.dump();
        const forged = await exchange(`${small.url}/api/mutation`, {
          method: "POST",
          headers: { origin: "https://evil.example", "content-type": "text/plain", cookie: "session=alice", ...ALICE },
          body: JSON.stringify({ path: "notes.add", args: { title: "forged" } }),
        });
        expect(forged.status).toBe(403);
        const forgedTrpc = await exchange(`${small.url}/trpc/notes.add`, {
          method: "POST",
          headers: { origin: "https://evil.example", "content-type": "text/plain", cookie: "session=alice", ...ALICE },
          body: JSON.stringify({ title: "forged" }),
        });
        expect(forgedTrpc.status).toBe(403);
        const stream = await exchange(`${small.url}/api/subscribe?path=notes.mine`, {
          headers: { origin: "https://evil.example", cookie: "session=alice", ...ALICE },
        });
        expect(stream.status).toBe(403);
        expect(await small.dump()).toEqual(before);
        // The server's own pages may: same origin.
        const own = await exchange(`${small.url}/api/mutation`, {
          method: "POST",
          headers: { origin: small.url, "content-type": "application/json", cookie: "session=alice", ...ALICE },
          body: JSON.stringify({ path: "notes.add", args: { title: "own page" } }),
        });
        expect(own.status).toBe(200);
        expect(own.headers.get("access-control-allow-origin")).toBeNull();
      });

      it("a listed origin gets Access-Control-Allow-Origin on every endpoint, and its preflights are answered", async () => {
        for (const origin of ["https://app.example", "https://a.trusted.example"]) {
          const preflight = await exchange(`${standard.url}/api/mutation`, {
            method: "OPTIONS",
            headers: {
              origin,
              "access-control-request-method": "POST",
              "access-control-request-headers": "content-type, authorization",
            },
          });
          expect(preflight.status).toBe(204);
          expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
          expect(preflight.headers.get("access-control-allow-methods")).toMatch(/POST/);
          expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type, authorization");
          expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
          expect(preflight.headers.get("vary")).toMatch(/Origin/);

          const call = await exchange(`${standard.url}/api/mutation`, {
            method: "POST",
            headers: { origin, "content-type": "application/json", ...ALICE },
            body: JSON.stringify({ path: "notes.add", args: { title: `from ${origin}` } }),
          });
          expect(call.status).toBe(200);
          expect(call.headers.get("access-control-allow-origin")).toBe(origin);
          const trpc = await exchange(`${standard.url}/trpc/notes.count`, { headers: { origin } });
          expect(trpc.headers.get("access-control-allow-origin")).toBe(origin);
          const stream = await exchange(
            `${standard.url}/api/subscribe?path=notes.count`,
            { headers: { origin } },
            (events) => events.some((event) => event.event === "result"),
          );
          expect(stream.status).toBe(200);
          expect(stream.headers.get("access-control-allow-origin")).toBe(origin);
        }
        const other = await exchange(`${standard.url}/api/health`, {
          headers: { origin: "https://trusted.example.evil" },
        });
        expect(other.headers.get("access-control-allow-origin")).toBeNull();
      });
    });
  });
}
