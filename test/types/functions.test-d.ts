import { describe, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  defineRef,
  functionBuilders,
  functionReferences,
  type ApiFromFunctions,
  type Doc,
  type FunctionArgs,
  type FunctionReturnType,
  type Id,
  type UserIdentity,
} from "../../runtime/index.js";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import type { testSchema } from "../support/testSchema.js";

const { query, mutation, internalQuery } = functionBuilders<typeof testSchema>();

const listProjects = query({
  args: { userId: defineRef("users") },
  handler: async (ctx, args) => {
    expectTypeOf(args.userId).toEqualTypeOf<Id<"users">>();
    expectTypeOf(ctx.auth).toEqualTypeOf<UserIdentity | null>();
    // @ts-expect-error queries cannot write
    await ctx.db.insert("users", { name: "x", createdAt: 1 });
    return ctx.db
      .query("projects")
      .withIndex("by_userId", (q) => q.eq("userId", args.userId))
      .collect();
  },
});

const rename = mutation({
  args: { id: defineRef("users"), name: z.string().default("anonymous") },
  handler: async (ctx, args) => {
    expectTypeOf(args.name).toEqualTypeOf<string>();
    await ctx.db.patch(args.id, { name: args.name });
    return { ok: true as const };
  },
});

const count = query({ handler: async (ctx) => (await ctx.db.query("users").collect()).length });
const secret = internalQuery({ handler: async () => "internal" });

declare const userId: Id<"users">;
const functions = { projects: { listProjects }, users: { rename, count }, admin: { secret } };
const api = functionReferences<ApiFromFunctions<typeof functions>>({
  projects: { listProjects: "query" },
  users: { rename: "mutation", count: "query" },
});

describe("function references", () => {
  it("carry argument (zod input) and return types", () => {
    expectTypeOf<FunctionArgs<typeof api.projects.listProjects>>().toEqualTypeOf<{ userId: Id<"users"> }>();
    expectTypeOf<FunctionReturnType<typeof api.projects.listProjects>>().toEqualTypeOf<Doc<"projects">[]>();
    expectTypeOf<FunctionArgs<typeof api.users.rename>>().toEqualTypeOf<{
      id: Id<"users">;
      name?: string | undefined;
    }>();
    expectTypeOf<FunctionReturnType<typeof api.users.rename>>().toEqualTypeOf<{ ok: true }>();
    expectTypeOf(api.projects.listProjects.kind).toEqualTypeOf<"query">();
  });

  it("leave internal functions out of api", () => {
    // @ts-expect-error internal functions are not public references
    void api.admin;
  });

  it("type the client's calls", async () => {
    const client = createConvoyClient();
    expectTypeOf(await client.query(api.projects.listProjects, { userId })).toEqualTypeOf<Doc<"projects">[]>();
    expectTypeOf(await client.query(api.users.count, {})).toEqualTypeOf<number>();
    // @ts-expect-error wrong argument type
    await client.query(api.projects.listProjects, { userId: 1 });
    // @ts-expect-error a mutation is not a query
    await client.query(api.users.rename, { id: userId });
    expectTypeOf(await client.mutation(api.users.rename, { id: userId }, { mutationId: "m" })).toEqualTypeOf<{
      ok: true;
    }>();
    // @ts-expect-error the id is a string
    await client.mutation(api.users.rename, { id: userId }, { mutationId: 1 });
  });
});
