// Subscriptions through a host's own /trpc (convoy.router(t)) count toward the client's
// live streams, as Convoy's own /api/subscribe and /trpc do.
import type { Server } from "node:http";
import { createTRPCClient, httpSubscriptionLink } from "@trpc/client";
import type { AnyTRPCRouter } from "@trpc/server";
import { initTRPC } from "@trpc/server";
import { createExpressMiddleware, type CreateExpressContextOptions } from "@trpc/server/adapters/express";
import { EventSource } from "eventsource";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const createContext = ({ req }: CreateExpressContextOptions) => {
  const user = req.headers["x-user"];
  return { user: typeof user === "string" ? user : null };
};

let started: TestServer<typeof liveTestFunctions>;
let server: Server;
let url: string;

beforeAll(async () => {
  started = await startTestServer(pgliteFactory, liveTestFunctions, {
    listen: false,
    maxStreamsPerClient: 2,
    context: createContext,
    auth: (ctx: { user: string | null }) => (ctx.user ? { subject: ctx.user } : null),
  });
  const t = initTRPC.context<typeof createContext>().create();
  const router = t.router({ convoy: started.convoy.router(t) });
  const app = express();
  app.use("/trpc", createExpressMiddleware({ router, createContext }));
  app.use(started.convoy.handler);
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await started?.convoy.close({ timeoutMs: 1000 });
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await started?.database.dispose();
});

function subscriber(user: string) {
  return createTRPCClient<AnyTRPCRouter>({
    links: [
      httpSubscriptionLink({
        url: `${url}/trpc`,
        EventSource,
        eventSourceOptions: {
          fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, "x-user": user } }),
        },
      }),
    ],
  }) as any;
}

describe("host /trpc subscriptions and the per-client stream limit", () => {
  it("the client's third live subscription is refused with TOO_MANY_REQUESTS; closing one makes room", async () => {
    const bob = subscriber("bob");
    const values: unknown[] = [];
    const errors: { data?: { code?: string }; message: string }[] = [];
    const open = [0, 1].map(() =>
      bob.convoy.live.users.me.subscribe(undefined, { onData: (v: unknown) => values.push(v) }),
    );
    await expect.poll(() => values.length, { timeout: 10_000 }).toBe(2);
    const third = bob.convoy.live.users.me.subscribe(undefined, {
      onData: (v: unknown) => values.push(v),
      onError: (error: { data?: { code?: string }; message: string }) => errors.push(error),
    });
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBe(1);
    expect(errors[0]!.data?.code).toBe("TOO_MANY_REQUESTS");
    expect(errors[0]!.message).toContain("already has 2 live streams open");
    third.unsubscribe();
    // Another user is not affected.
    const alice: unknown[] = [];
    const aliceSubscription = subscriber("alice").convoy.live.users.me.subscribe(undefined, {
      onData: (v: unknown) => alice.push(v),
    });
    await expect.poll(() => alice, { timeout: 10_000 }).toEqual(["alice"]);
    open[0].unsubscribe();
    const fourth: unknown[] = [];
    const again = bob.convoy.live.users.me.subscribe(undefined, { onData: (v: unknown) => fourth.push(v) });
    await expect.poll(() => fourth, { timeout: 10_000 }).toEqual(["bob"]);
    again.unsubscribe();
    open[1].unsubscribe();
    aliceSubscription.unsubscribe();
  });
});
