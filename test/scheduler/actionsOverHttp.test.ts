// Actions as clients call them: POST /api/action (convoy/client), a tRPC mutation;
// internal actions stay off HTTP. And a server's runner runs what its mutations schedule.
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import { convoyTRPC } from "../../runtime/server/expressApp.js";
import { createConvoyRouter } from "../../runtime/server/trpcRouter.js";
import { convoyRejection } from "../support/convoyRejection.js";
import { api, schedulerFunctions } from "../support/schedulerApp.js";
import { testDriverFactories } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";
import { eventually } from "./schedulerSuite.js";

// Only its type is used: the server serves the same router at /trpc.
const _router = createConvoyRouter(convoyTRPC, schedulerFunctions);

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`actions over HTTP on ${factory.name}`, () => {
    let server: TestServer;

    beforeAll(async () => {
      server = await startTestServer(factory, schedulerFunctions, {
        auth: (request) => {
          const user = request.headers["x-user"];
          return typeof user === "string" ? { subject: user } : null;
        },
      });
    });
    afterAll(() => server.close());

    it("client.action calls a public action with the caller's identity; its scheduled job runs on the server", async () => {
      const client = createConvoyClient({ url: server.url, headers: { "x-user": "ada" } });
      const result = await client.action(api.jobs.greet, { name: "http" });
      expect(result).toMatchObject({ greeting: "hello http", counter: null, caller: "ada" });
      await eventually(async () => ((await client.query(api.jobs.counter, { name: "http" })) === 1 ? true : undefined));
    });

    it("an action is a tRPC mutation", async () => {
      const trpc = createTRPCClient<typeof _router>({ links: [httpBatchLink({ url: `${server.url}/trpc` })] });
      const result = await trpc.jobs.greet.mutate({ name: "trpc" });
      expect(result.greeting).toBe("hello trpc");
    });

    it("internal actions, wrong kinds and mutation ids are refused with clear errors", async () => {
      const post = (kind: string, body: unknown) =>
        fetch(`${server.url}/api/${kind}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
      const internal = await post("action", { path: "jobs.slowBump", args: { name: "x" } });
      expect(internal.status).toBe(404);
      const asMutation = await post("mutation", { path: "jobs.greet", args: { name: "x" } });
      expect(asMutation.status).toBe(400);
      expect(((await asMutation.json()) as { error: { message: string } }).error.message).toContain(
        "call it as an action",
      );
      const withId = await post("action", { path: "jobs.greet", args: { name: "x" }, mutationId: "0123456789abcdef0" });
      expect(withId.status).toBe(400);
      const client = createConvoyClient({ url: server.url });
      const badArgs = await convoyRejection(client.action(api.jobs.greet, { name: 1 as never }));
      expect(badArgs.code).toBe("BAD_REQUEST");
    });
  });
}
