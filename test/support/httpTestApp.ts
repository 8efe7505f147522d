import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import {
  ConvoyError,
  functionBuilders,
  functionReferences,
  httpAction,
  httpRouter,
  type ApiFromFunctions,
} from "../../runtime/index.js";
import type { testSchema } from "./testSchema.js";

const { query, mutation, internalMutation, internalAction } = functionBuilders<typeof testSchema>();

/** Functions the HTTP route tests and the convoyTest tests call. */
export const httpTestFunctions = {
  users: {
    create: mutation({
      args: { name: z.string().min(1, "A user needs a name") },
      handler: (ctx, args) => ctx.db.insert("users", { name: args.name, createdAt: 1 }),
    }),
    byName: query({
      args: { name: z.string() },
      handler: async (ctx, args) =>
        (
          await ctx.db
            .query("users")
            .withIndex("by_name", (q) => q.eq("name", args.name))
            .collect()
        ).map((user) => user.name),
    }),
    count: query({ handler: async (ctx) => (await ctx.db.query("users").collect()).length }),
    whoAmI: query({ handler: (ctx) => ctx.auth?.subject ?? null }),
    /** Creates a user named after the caller; refuses anonymous callers. */
    createMe: mutation({
      handler: (ctx) => {
        if (ctx.auth === null) throw new ConvoyError({ code: "UNAUTHORIZED", message: "Sign in first" });
        return ctx.db.insert("users", { name: ctx.auth.subject, createdAt: 2 });
      },
    }),
    /** Writes, then fails: the write must not stay. */
    createThenFail: mutation({
      args: { name: z.string() },
      handler: async (ctx, args) => {
        await ctx.db.insert("users", { name: args.name, createdAt: 3 });
        throw new ConvoyError({ code: "CONFLICT", message: "Refused after writing" });
      },
    }),
  },
  payments: {
    record: internalMutation({
      args: { name: z.string(), bytes: z.number() },
      handler: (ctx, args) => ctx.db.insert("counters", { name: args.name, value: args.bytes }),
    }),
    /** An action a route runs: records through a mutation, and schedules a second record. */
    recordLater: internalAction({
      args: { name: z.string() },
      handler: async (ctx, args) => {
        await ctx.runMutation(httpTestInternal.payments.record, { name: args.name, bytes: 1 });
        await ctx.scheduler.runAfter(0, httpTestInternal.payments.record, { name: args.name, bytes: 2 });
      },
    }),
  },
};

export const httpTestApi = functionReferences<ApiFromFunctions<typeof httpTestFunctions>>({
  users: {
    create: "mutation",
    byName: "query",
    count: "query",
    whoAmI: "query",
    createMe: "mutation",
    createThenFail: "mutation",
  },
});
export const httpTestInternal = functionReferences<ApiFromFunctions<typeof httpTestFunctions, "internal">>({
  payments: { record: "mutation", recordLater: "action" },
});

/** The webhook secret of {@link httpTestRouter}. */
export const WEBHOOK_SECRET = "whsec_test_0123456789";

/** The hex HMAC-SHA256 of `body` under {@link WEBHOOK_SECRET}, as a payment provider signs. */
export function signWebhook(body: Uint8Array): string {
  return createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex");
}

/** A body no UTF-8 or JSON round trip survives: invalid UTF-8, a BOM, CRLF, tabs, trailing spaces, NUL. */
export const awkwardBody = Buffer.concat([
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from('{ "event" :\t"paid",\r\n  "amount": 1.50 }  \n'),
  Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a, 0x20, 0x20]),
]);

/** The routes the tests serve. */
export const httpTestRouter = httpRouter();

httpTestRouter.route({
  path: "/actions/record",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const { name } = (await request.json()) as { name: string };
    await ctx.runAction(httpTestInternal.payments.recordLater, { name });
    const scheduled = await ctx.scheduler.runAfter(0, httpTestInternal.payments.record, { name, bytes: 3 });
    return Response.json({ scheduled: typeof scheduled === "string" });
  }),
});

httpTestRouter.route({
  path: "/webhooks/payments",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const raw = new Uint8Array(await request.arrayBuffer());
    const expected = Buffer.from(signWebhook(raw), "hex");
    const given = Buffer.from(request.headers.get("x-signature") ?? "", "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return new Response("bad signature", { status: 401 });
    }
    await ctx.runMutation(httpTestInternal.payments.record, { name: "payment", bytes: raw.length });
    return Response.json({ received: raw.length, sha256: createHmac("sha256", "").update(raw).digest("hex") });
  }),
});
httpTestRouter.route({
  path: "/users",
  method: "POST",
  handler: httpAction(async (ctx, request) => {
    const { name } = (await request.json()) as { name: string };
    const id = await ctx.runMutation(httpTestApi.users.create, { name });
    return Response.json({ id }, { status: 201 });
  }),
});
httpTestRouter.route({
  path: "/users",
  method: "GET",
  handler: httpAction(async (ctx, request) => {
    const name = new URL(request.url).searchParams.get("name") ?? "";
    return Response.json(await ctx.runQuery(httpTestApi.users.byName, { name }));
  }),
});
httpTestRouter.route({
  path: "/me",
  method: "GET",
  handler: httpAction(async (ctx) =>
    Response.json({ auth: ctx.auth?.subject ?? null, viaQuery: await ctx.runQuery(httpTestApi.users.whoAmI, {}) }),
  ),
});
httpTestRouter.route({
  pathPrefix: "/files/",
  method: "GET",
  handler: httpAction(async (_ctx, request) => {
    const headers = new Headers({ "content-type": "text/plain", "x-route": "files" });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response(`file ${new URL(request.url).pathname}`, { headers });
  }),
});
httpTestRouter.route({
  path: "/boom",
  method: "GET",
  handler: httpAction(async () => {
    throw new Error("secret database password in this message");
  }),
});
httpTestRouter.route({
  path: "/refused",
  method: "POST",
  handler: httpAction(async (ctx) => {
    await ctx.runMutation(httpTestApi.users.createThenFail, { name: "ghost" });
    return new Response("unreachable");
  }),
});
httpTestRouter.route({
  path: "/not-a-response",
  method: "GET",
  handler: httpAction(async () => "hello" as unknown as Response),
});
