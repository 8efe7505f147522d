import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestDriverFactory } from "../support/testDatabases.js";
import { callApi, exchange, expectClearMessage, type Answer } from "./exchange.js";
import { nested, ownObject } from "./hostileValues.js";
import { startSecurityServer, type SecurityServer } from "./securityServer.js";

/** Random text that does not compress: too large for one btree index entry (about 2,700 bytes). */
function incompressible(length: number): string {
  let text = "";
  while (text.length < length) text += Math.random().toString(36).slice(2);
  return text.slice(0, length);
}

/**
 * One test per bug the fuzzer found, on one driver: each failed (a 500, a silent wrong
 * answer, a leaked watch) before its fix.
 */
export function describeRegressionSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`hostile-input regressions on ${factory.name}`, () => {
    let convoy: SecurityServer;
    let userId: string;
    let noteId: string;

    beforeAll(async () => {
      convoy = await startSecurityServer(factory);
    });
    afterAll(async () => {
      await convoy?.close();
    });
    beforeEach(async () => {
      await convoy.database.driver.exec(
        `DELETE FROM "${convoy.database.schemaName}"."notes"; DELETE FROM "${convoy.database.schemaName}"."users"`,
      );
      userId = (await convoy.runtime.call(
        "fuzz.insertInto",
        { table: "users", doc: { name: "Ada" } },
        { kind: "mutation" },
      )) as string;
      noteId = (await convoy.runtime.call(
        "fuzz.insertNote",
        { doc: { owner: "alice", title: "hello", rank: 1 } },
        { kind: "mutation" },
      )) as string;
    });

    /** Checks a 4xx with a clear message matching `pattern`, and that the database did not change. */
    async function expectRefused(send: () => Promise<Answer>, status: number, pattern: RegExp): Promise<Answer> {
      const before = await convoy.dump();
      const answer = await send();
      expect(answer.status, answer.text.slice(0, 500)).toBe(status);
      expectClearMessage(answer.json?.error?.message, answer.text.slice(0, 200), convoy.database.schemaName);
      expect(answer.json.error.message).toMatch(pattern);
      expect(await convoy.dump()).toEqual(before);
      return answer;
    }
    const query = (path: string, args: unknown) => callApi(convoy.url, "query", path, args);
    const mutation = (path: string, args: unknown) => callApi(convoy.url, "mutation", path, args);

    it("strings Postgres cannot hold (NUL, unpaired surrogates) are a 400 in documents, keys and query values", async () => {
      for (const [bad, pattern] of [
        ["a\u0000b", /NUL character/],
        ["x\ud800y", /unpaired UTF-16 surrogate/],
      ] as const) {
        await expectRefused(
          () => mutation("fuzz.insertNote", { doc: { owner: "o", title: bad, rank: 1 } }),
          400,
          pattern,
        );
        await expectRefused(
          () => mutation("fuzz.insertNote", { doc: { owner: "o", title: "t", rank: 1, extra: { [bad]: 1 } } }),
          400,
          pattern,
        );
        await expectRefused(() => mutation("fuzz.patch", { id: noteId, fields: { title: bad } }), 400, pattern);
        await expectRefused(() => query("fuzz.byTitle", { title: bad }), 400, pattern);
        await expectRefused(() => query("fuzz.filter", { field: "title", value: [bad] }), 400, pattern);
        // An _id bound is a text parameter: a surrogate would silently become U+FFFD there.
        await expectRefused(() => query("fuzz.idRange", { from: `users_${bad}` }), 400, pattern);
      }
      const stored = await query("fuzz.byTitle", { title: "hello" });
      expect(stored.json.value.map((note: { title: string }) => note.title)).toEqual(["hello"]);
    });

    it("a value too large for an index entry is a 400 that says so, and the whole mutation rolls back", async () => {
      const answer = await expectRefused(
        () => mutation("fuzz.insertThenWrite", { doc: { owner: "o", title: incompressible(6000), rank: 1 } }),
        400,
        /index entry holds at most about 2,700 bytes/,
      );
      expect(answer.json.error.code).toBe("BAD_REQUEST");
      // The same text in a field no index covers is fine.
      const ok = await mutation("fuzz.insertNote", {
        doc: { owner: "o", title: "t", rank: 1, extra: incompressible(6000) },
      });
      expect(ok.status).toBe(200);
    });

    it("values nested too deep are a 400 before anything walks them; 64 levels are stored and read back", async () => {
      await expectRefused(
        () =>
          exchange(`${convoy.url}/api/mutation`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: `{"path":"fuzz.insertNote","args":{"doc":{"owner":"o","title":"t","rank":1,"extra":${nested(20_000).text}}}}`,
          }),
        400,
        /nest deeper than 100 levels/,
      );
      // With a mutation id the arguments are fingerprinted first: that must not walk them either.
      await expectRefused(
        () =>
          exchange(`${convoy.url}/api/mutation`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: `{"path":"fuzz.insertNote","mutationId":"deep-args-0000000001","args":{"doc":${nested(20_000).text}}}`,
          }),
        400,
        /nest deeper than 100 levels/,
      );
      await expectRefused(
        () =>
          exchange(`${convoy.url}/api/mutation`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: `{"path":"fuzz.insertNote","args":{"doc":{"owner":"o","title":"t","rank":1,"extra":${nested(80).text}}}}`,
          }),
        400,
        /extra\[0\].* nests deeper than 64 levels/,
      );
      await expectRefused(
        () =>
          exchange(`${convoy.url}/api/query`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: `{"path":"fuzz.byTitle","args":{"title":${nested(80).text}}}`,
          }),
        400,
        /nests deeper than 64 levels/,
      );
      const deepest = JSON.parse(nested(63).text) as unknown;
      const id = await mutation("fuzz.insertNote", { doc: { owner: "deep", title: "t", rank: 1, extra: deepest } });
      expect(id.status).toBe(200);
      const read = await query("fuzz.get", { id: id.json.value });
      expect(read.json.value.extra).toEqual(deepest);
    });

    it("take and paginate accept any whole number of documents (LIMIT was a 32-bit integer)", async () => {
      const many = await query("fuzz.take", { n: 2 ** 40 });
      expect(many.status, many.text).toBe(200);
      expect(many.json.value).toHaveLength(1);
      const page = await query("fuzz.page", { cursor: null, numItems: 2 ** 31 });
      expect(page.status, page.text).toBe(200);
      expect(page.json.value).toMatchObject({ isDone: true });
    });

    it("arithmetic on a value that is no number is a 400, not a 500", async () => {
      await expectRefused(() => query("fuzz.compare", { value: "abc" }), 400, /Postgres refused a value/);
      expect((await query("fuzz.compare", { value: 1 })).status).toBe(200);
    });

    it("a filter on a field path that is not a string is a 400, not a 500", async () => {
      for (const field of [0, null, ["title"], { a: 1 }]) {
        await expectRefused(() => query("fuzz.filter", { field, value: "" }), 400, /is not a field path/);
      }
      expect(convoy.unexpected).toEqual([]);
    });

    it("patching a __proto__ key is refused, not applied as the prototype (which injected fields)", async () => {
      const fields = ownObject([["__proto__", { userId }]]);
      await expectRefused(() => mutation("fuzz.patch", { id: noteId, fields }), 400, /__proto__/);
      const note = await query("fuzz.get", { id: noteId });
      expect(note.json.value).not.toHaveProperty("userId");
      // A __proto__ key inside a field that takes any JSON is just a key, stored and read back.
      const extra = ownObject([["__proto__", { polluted: true }]]);
      const patched = await mutation("fuzz.patch", { id: noteId, fields: { extra } });
      expect(patched.status, patched.text).toBe(200);
      const read = await query("fuzz.get", { id: noteId });
      expect(Object.keys(read.json.value.extra)).toEqual(["__proto__"]);
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it("a tRPC path that is not valid percent-encoding is a 400, not a 500", async () => {
      const answer = await exchange(`${convoy.url}/trpc/%E0%A4%A`);
      expect(answer.status).toBe(400);
      expect(answer.json.error.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
      expectClearMessage(answer.json.error.message, "tRPC path", convoy.database.schemaName);
      expect(convoy.unexpected).toEqual([]);
    });

    it("a body in another charset is a 415 that asks for UTF-8", async () => {
      const answer = await exchange(`${convoy.url}/api/query`, {
        method: "POST",
        headers: { "content-type": "application/json; charset=klingon" },
        body: "{}",
      });
      expect(answer.status).toBe(415);
      expect(answer.json.error.message).toMatch(/UTF-8/);
    });

    describe("SSE watch lists", () => {
      const openStream = async (query: string) => {
        const controller = new AbortController();
        const response = await fetch(`${convoy.url}/api/subscribe${query}`, { signal: controller.signal });
        let text = "";
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        void (async () => {
          for (;;) {
            const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
            if (done) return;
            text += decoder.decode(value, { stream: true });
          }
        })();
        return { response, text: () => text, close: () => controller.abort() };
      };
      const update = (streamId: string, body: unknown) =>
        exchange(`${convoy.url}/api/subscribe/${streamId}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });

      it("a watch id given twice is a 400 (the first watch used to leak in the engine)", async () => {
        const watches = JSON.stringify([
          { id: "a", path: "notes.mine", args: {} },
          { id: "a", path: "notes.count", args: {} },
        ]);
        const answer = await exchange(`${convoy.url}/api/subscribe?watches=${encodeURIComponent(watches)}`);
        expect(answer.status).toBe(400);
        expect(answer.json.error.message).toMatch(/given twice/);

        const stream = await openStream("");
        await expect.poll(() => /"streamId":"([^"]+)"/.exec(stream.text())?.[1]).toBeDefined();
        const streamId = /"streamId":"([^"]+)"/.exec(stream.text())![1]!;
        const twice = await update(streamId, {
          add: [
            { id: "b", path: "notes.mine" },
            { id: "b", path: "notes.count" },
          ],
        });
        expect(twice.status).toBe(400);
        stream.close();
        await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
      });

      it("a refused update changes nothing: its removals are not applied either", async () => {
        const stream = await openStream(`?path=notes.count&id=kept`);
        await expect.poll(() => /event: transition/.test(stream.text())).toBe(true);
        const streamId = /"streamId":"([^"]+)"/.exec(stream.text())![1]!;
        const refused = await update(streamId, { remove: ["kept"], add: [{ id: "new", path: "admin.secret" }] });
        expect(refused.status).toBe(404);
        const unchanged = await update(streamId, {});
        expect(unchanged.json).toEqual({ ok: true, watches: ["kept"] });
        // Removing a watch and reusing its id in one update is allowed.
        const swapped = await update(streamId, { remove: ["kept"], add: [{ id: "kept", path: "notes.mine" }] });
        expect(swapped.json).toEqual({ ok: true, watches: ["kept"] });
        stream.close();
        await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
      });

      it("HEAD /api/subscribe answers at once and holds no stream open", async () => {
        const head = await exchange(`${convoy.url}/api/subscribe?path=notes.count`, { method: "HEAD" });
        expect(head.status).toBe(200);
        expect(convoy.convoy.streams).toBe(0);
        expect(convoy.engine.stats().watches).toBe(0);
      });

      it("?id of the single-watch form follows the same rules as other watch ids", async () => {
        const answer = await exchange(
          `${convoy.url}/api/subscribe?path=notes.count&id=${encodeURIComponent("<script>")}`,
        );
        expect(answer.status).toBe(400);
        expect(answer.json.error.message).toMatch(/"id" of 1-64 letters/);
      });
    });
  });
}
