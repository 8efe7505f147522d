import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDriverFactory } from "../support/testDatabases.js";
import { callApi, exchange } from "./exchange.js";
import { openSse, trpcClient } from "./liveClients.js";
import { startSecurityServer, type SecurityServer } from "./securityServer.js";

const ALICE = { "x-user": "alice" };
const BOB = { "x-user": "bob" };

/** Watches run as the watcher; internal functions are out of every client's reach. */
export function describeIsolationSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`isolation on ${factory.name}`, () => {
    let convoy: SecurityServer;

    beforeAll(async () => {
      convoy = await startSecurityServer(factory);
      for (const headers of [ALICE, BOB]) {
        const added = await callApi(
          convoy.url,
          "mutation",
          "notes.add",
          { title: `${headers["x-user"]}'s first` },
          headers,
        );
        expect(added.status).toBe(200);
      }
    });
    afterAll(async () => {
      await convoy?.close();
    });

    it("two users watching the same query with the same args over GET /api/subscribe each see only their own data", async () => {
      const alice = openSse(convoy.url, "?path=notes.mine&args=%7B%7D", ALICE);
      const bob = openSse(convoy.url, "?path=notes.mine&args=%7B%7D", BOB);
      // The same watch added to a multiplexed stream, under the same watch id.
      const aliceMux = openSse(convoy.url, "", ALICE);
      const { streamId } = await aliceMux.next("ready");
      const add = await exchange(`${convoy.url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...ALICE },
        body: JSON.stringify({ add: [{ id: "0", path: "notes.mine", args: {} }] }),
      });
      expect(add.status).toBe(200);

      expect(await alice.next("result")).toEqual({ id: "0", value: ["alice's first"] });
      expect(await bob.next("result")).toEqual({ id: "0", value: ["bob's first"] });
      expect(await aliceMux.next("result")).toEqual({ id: "0", value: ["alice's first"] });
      // One shared run per identity, not one for everyone.
      expect(convoy.engine.stats().watches).toBe(2);

      // One mutation changes both users' notes.
      const both = await callApi(convoy.url, "mutation", "notes.addForEach", {
        owners: ["alice", "bob"],
        title: "shared",
      });
      expect(both.status).toBe(200);
      expect(await alice.next("result")).toEqual({ id: "0", value: ["alice's first", "shared for alice"] });
      expect(await bob.next("result")).toEqual({ id: "0", value: ["bob's first", "shared for bob"] });
      expect(await aliceMux.next("result")).toEqual({ id: "0", value: ["alice's first", "shared for alice"] });

      const seen = (client: typeof alice) => JSON.stringify(client.events);
      expect(seen(alice)).not.toContain("bob");
      expect(seen(aliceMux)).not.toContain("bob");
      expect(seen(bob)).not.toContain("alice");
      for (const client of [alice, bob, aliceMux]) client.close();
      await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
    });

    it("the same over tRPC subscriptions (live.notes.mine), side by side with an SSE watcher", async () => {
      const received = { alice: [] as string[][], bob: [] as string[][] };
      const subscriptions = (["alice", "bob"] as const).map((user) =>
        trpcClient(convoy.url, { "x-user": user }).live.notes.mine.subscribe(undefined, {
          onData: (titles) => received[user].push(titles),
        }),
      );
      const bobSse = openSse(convoy.url, "?path=notes.mine", BOB);
      await expect
        .poll(() => received.alice.at(-1), { timeout: 10_000 })
        .toEqual(["alice's first", "shared for alice"]);
      await expect.poll(() => received.bob.at(-1), { timeout: 10_000 }).toEqual(["bob's first", "shared for bob"]);
      expect((await bobSse.next("result")).value).toEqual(["bob's first", "shared for bob"]);

      const both = await callApi(convoy.url, "mutation", "notes.addForEach", {
        owners: ["alice", "bob"],
        title: "again",
      });
      expect(both.status).toBe(200);
      await expect
        .poll(() => received.alice.at(-1), { timeout: 10_000 })
        .toEqual(["alice's first", "shared for alice", "again for alice"]);
      await expect
        .poll(() => received.bob.at(-1), { timeout: 10_000 })
        .toEqual(["bob's first", "shared for bob", "again for bob"]);
      expect((await bobSse.next("result")).value).toEqual(["bob's first", "shared for bob", "again for bob"]);
      expect(JSON.stringify(received.alice)).not.toContain("bob");
      expect(JSON.stringify(received.bob)).not.toContain("alice");

      // A user's own write reaches only that user's watch.
      await callApi(convoy.url, "mutation", "notes.add", { title: "alice only" }, ALICE);
      await expect.poll(() => received.alice.at(-1)?.at(-1), { timeout: 10_000 }).toBe("alice only");
      expect(JSON.stringify(received.bob)).not.toContain("alice only");
      for (const subscription of subscriptions) subscription.unsubscribe();
      bobSse.close();
      await expect.poll(() => convoy.engine.stats().watches, { timeout: 5000 }).toBe(0);
    });

    describe("internal functions are unreachable over every endpoint", () => {
      const expectNotFound = (status: number | undefined, body: string) => {
        expect(status, body).toBe(404);
        expect(body).not.toContain("the internal secret");
      };

      it("native POST /api/query and /api/mutation: the answer of a function that does not exist", async () => {
        const before = await convoy.dump();
        for (const kind of ["query", "mutation"] as const) {
          for (const path of ["admin.secret", "admin.wipe"]) {
            const answer = await callApi(convoy.url, kind, path, {}, ALICE);
            expectNotFound(answer.status, answer.text);
            const missing = await callApi(convoy.url, kind, path.replace("admin.", "admin.absent_"), {}, ALICE);
            expect(answer.json.error.message.replace(path, "X")).toBe(
              missing.json.error.message.replace(path.replace("admin.", "admin.absent_"), "X"),
            );
          }
        }
        expect(await convoy.dump()).toEqual(before);
      });

      it("tRPC queries, mutations and batches: 404, nothing runs", async () => {
        const before = await convoy.dump();
        const client = trpcClient(convoy.url, ALICE) as any;
        for (const call of [() => client.admin.secret.query(), () => client.admin.wipe.mutate()]) {
          const error = await call().then(
            () => null,
            (caught: unknown) => caught,
          );
          expect(error).toBeInstanceOf(TRPCClientError);
          expectNotFound((error as TRPCClientError<any>).data?.httpStatus, JSON.stringify(error));
        }
        const batch = await exchange(`${convoy.url}/trpc/notes.count,admin.wipe?batch=1`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ 0: {}, 1: {} }),
        });
        expect(batch.status).toBe(207);
        expect(batch.json[1].error.data.httpStatus).toBe(404);
        const get = await exchange(`${convoy.url}/trpc/admin.secret?input=%7B%7D`);
        expectNotFound(get.status, get.text);
        expect(await convoy.dump()).toEqual(before);
      });

      it("tRPC subscriptions: live.admin.secret does not exist", async () => {
        const answer = await exchange(`${convoy.url}/trpc/live.admin.secret?input=%7B%7D`);
        expectNotFound(answer.status, answer.text);
        const errors: unknown[] = [];
        const subscription = (trpcClient(convoy.url, ALICE) as any).live.admin.secret.subscribe(undefined, {
          onData: () => errors.push("data"),
          onError: (error: unknown) => errors.push(error),
        });
        await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(0);
        subscription.unsubscribe();
        expect(errors).not.toContain("data");
        expect(convoy.engine.stats().watches).toBe(0);
      });

      it("GET /api/subscribe, single and multiplexed (?watches, and POST add): NOT_FOUND, no watch started", async () => {
        const single = await exchange(`${convoy.url}/api/subscribe?path=admin.secret`);
        expectNotFound(single.status, single.text);

        const watches = encodeURIComponent(JSON.stringify([{ id: "s", path: "admin.secret", args: {} }]));
        const multi = openSse(convoy.url, `?watches=${watches}`, ALICE);
        const refused = await multi.next("queryError");
        expect(refused).toMatchObject({ id: "s", error: { code: "NOT_FOUND" } });

        const { streamId } = await multi.next("ready");
        for (const path of ["admin.secret", "admin.wipe"]) {
          const add = await exchange(`${convoy.url}/api/subscribe/${streamId}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...ALICE },
            body: JSON.stringify({ add: [{ id: "w", path, args: {} }] }),
          });
          expectNotFound(add.status, add.text);
        }
        expect(JSON.stringify(multi.events)).not.toContain("the internal secret");
        expect(convoy.engine.stats().watches).toBe(0);
        multi.close();
      });
    });
  });
}
