// createConvoyServer's own contract: mounted in a host app or listening itself, its
// features' hooks, the refusal to serve missing tables, and a close that drains.
import { once } from "node:events";
import type { Server } from "node:http";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { createExpressMiddleware, type CreateExpressContextOptions } from "@trpc/server/adapters/express";
import { EventSource } from "eventsource";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { createConvoyServer, type ConvoyServerFeature } from "../../runtime/server/convoyServer.js";
import { convoyRejection } from "../support/convoyRejection.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory, type TestDatabase } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";
import { testSchema } from "../support/testSchema.js";

interface HostContext {
  user: { id: string } | null;
}
const createContext = ({ req }: CreateExpressContextOptions): HostContext => {
  const user = req.headers["x-user"];
  return { user: typeof user === "string" ? { id: user } : null };
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listenOn(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** A host express + tRPC app with Convoy mounted in it, one identity for both routes. */
async function hostApp(): Promise<{ started: TestServer<typeof liveTestFunctions>; url: string }> {
  const started = await startTestServer(pgliteFactory, liveTestFunctions, {
    listen: false,
    context: createContext,
    auth: (ctx: HostContext) => (ctx.user ? { subject: ctx.user.id } : null),
  });
  cleanups.push(() => started.close());
  const t = initTRPC.context<HostContext>().create();
  const router = t.router({ hello: t.procedure.query(() => "hi"), convoy: started.convoy.router(t) });
  const app = express();
  app.get("/host", (_request, response) => void response.send("host page"));
  app.use("/trpc", createExpressMiddleware({ router, createContext }));
  app.use(started.convoy.handler);
  const { url } = await listenOn(app);
  return { started, url };
}

describe("createConvoyServer", () => {
  it("mounted in a host app: one identity on tRPC, Convoy's endpoints and live streams", async () => {
    const { url } = await hostApp();
    const call = async (path: string, user?: string) =>
      (await (
        await fetch(`${url}/api/query`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(user ? { "x-user": user } : {}) },
          body: JSON.stringify({ path, args: {} }),
        })
      ).json()) as { value: unknown };
    expect(await call("users.me", "alice")).toEqual({ value: "alice" });
    expect(await call("users.me")).toEqual({ value: null });
    const trpc: any = createTRPCClient<any>({
      links: [
        splitLink({
          condition: (op) => op.type === "subscription",
          true: httpSubscriptionLink({
            url: `${url}/trpc`,
            EventSource,
            eventSourceOptions: {
              fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, "x-user": "bob" } }),
            },
          }),
          false: httpBatchLink({ url: `${url}/trpc`, headers: { "x-user": "bob" } }),
        }),
      ],
    });
    expect(await trpc.convoy.users.me.query()).toBe("bob");
    const seen: unknown[] = [];
    const subscription = trpc.convoy.live.users.me.subscribe(undefined, {
      onData: (value: unknown) => seen.push(value),
    });
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(["bob"]);
    subscription.unsubscribe();
    // The host's own routes are untouched.
    expect(await (await fetch(`${url}/host`)).text()).toBe("host page");
  });

  it("close() ends the host's live subscriptions with a retryable error, refuses Convoy's routes, leaves the host's", async () => {
    const { started, url } = await hostApp();
    const states: string[] = [];
    const trpc: any = createTRPCClient<any>({
      links: [httpSubscriptionLink({ url: `${url}/trpc`, EventSource })],
    });
    const userId = await started.convoy.runtime.call("users.add", { name: "Ada" }, { kind: "mutation" });
    const seen: unknown[] = [];
    const subscription = trpc.convoy.live.projects.byUser.subscribe(
      { userId },
      {
        onData: (value: unknown) => seen.push(value),
        onConnectionStateChange: (state: { state: string }) => states.push(state.state),
      },
    );
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual([[]]);
    const report = await started.convoy.close({ timeoutMs: 1000 });
    expect(report).toMatchObject({ drained: true, unfinished: 0 });
    // tRPC's link treats SERVICE_UNAVAILABLE as "reconnect", not as the subscription's end.
    await expect.poll(() => states.at(-1), { timeout: 10_000 }).toBe("connecting");
    subscription.unsubscribe();
    const refused = await fetch(`${url}/api/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "users.me", args: {} }),
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("SERVICE_UNAVAILABLE");
    expect(await (await fetch(`${url}/host`)).text()).toBe("host page");
  });

  it("starts features after the live engine, mounts their routes, and closes them in reverse before the database", async () => {
    const events: string[] = [];
    const feature = (name: string): ConvoyServerFeature => ({
      name,
      routes: (app, server) =>
        app.get(`/api/${name}`, async (request, response) => {
          response.json({ feature: name, caller: await server.identity(request) });
        }),
      start: (server) => {
        events.push(`start ${name} (engine running: ${server.live.stats().watches >= 0})`);
      },
      close: () => {
        events.push(`close ${name}`);
      },
    });
    const started = await startTestServer(pgliteFactory, liveTestFunctions, {
      features: [feature("first"), feature("second")],
      auth: (request) => (request.headers["x-user"] ? { subject: String(request.headers["x-user"]) } : null),
    });
    cleanups.push(() => started.database.dispose());
    expect(events).toEqual(["start first (engine running: true)", "start second (engine running: true)"]);
    const answer = await fetch(`${started.url}/api/second`, { headers: { "x-user": "ada" } });
    expect(await answer.json()).toEqual({ feature: "second", caller: { subject: "ada" } });
    await started.convoy.close();
    expect(events.slice(2)).toEqual(["close second", "close first"]);
    // close() is idempotent.
    await started.convoy.close();
    expect(events).toHaveLength(4);
  });

  it("refuses a database without the schema's tables, saying to run convoy generate", async () => {
    let database: TestDatabase | undefined;
    try {
      database = await pgliteFactory.open();
      const error = await convoyRejection(
        createConvoyServer({
          driver: database.driver,
          schema: testSchema,
          functions: liveTestFunctions,
          schemaName: database.schemaName,
        }),
      );
      expect(error.code).toBe("PRECONDITION_FAILED");
      expect(error.message).toMatch(/no Convoy tables in schema "convoy" yet\. Run `npx convoy generate`/);
      // The driver it was given stays open for its owner.
      expect(await database.driver.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await database?.dispose();
    }
  });
});
