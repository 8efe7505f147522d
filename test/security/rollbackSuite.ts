import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convoyTRPC } from "../../runtime/server/expressApp.js";
import { createConvoyRouter } from "../../runtime/server/trpcRouter.js";
import type { TestDriverFactory } from "../support/testDatabases.js";
import { callApi, expectClearMessage } from "./exchange.js";
import { securityFunctions } from "./securityApp.js";
import { startSecurityServer, type SecurityServer } from "./securityServer.js";

const _routerForTypes = () => createConvoyRouter(convoyTRPC, securityFunctions);
type Router = ReturnType<typeof _routerForTypes>;

/** A write that breaks the schema, after writes that succeeded, undoes the whole mutation. */
export function describeRollbackSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`schema violations roll back on ${factory.name}`, () => {
    let convoy: SecurityServer;
    let noteId: string;

    beforeAll(async () => {
      convoy = await startSecurityServer(factory);
      noteId = (await convoy.runtime.call(
        "fuzz.insertNote",
        { doc: { owner: "alice", title: "original", rank: 1 } },
        { kind: "mutation" },
      )) as string;
    });
    afterAll(async () => {
      await convoy?.close();
    });

    it("an insert with a wrong field type after a good insert: 400 naming the field, nothing written (native)", async () => {
      const before = await convoy.dump();
      const answer = await callApi(convoy.url, "mutation", "fuzz.insertThenViolate", { title: "pair" });
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("BAD_REQUEST");
      expect(answer.json.error.message).toMatch(/^Invalid document for table "notes": rank: /);
      expect(answer.json.error.data.issues).toEqual([{ path: ["rank"], message: expect.any(String) }]);
      expectClearMessage(answer.json.error.message, "insertThenViolate", convoy.database.schemaName);
      expect(await convoy.dump()).toEqual(before);
    });

    it("an insert and a patch, then a patch that breaks the schema: all undone, the document as it was", async () => {
      const before = await convoy.dump();
      const answer = await callApi(convoy.url, "mutation", "fuzz.patchThenViolate", { id: noteId });
      expect(answer.status).toBe(400);
      expect(answer.json.error.message).toMatch(/^Invalid document for table "notes": owner: /);
      expect(await convoy.dump()).toEqual(before);
      const note = await callApi(convoy.url, "query", "fuzz.get", { id: noteId });
      expect(note.json.value).toMatchObject({ title: "original", owner: "alice" });
    });

    it("the same over tRPC: BAD_REQUEST with the issues, nothing written", async () => {
      const trpc = createTRPCClient<Router>({ links: [httpBatchLink({ url: `${convoy.url}/trpc` })] });
      const before = await convoy.dump();
      const error = await trpc.fuzz.insertThenViolate.mutate({ title: "pair" }).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(TRPCClientError);
      const trpcError = error as TRPCClientError<Router>;
      expect(trpcError.data?.httpStatus).toBe(400);
      expect(trpcError.message).toMatch(/^Invalid document for table "notes": rank: /);
      expect(await convoy.dump()).toEqual(before);
    });

    it("a write the database refuses after good writes (an oversized index entry) also undoes them", async () => {
      const before = await convoy.dump();
      let title = "";
      while (title.length < 6000) title += Math.random().toString(36).slice(2);
      const answer = await callApi(convoy.url, "mutation", "fuzz.insertThenWrite", {
        doc: { owner: "o", title, rank: 1 },
      });
      expect(answer.status).toBe(400);
      expect(await convoy.dump()).toEqual(before);
    });
  });
}
