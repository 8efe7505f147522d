import type { AddressInfo } from "node:net";
import type { IncomingMessage, Server } from "node:http";
import { initTRPC } from "@trpc/server";
import { z } from "zod";
import {
  ConvoyError,
  defineRef,
  functionBuilders,
  functionReferences,
  type ApiFromFunctions,
  type UserIdentity,
} from "../../runtime/index.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { convoyTRPC } from "../../runtime/server/expressApp.js";
import { createConvoyRouter } from "../../runtime/server/trpcRouter.js";
import type { testSchema } from "./testSchema.js";

const { query, mutation, internalQuery, internalMutation } = functionBuilders<typeof testSchema>();

/** The error message a crashing handler throws; it must never reach a client outside dev mode. */
export const SECRET_DETAIL = "secret SQL detail";

/** A small app over the test schema, as `convoy/_generated/functions.ts` would export it. */
export const testFunctions = {
  users: {
    create: mutation({
      args: { name: z.string().min(1), createdAt: z.number().int().default(1), email: z.email().optional() },
      handler: (ctx, args) => ctx.db.insert("users", args),
    }),
    get: query({
      args: { id: defineRef("users") },
      handler: (ctx, args) => ctx.db.get(args.id),
    }),
    list: query({
      handler: (ctx) => ctx.db.query("users").fullTableScan().collect(),
    }),
    whoami: query({
      handler: (ctx) => ctx.auth,
    }),
    /** Writes, then throws a custom ConvoyError: the write must be rolled back. */
    fail: mutation({
      args: { name: z.string() },
      handler: async (ctx, args) => {
        await ctx.db.insert("users", { name: args.name, createdAt: 1 });
        throw new ConvoyError({ code: "ALREADY_EXISTS", message: `A user named ${args.name} already exists` });
      },
    }),
    /** Writes, then throws a plain Error whose message is a server-side secret. */
    crash: mutation({
      handler: async (ctx) => {
        await ctx.db.insert("users", { name: "crash", createdAt: 1 });
        throw new Error(SECRET_DETAIL);
      },
    }),
    /** Throws a ConvoyError carrying application data for the client. */
    claim: mutation({
      args: { name: z.string() },
      handler: (_ctx, args): never => {
        throw new ConvoyError({
          code: "CONFLICT",
          message: `${args.name} is taken`,
          data: { code: "NAME_TAKEN", field: "name" },
        });
      },
    }),
    createTwoThenThrow: mutation({
      args: { name: z.string() },
      handler: async (ctx, args) => {
        await ctx.db.insert("users", { name: `${args.name} 1`, createdAt: 1 });
        await ctx.db.insert("users", { name: `${args.name} 2`, createdAt: 2 });
        throw new ConvoyError({ code: "CONFLICT", message: "Gave up after two inserts" });
      },
    }),
  },
  admin: {
    secret: internalQuery({
      handler: () => "the internal secret",
    }),
    wipe: internalMutation({
      handler: async (ctx) => {
        for (const user of await ctx.db.query("users").fullTableScan().collect()) await ctx.db.delete(user._id);
        return null;
      },
    }),
  },
};

export type TestFunctions = typeof testFunctions;

/** What generated `convoy/_generated/api.js` exports for {@link testFunctions}. */
export const api = functionReferences<ApiFromFunctions<TestFunctions>>({
  users: {
    create: "mutation",
    get: "query",
    list: "query",
    whoami: "query",
    fail: "mutation",
    crash: "mutation",
    claim: "mutation",
    createTwoThenThrow: "mutation",
  },
});

/** The references to internal functions (`internal` in generated code). */
export const internal = functionReferences<ApiFromFunctions<TestFunctions, "internal">>({
  admin: { secret: "query", wipe: "mutation" },
});

/** The router `convoy serve` mounts at /trpc for {@link testFunctions} (generated `router.ts`). */
export const testRouter = createConvoyRouter(convoyTRPC, testFunctions);
export type TestRouter = typeof testRouter;

/** The `x-user` value {@link headerAuth} refuses with UNAUTHORIZED (a revoked token, say). */
export const BANNED_USER = "banned";

/**
 * Header-based identity for tests: `x-user: alice` is `{ subject: "alice" }`, no header
 * is anonymous, and `x-user: banned` is refused as an auth hook refuses a bad token.
 */
export function headerAuth(request: IncomingMessage): UserIdentity | null {
  const user = request.headers["x-user"];
  if (user === BANNED_USER) throw new ConvoyError({ code: "UNAUTHORIZED", message: "This token was revoked" });
  return typeof user === "string" && user !== "" ? { subject: user } : null;
}

/** The context of a host app that merges Convoy into its own tRPC router. */
export interface HostContext {
  user: { id: string } | null;
}

/** A host app's tRPC router with Convoy merged in under `convoy`, its user passed on as the identity. */
export function createHostRouter(runtime: ConvoyRuntime) {
  const t = initTRPC.context<HostContext>().create();
  return t.router({
    hello: t.procedure.query(() => "hi"),
    convoy: createConvoyRouter(t, testFunctions, {
      runtime,
      auth: (ctx) => (ctx.user ? { subject: ctx.user.id } : null),
    }),
  });
}
export type HostRouter = ReturnType<typeof createHostRouter>;

/** A real HTTP server on an ephemeral port of 127.0.0.1. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:54321`, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Listens with an express app (`app.listen`) on an ephemeral port of 127.0.0.1. */
export async function listen(app: {
  listen: (port: number, host: string, callback: (error?: Error) => void) => Server;
}): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    // Express 5 calls back with the error when listening fails.
    const started: Server = app.listen(0, "127.0.0.1", (error?: Error) => (error ? reject(error) : resolve(started)));
  });
  const { port } = server.address() as AddressInfo;
  const running: RunningServer = {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
  return running;
}

/** POSTs `body` (JSON-encoded unless already a string) and returns the status and parsed JSON. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; contentType: string | null }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, body: parsed, contentType: response.headers.get("content-type") };
}
