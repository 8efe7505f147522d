import { z } from "zod";
import {
  ConvoyError,
  defineRef,
  defineSchema,
  defineTable,
  functionBuilders,
  type MutationCtx,
} from "../../runtime/index.js";
import type { DataModelFromSchema } from "../../runtime/schema/dataModel.js";

/** The schema of the security tests: users, and notes owned by a subject, with loose fields to aim hostile values at. */
export const securitySchema = defineSchema({
  users: defineTable({ name: z.string(), age: z.number().optional() }).index("by_name", ["name"]),
  notes: defineTable({
    owner: z.string(),
    title: z.string(),
    rank: z.number(),
    userId: defineRef("users").optional(),
    extra: z.unknown().optional(),
  })
    .index("by_owner", ["owner"])
    .index("by_owner_rank", ["owner", "rank"])
    .index("by_title", ["title"]),
});

const { query, mutation, internalQuery, internalMutation } = functionBuilders<typeof securitySchema>();

/** Whatever a client sent, handed on as it came: these functions aim client values at every store API. */
const anything = z.unknown();
const loose = <T>(value: unknown) => value as T;

function subjectOf(ctx: { auth: { subject: string } | null }): string {
  if (!ctx.auth) throw new ConvoyError({ code: "UNAUTHORIZED", message: "Sign in first: send an x-user header" });
  return ctx.auth.subject;
}

type Ctx = MutationCtx<DataModelFromSchema<typeof securitySchema>>;
const insertNote = (ctx: Ctx, owner: string, title: string, rank = 1) => ctx.db.insert("notes", { owner, title, rank });

/** Functions over {@link securitySchema}, as `convoy/_generated/functions.ts` would export them. */
export const securityFunctions = {
  notes: {
    /** The caller's own note titles: the same call returns different data per identity. */
    mine: query({
      handler: async (ctx) =>
        (
          await ctx.db
            .query("notes")
            .withIndex("by_owner", (q) => q.eq("owner", ctx.auth?.subject ?? "anonymous"))
            .collect()
        ).map((note) => note.title),
    }),
    add: mutation({
      args: { title: z.string().max(200) },
      handler: (ctx, args) => insertNote(ctx, subjectOf(ctx), args.title),
    }),
    /** One transaction writing a note for each of several owners. */
    addForEach: mutation({
      args: { owners: z.array(z.string()).max(10), title: z.string() },
      handler: async (ctx, args) => {
        for (const owner of args.owners) await insertNote(ctx, owner, `${args.title} for ${owner}`);
        return null;
      },
    }),
    count: query({ handler: async (ctx) => (await ctx.db.query("notes").fullTableScan().collect()).length }),
  },
  fuzz: {
    /** Strictly typed arguments: wrong types, missing and extra fields are the zod layer's to refuse. */
    typed: mutation({
      args: { title: z.string().max(100), rank: z.number().int(), userId: defineRef("users").optional() },
      handler: (ctx, args) => ctx.db.insert("notes", { owner: "typed", ...args }),
    }),
    getUser: query({ args: { id: defineRef("users") }, handler: (ctx, args) => ctx.db.get(args.id) }),
    byTitle: query({
      args: { title: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("notes")
          .withIndex("by_title", (q) => q.eq("title", loose(args.title)))
          .take(3),
    }),
    rankRange: query({
      args: { owner: anything, lower: anything, upper: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("notes")
          .withIndex("by_owner_rank", (q) =>
            q.eq("owner", loose(args.owner)).gte("rank", loose(args.lower)).lt("rank", loose(args.upper)),
          )
          .take(3),
    }),
    creationRange: query({
      args: { after: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("notes")
          .withIndex("by_creation_time", (q) => q.gt("_creationTime", loose(args.after)))
          .take(3),
    }),
    idRange: query({
      args: { from: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("users")
          .withIndex("by_id", (q) => q.gte("_id", loose(args.from)))
          .take(3),
    }),
    get: query({ args: { id: anything }, handler: (ctx, args) => ctx.db.get(loose(args.id)) }),
    getIn: query({
      args: { table: anything, id: anything },
      handler: (ctx, args) => ctx.db.get(loose<"users">(args.table), loose(args.id)),
    }),
    normalize: query({
      args: { table: anything, id: anything },
      handler: (ctx, args) => ctx.db.normalizeId(loose<"users">(args.table), loose(args.id)),
    }),
    scan: query({
      args: { table: anything },
      handler: (ctx, args) => ctx.db.query(loose<"users">(args.table)).first(),
    }),
    filter: query({
      args: { field: anything, value: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("notes")
          .filter((q) => q.eq(q.field("title"), loose(args.value)))
          .filter((q) => q.neq(q.field(loose<"title">(args.field)), null))
          .take(3),
    }),
    compare: query({
      args: { value: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("notes")
          .filter((q) => q.gt(q.add(q.field("rank"), loose(args.value)), loose(args.value)))
          .take(3),
    }),
    page: query({
      args: { cursor: anything, numItems: anything },
      handler: (ctx, args) =>
        ctx.db
          .query("notes")
          .order("desc")
          .paginate({ cursor: loose(args.cursor), numItems: loose(args.numItems) }),
    }),
    take: query({
      args: { n: anything },
      handler: (ctx, args) => ctx.db.query("notes").fullTableScan().take(loose(args.n)),
    }),
    order: query({
      args: { order: anything, field: anything },
      handler: (ctx, args) => ctx.db.query("notes").order(loose(args.order), loose(args.field)).take(3),
    }),
    /** Sends the value back: hostile values must survive the response too. */
    echo: query({ args: { value: anything }, handler: (_ctx, args) => args.value ?? null }),
    insertNote: mutation({
      args: { doc: anything },
      handler: (ctx, args) => ctx.db.insert("notes", loose(args.doc)),
    }),
    insertInto: mutation({
      args: { table: anything, doc: anything },
      handler: (ctx, args) => ctx.db.insert(loose<"users">(args.table), loose(args.doc)),
    }),
    patch: mutation({
      args: { id: anything, fields: anything },
      handler: (ctx, args) => ctx.db.patch(loose<never>(args.id), loose(args.fields)),
    }),
    replace: mutation({
      args: { id: anything, doc: anything },
      handler: (ctx, args) => ctx.db.replace(loose<never>(args.id), loose(args.doc)),
    }),
    delete: mutation({ args: { id: anything }, handler: (ctx, args) => ctx.db.delete(loose<never>(args.id)) }),
    /** A valid insert, then a write of whatever the client sent: both or neither. */
    insertThenWrite: mutation({
      args: { doc: anything },
      handler: async (ctx, args) => {
        await insertNote(ctx, "first", "written first");
        return ctx.db.insert("notes", loose(args.doc));
      },
    }),
    /** A valid insert, then a note whose rank has the wrong type. */
    insertThenViolate: mutation({
      args: { title: z.string() },
      handler: async (ctx, args) => {
        await insertNote(ctx, "first", args.title);
        await ctx.db.insert("notes", { owner: "second", title: args.title, rank: loose<number>("not a number") });
        return null;
      },
    }),
    /** A valid insert and a valid patch, then a patch that breaks the schema. */
    patchThenViolate: mutation({
      args: { id: defineRef("notes") },
      handler: async (ctx, args) => {
        await insertNote(ctx, "first", "before the bad patch");
        await ctx.db.patch(args.id, { title: "patched" });
        await ctx.db.patch(args.id, { owner: loose<string>(42) });
        return null;
      },
    }),
  },
  admin: {
    secret: internalQuery({ handler: () => "the internal secret" }),
    wipe: internalMutation({
      handler: async (ctx) => {
        for (const note of await ctx.db.query("notes").fullTableScan().collect()) await ctx.db.delete(note._id);
        return null;
      },
    }),
  },
};

export type SecurityFunctions = typeof securityFunctions;

/** What every public function takes, by path: the fuzzer fills these keys with hostile values. */
export const argumentKeys: Record<string, string[]> = {};
/** The public queries' paths: what can be watched. */
export const queryPaths: string[] = [];
for (const [module, functions] of Object.entries(securityFunctions)) {
  for (const [name, fn] of Object.entries(functions)) {
    if (fn.visibility !== "public") continue;
    argumentKeys[`${module}.${name}`] = Object.keys(fn.args.shape);
    if (fn.kind === "query") queryPaths.push(`${module}.${name}`);
  }
}

/** Paths of the internal functions, which no endpoint may reach. */
export const internalPaths = ["admin.secret", "admin.wipe"];
