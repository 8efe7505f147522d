import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestDriverFactory } from "../support/testDatabases.js";
import { blockWatchEvents } from "../support/transitionEvents.js";
import { describeRequest, exchange, urlEncode, expectClearMessage, trpcErrors, type Answer } from "./exchange.js";
import {
  anyValue,
  argumentValueArb,
  hostileString,
  hostileValue,
  malformedJson,
  NASTY_KEYS,
  ownObject,
  toJson,
} from "./hostileValues.js";
import { argumentKeys, internalPaths, queryPaths } from "./securityApp.js";
import { startSecurityServer, type SecurityServer } from "./securityServer.js";

/** Runs per property: enough to find the classes of bugs, small enough for well under a minute per driver. */
const RUNS = Number(process.env.CONVOY_FUZZ_RUNS ?? 40);

const publicPaths = Object.keys(argumentKeys);
const oddPaths = [
  ...internalPaths,
  "notes",
  "fuzz.",
  ".notes.mine",
  "notes.mine.x",
  "__proto__",
  "constructor",
  "notes.__proto__",
  "notes.constructor",
  "fuzz.toString",
  "live.notes.mine",
  "admin",
];

const pathArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...publicPaths) },
  { weight: 2, arbitrary: fc.constantFrom(...oddPaths) },
  { weight: 1, arbitrary: hostileString },
);

/** Arguments for `path`: its own keys with hostile values (one sometimes left out, extras sometimes added), or anything at all. */
function argsArb(path: string, ids: readonly string[]): fc.Arbitrary<unknown> {
  const keys = Object.hasOwn(argumentKeys, path) ? argumentKeys[path]! : [];
  const shaped = fc
    .tuple(
      fc.tuple(...keys.map((key) => argumentValueArb(key, ids))),
      fc.array(fc.tuple(fc.constantFrom(...NASTY_KEYS), hostileValue), { maxLength: 2 }),
      fc.integer({ min: -1, max: keys.length - 1 }),
    )
    .map(([values, extra, dropped]) =>
      ownObject([...keys.flatMap((key, i) => (i === dropped ? [] : [[key, values[i]] as const])), ...extra]),
    );
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: anyValue }, fc.constant(undefined));
}

const callArb = (ids: readonly string[]) => pathArb.chain((path) => argsArb(path, ids).map((args) => ({ path, args })));

/** A native call body: a call, a call with an extra field or a mutation id, a JSON value that is no call, or text that is no JSON. */
const callBodyArb = (ids: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 8, arbitrary: callArb(ids).map(({ path, args }) => toJson({ path, args })) },
    {
      weight: 1,
      arbitrary: fc.tuple(callArb(ids), fc.constantFrom(...NASTY_KEYS), hostileValue).map(([call, key, value]) =>
        toJson(
          ownObject([
            ["path", call.path],
            ["args", call.args],
            [key, value],
          ]),
        ),
      ),
    },
    {
      // A mutation id: well formed (the call may run) or hostile (refused before it runs).
      weight: 2,
      arbitrary: fc
        .tuple(callArb(ids), fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9_-]{16,40}$/), hostileValue))
        .map(([call, mutationId]) =>
          toJson(
            ownObject([
              ["path", call.path],
              ["args", call.args],
              ["mutationId", mutationId],
            ]),
          ),
        ),
    },
    { weight: 1, arbitrary: anyValue.map(toJson) },
    { weight: 1, arbitrary: malformedJson },
  );

const contentTypeArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "", "*/*"),
  fc.constantFrom("application/json; charset=utf-16", "multipart/form-data; boundary=x"),
);

const identityArb = fc.constantFrom<Record<string, string>>({}, {}, { "x-user": "alice" }, { "x-user": "banned" });

/** Hostile requests to every endpoint, on one driver: 4xx with a clear message, nothing written, still serving. */
export function describeHostileInputSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`hostile input on ${factory.name}`, () => {
    let convoy: SecurityServer;
    /** Real ids of both tables, so ids of the wrong table and of deleted documents are tried too. */
    let ids: string[];

    beforeAll(async () => {
      convoy = await startSecurityServer(factory);
      const user = await convoy.runtime.call(
        "fuzz.insertInto",
        { table: "users", doc: { name: "Ada" } },
        { kind: "mutation" },
      );
      const note = await convoy.runtime.call(
        "fuzz.insertNote",
        { doc: { owner: "alice", title: "hello", rank: 1, userId: user } },
        { kind: "mutation" },
      );
      const gone = await convoy.runtime.call(
        "fuzz.insertInto",
        { table: "users", doc: { name: "Gone" } },
        { kind: "mutation" },
      );
      await convoy.runtime.call("fuzz.delete", { id: gone }, { kind: "mutation" });
      ids = [user as string, note as string, gone as string];
    });
    afterAll(async () => {
      await convoy?.close();
    });

    /** How a property's requests fared: a generator that only ever hits one branch tests little. */
    let outcomes = { accepted: 0, rejected: 0 };
    beforeEach(() => {
      outcomes = { accepted: 0, rejected: 0 };
    });
    const expectBothOutcomes = () => {
      expect(outcomes.accepted, "no generated request was accepted").toBeGreaterThan(0);
      expect(outcomes.rejected, "no generated request was rejected").toBeGreaterThan(0);
    };

    /** Sends a request that may be rejected; checks the answer, the database, and that the server still serves. */
    async function attempt(
      label: string,
      send: () => Promise<Answer>,
      check: (answer: Answer) => boolean,
    ): Promise<void> {
      const before = await convoy.dump();
      const answer = await send();
      expect(answer.status, `${label}: answered ${answer.status} ${answer.text.slice(0, 500)}`).toBeLessThan(500);
      // Node refuses a request line over its 16 KB header limit before any Convoy code runs.
      const rejected = answer.status === 431 || check(answer);
      outcomes[rejected ? "rejected" : "accepted"]++;
      if (rejected) expect(await convoy.dump(), `${label}: a rejected call changed the database`).toEqual(before);
      const health = await exchange(`${convoy.url}/api/health`);
      expect(health.status, `${label}: the server stopped serving`).toBe(200);
    }

    /** Checks a native JSON error answer; returns whether the call was rejected. */
    function checkNative(label: string, answer: Answer): boolean {
      if (answer.status === 200) {
        expect(answer.json, `${label}: a 200 is { value }`).toHaveProperty("value");
        return false;
      }
      expect(answer.status, label).toBeGreaterThanOrEqual(400);
      expect(answer.contentType, label).toMatch(/^application\/json/);
      expect(answer.json?.error?.code, `${label}: error code`).toEqual(expect.any(String));
      expect(answer.json.error.code, label).not.toBe("INTERNAL_SERVER_ERROR");
      expectClearMessage(answer.json.error.message, label, convoy.database.schemaName);
      return true;
    }

    function checkTrpc(label: string, answer: Answer): boolean {
      if (answer.status === 200 && answer.json !== undefined && trpcErrors(answer.json).length === 0) return false;
      expect(answer.json, `${label}: body is JSON: ${answer.text.slice(0, 300)}`).toBeDefined();
      const errors = trpcErrors(answer.json);
      expect(errors.length, `${label}: tRPC errors in ${answer.text.slice(0, 300)}`).toBeGreaterThan(0);
      for (const error of errors) {
        expect(error.status, `${label}: ${JSON.stringify(error)}`).toBeGreaterThanOrEqual(400);
        expect(error.status, `${label}: ${JSON.stringify(error)}`).toBeLessThan(500);
        expectClearMessage(error.message, label, convoy.database.schemaName);
      }
      const items = Array.isArray(answer.json) ? answer.json.length : 1;
      return errors.length === items;
    }

    it("POST /api/query and /api/mutation: 4xx with a clear message for every bad call, nothing written", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("query", "mutation"),
          callBodyArb(ids),
          contentTypeArb,
          identityArb,
          async (kind, body, contentType, identity) => {
            const label = describeRequest("POST", `/api/${kind}`, body);
            await attempt(
              label,
              () =>
                exchange(`${convoy.url}/api/${kind}`, {
                  method: "POST",
                  headers: { ...(contentType ? { "content-type": contentType } : {}), ...identity },
                  body,
                }),
              (answer) => checkNative(label, answer),
            );
          },
        ),
        {
          numRuns: RUNS * 3,
          // One call that must succeed, so a run whose random calls were all refused still checks both paths.
          examples: [["query", JSON.stringify({ path: "notes.count", args: {} }), "application/json", {}]],
        },
      );
      expectBothOutcomes();
    });

    it("tRPC queries and mutations, single and batched, by POST and GET: 4xx with a clear message", async () => {
      const single = fc.record({ call: callArb(ids), method: fc.constantFrom("GET", "POST"), identity: identityArb });
      const batch = fc.record({
        calls: fc.array(callArb(ids), { minLength: 1, maxLength: 4 }),
        method: fc.constantFrom("GET", "POST"),
        identity: identityArb,
        broken: fc.option(malformedJson, { freq: 4 }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            single.map((s) => ({ ...s, calls: [s.call], batched: false, broken: null })),
            batch.map((b) => ({ ...b, batched: true })),
          ),
          async (request) => {
            // fetch resolves "." and ".." segments away from /trpc; such a path is no procedure name anyway.
            const paths = request.calls
              .map((call) => urlEncode(/^\.{1,2}$/.test(call.path) ? `x${call.path}` : call.path))
              .join(",");
            const input = request.batched
              ? (request.broken ?? toJson(Object.fromEntries(request.calls.map((call, i) => [String(i), call.args]))))
              : toJson(request.calls[0]!.args);
            const query = request.batched ? "?batch=1" : "";
            const url =
              request.method === "GET"
                ? `${convoy.url}/trpc/${paths}${query}${query ? "&" : "?"}input=${urlEncode(input)}`
                : `${convoy.url}/trpc/${paths}${query}`;
            const label = describeRequest(
              request.method,
              url.slice(convoy.url.length),
              request.method === "POST" ? input : undefined,
            );
            await attempt(
              label,
              () =>
                exchange(url, {
                  method: request.method,
                  headers: { "content-type": "application/json", ...request.identity },
                  ...(request.method === "POST" ? { body: input } : {}),
                }),
              (answer) => {
                if (answer.contentType.startsWith("text/event-stream")) return false;
                return checkTrpc(label, answer);
              },
            );
          },
        ),
        {
          numRuns: RUNS * 2,
          // One call that must succeed, so both paths are always checked.
          examples: [
            [
              {
                call: { path: "notes.count", args: {} },
                calls: [{ path: "notes.count", args: {} }],
                method: "GET",
                identity: {},
                batched: false,
                broken: null,
              },
            ],
          ],
        },
      );
      expectBothOutcomes();
    });

    it("tRPC live.* subscriptions with hostile input: a clear error event or a result, never a crash", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc
            .oneof({ weight: 3, arbitrary: fc.constantFrom(...queryPaths) }, { weight: 1, arbitrary: pathArb })
            .chain((path) => argsArb(path, ids).map((args) => ({ path, args }))),
          identityArb,
          async ({ path, args }, identity) => {
            const url = `${convoy.url}/trpc/live.${urlEncode(path)}?input=${urlEncode(toJson(args))}`;
            const label = describeRequest("GET", url.slice(convoy.url.length));
            await attempt(
              label,
              () =>
                exchange(url, { headers: identity }, (events) =>
                  events.some((event) => event.event !== "connected" && event.event !== "ping"),
                ),
              (answer) => {
                if (!answer.contentType.startsWith("text/event-stream")) return checkTrpc(label, answer);
                const first = answer.events.find((event) => event.event !== "connected" && event.event !== "ping");
                expect(first, `${label}: no event in ${answer.text.slice(0, 300)}`).toBeDefined();
                if (first!.event === "serialized-error") {
                  const status = first!.data?.data?.httpStatus;
                  expect(status, `${label}: ${JSON.stringify(first!.data)}`).toBeGreaterThanOrEqual(400);
                  expect(status, `${label}: ${JSON.stringify(first!.data)}`).toBeLessThan(500);
                  expectClearMessage(first!.data?.message, label, convoy.database.schemaName);
                }
                return true;
              },
            );
          },
        ),
        { numRuns: RUNS },
      );
      await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
    });

    it("GET /api/subscribe with a hostile query string: 4xx before the stream opens, or clear queryError events", async () => {
      const watchArb = fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .record({ id: fc.oneof(fc.constantFrom("a", "b", "0"), hostileString), call: callArb(ids) })
            .map(({ id, call }) => ({ id, path: call.path, args: call.args })),
        },
        { weight: 1, arbitrary: hostileValue },
      );
      const queryArb = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.tuple(callArb(ids), fc.option(hostileString, { freq: 3 })).map(([call, id]) => ({
            text: `path=${urlEncode(call.path)}${call.args === undefined ? "" : `&args=${urlEncode(toJson(call.args))}`}${id === null ? "" : `&id=${urlEncode(id)}`}`,
            watches: 1,
          })),
        },
        {
          weight: 3,
          arbitrary: fc.array(watchArb, { maxLength: 5 }).map((watches) => ({
            text: `watches=${urlEncode(toJson(watches))}`,
            watches: watches.length,
          })),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              fc.constantFrom("path", "args", "watches", "id", "path=notes.mine&watches"),
              fc.oneof(hostileString, malformedJson),
            )
            .map(([name, value]) => ({ text: `${name}=${urlEncode(value)}`, watches: -1 })),
        },
        {
          weight: 1,
          arbitrary: fc.string({ unit: "binary-ascii", maxLength: 40 }).map((text) => ({ text, watches: -1 })),
        },
      );
      await fc.assert(
        fc.asyncProperty(queryArb, identityArb, async (query, identity) => {
          const label = describeRequest("GET", `/api/subscribe?${query.text}`);
          await attempt(
            label,
            () =>
              exchange(`${convoy.url}/api/subscribe?${query.text}`, { headers: identity }, (events) => {
                const answered = events.filter((event) => event.event === "result" || event.event === "queryError");
                return events.some((event) => event.event === "ready") && answered.length >= Math.max(query.watches, 0);
              }),
            (answer) => {
              if (answer.status !== 200) return checkNative(label, answer);
              expect(answer.contentType, label).toMatch(/^text\/event-stream/);
              for (const event of answer.events.filter((event) => event.event === "queryError")) {
                expect(event.data.error.code, `${label}: ${JSON.stringify(event.data)}`).not.toBe(
                  "INTERNAL_SERVER_ERROR",
                );
                expectClearMessage(event.data.error.message, label, convoy.database.schemaName);
              }
              // The stream opened: watches only read.
              return false;
            },
          );
        }),
        { numRuns: RUNS * 2 },
      );
      expectBothOutcomes();
      await expect.poll(() => convoy.convoy.streams, { timeout: 5000 }).toBe(0);
      await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
    });

    it("POST /api/subscribe/:streamId with hostile bodies and stream ids: 4xx, and the stream stays whole", async () => {
      const controller = new AbortController();
      const response = await fetch(`${convoy.url}/api/subscribe`, { signal: controller.signal });
      const reader = response.body!.getReader();
      let streamText = "";
      const decoder = new TextDecoder();
      const reading = (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          streamText += decoder.decode(value, { stream: true });
        }
      })();
      await expect.poll(() => /"streamId":"([^"]+)"/.exec(streamText)?.[1], { timeout: 5000 }).toBeDefined();
      const streamId = /"streamId":"([^"]+)"/.exec(streamText)![1]!;

      const watchArb = fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .record({ id: fc.oneof(fc.constantFrom("a", "b"), hostileString), call: callArb(ids) })
            .map(({ id, call }) => ({ id, path: call.path, args: call.args })),
        },
        { weight: 1, arbitrary: hostileValue },
      );
      const bodyArb = fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .record(
              {
                add: fc.array(watchArb, { maxLength: 3 }),
                remove: fc.array(fc.oneof(fc.constantFrom("a", "b"), hostileString), { maxLength: 2 }),
              },
              { requiredKeys: [] },
            )
            .map(toJson),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.constantFrom(...NASTY_KEYS), hostileValue)
            .map(([key, value]) => toJson(ownObject([[key, value]]))),
        },
        { weight: 1, arbitrary: anyValue.map(toJson) },
        { weight: 1, arbitrary: malformedJson },
      );
      const idArb = fc.oneof(
        { weight: 5, arbitrary: fc.constant(streamId) },
        { weight: 1, arbitrary: hostileString.map(urlEncode) },
        { weight: 1, arbitrary: fc.constantFrom("%E0%A4%A", "%", "..%2F..%2Fapi%2Fmutation") },
      );
      await fc.assert(
        fc.asyncProperty(
          idArb,
          bodyArb,
          fc.constantFrom<Record<string, string>>({}, {}, { "x-user": "mallory" }),
          async (id, body, identity) => {
            const label = describeRequest("POST", `/api/subscribe/${id}`, body);
            await attempt(
              label,
              () =>
                exchange(`${convoy.url}/api/subscribe/${id}`, {
                  method: "POST",
                  headers: { "content-type": "application/json", ...identity },
                  body,
                }),
              (answer) => {
                if (answer.status === 200) {
                  expect(answer.json, label).toMatchObject({ ok: true });
                  return false;
                }
                return checkNative(label, answer);
              },
            );
          },
        ),
        { numRuns: RUNS * 2 },
      );
      expectBothOutcomes();
      // Errors of refused watches (queryError events) and of failed queries (in transitions).
      const complete = streamText.slice(0, streamText.lastIndexOf("\n\n"));
      for (const { type, data } of complete.split("\n\n").flatMap(blockWatchEvents)) {
        if (type !== "queryError") continue;
        expect(data.error.code, JSON.stringify(data)).not.toBe("INTERNAL_SERVER_ERROR");
        expectClearMessage(data.error.message, "watch error", convoy.database.schemaName);
      }
      controller.abort();
      await reading;
      await expect.poll(() => convoy.convoy.streams, { timeout: 5000 }).toBe(0);
      await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
    });

    it("X-Convoy-Streams (a mutation's stream ids): malformed is a 400 naming the header, nothing written", async () => {
      const call = JSON.stringify({ path: "notes.add", args: { title: "named streams" } });
      const send = (streams: string) =>
        exchange(`${convoy.url}/api/mutation`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-user": "alice", "x-convoy-streams": streams },
          body: call,
        });
      const before = await convoy.dump();
      for (const bad of ["not an id!", "a,,b", "x".repeat(65), Array(65).fill("abc").join(","), "\u00e9t\u00e9"]) {
        const answer = await send(bad);
        expect(answer.status, bad).toBe(400);
        expect(answer.json.error.message).toContain("x-convoy-streams");
      }
      expect(await convoy.dump()).toEqual(before);
      // Well formed but unknown here: the mutation runs, and no stream is named unaffected.
      const fine = await send("AAAAAAAAAAAAAAAAAAAAAA, BBBBBBBBBBBBBBBBBBBBBB");
      expect(fine.status).toBe(200);
      expect(fine.json.unaffected).toBeUndefined();
    });

    it("unknown paths and methods: 4xx with a message, never a 5xx", async () => {
      const pathArb2 = fc.oneof(
        fc.constantFrom(
          "/api/",
          "/api/xyz",
          "/api/query/extra",
          "/api/subscribe/",
          "/trpc",
          "/trpc/",
          "/trpc/%E0%A4%A",
          "/%",
          "/api/%",
          "/trpc/notes.mine%00",
          "/api/subscribe/%E0%A4%A",
        ),
        hostileString.map((text) => `/api/${urlEncode(text)}`),
        hostileString.map((text) => `/trpc/${urlEncode(text)}`),
        hostileString.map((text) => `/${urlEncode(text)}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
          pathArb2,
          async (method, path) => {
            const label = describeRequest(method, path);
            await attempt(
              label,
              () =>
                exchange(`${convoy.url}${path}`, {
                  method,
                  ...(method === "POST" || method === "PUT" || method === "PATCH"
                    ? { body: "{}", headers: { "content-type": "application/json" } }
                    : {}),
                }),
              (answer) => {
                if (answer.status < 400 || method === "HEAD") return answer.status >= 400;
                expect(answer.text.trim().length, `${label}: empty body`).toBeGreaterThan(0);
                const message = answer.json?.error?.message ?? answer.text;
                expectClearMessage(message, label, convoy.database.schemaName);
                return true;
              },
            );
          },
        ),
        { numRuns: RUNS },
      );
    });

    it("reported no unexpected errors, and still serves a normal call", async () => {
      const hello = await exchange(`${convoy.url}/api/mutation`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-user": "alice" },
        body: JSON.stringify({ path: "notes.add", args: { title: "still here" } }),
      });
      expect(hello.status).toBe(200);
      expect(convoy.unexpected.map((error) => String((error as Error)?.stack ?? error))).toEqual([]);
    });
  });
}
