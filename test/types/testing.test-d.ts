// Types of HTTP actions' ctx and of convoy/test's `t`, from a schema and its functions.
import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  defineRef,
  functionBuilders,
  functionReferences,
  httpAction,
  httpRouter,
  type ApiFromFunctions,
  type Doc,
  type Id,
  type UserIdentity,
} from "../../runtime/index.js";
import { convoyTest } from "../../runtime/testing.js";
import { testSchema } from "../support/testSchema.js";

const { query, mutation, internalMutation } = functionBuilders<typeof testSchema>();

const functions = {
  users: {
    create: mutation({
      args: { name: z.string() },
      handler: (ctx, args) => ctx.db.insert("users", { ...args, createdAt: 1 }),
    }),
    get: query({ args: { userId: defineRef("users") }, handler: (ctx, args) => ctx.db.get(args.userId) }),
    purge: internalMutation({ handler: async () => 3 }),
  },
};
const api = functionReferences<ApiFromFunctions<typeof functions>>({ users: { create: "mutation", get: "query" } });
const internal = functionReferences<ApiFromFunctions<typeof functions, "internal">>({ users: { purge: "mutation" } });

describe("httpAction", () => {
  it("types ctx.run* from references, public and internal, and ctx.auth", () => {
    httpAction(async (ctx, request) => {
      expectTypeOf(request).toEqualTypeOf<Request>();
      expectTypeOf(ctx.auth).toEqualTypeOf<UserIdentity | null>();
      const userId = await ctx.runMutation(api.users.create, { name: "Ada" });
      expectTypeOf(userId).toEqualTypeOf<Id<"users">>();
      const user = await ctx.runQuery(api.users.get, { userId });
      expectTypeOf(user).toEqualTypeOf<Doc<"users"> | null>();
      expectTypeOf(await ctx.runMutation(internal.users.purge, {})).toEqualTypeOf<number>();
      // @ts-expect-error a query is not a mutation
      await ctx.runMutation(api.users.get, { userId });
      // @ts-expect-error name must be a string
      await ctx.runMutation(api.users.create, { name: 1 });
      return new Response("ok");
    });
    // @ts-expect-error a handler returns a Response
    httpAction(async () => "ok");
  });

  it("routes take path or pathPrefix, not both, and known methods", () => {
    const http = httpRouter();
    const handler = httpAction(() => new Response());
    http.route({ path: "/a", method: "POST", handler });
    http.route({ pathPrefix: "/b/", method: "GET", handler });
    // @ts-expect-error path and pathPrefix together
    http.route({ path: "/a", pathPrefix: "/b/", method: "GET", handler });
    // @ts-expect-error not an HTTP method routes answer
    http.route({ path: "/a", method: "TRACE", handler });
  });
});

describe("convoyTest", () => {
  it("types query, mutation, run and withIdentity from the schema and references", async () => {
    const t = convoyTest(testSchema, functions);
    const userId = await t.mutation(api.users.create, { name: "Ada" });
    expectTypeOf(userId).toEqualTypeOf<Id<"users">>();
    expectTypeOf(await t.query(api.users.get, { userId })).toEqualTypeOf<Doc<"users"> | null>();
    expectTypeOf(await t.mutation(internal.users.purge, {})).toEqualTypeOf<number>();
    const projectId = await t.run((ctx) => ctx.db.insert("projects", { name: "x", userId, createdAt: 1, tags: [] }));
    expectTypeOf(projectId).toEqualTypeOf<Id<"projects">>();
    // @ts-expect-error no such table
    await t.run((ctx) => ctx.db.insert("nope", {}));
    // @ts-expect-error userId must be an id of users
    await t.query(api.users.get, { userId: projectId });
    // @ts-expect-error a mutation is not a query
    await t.query(api.users.create, { name: "x" });
    const asAda = t.withIdentity({ subject: "ada" });
    expectTypeOf(asAda).toEqualTypeOf(t);
    expectTypeOf(await t.fetch("/webhook")).toEqualTypeOf<Response>();
  });
});
