import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConvoyError, defineRef, defineSchema, defineTable } from "../../runtime/index.js";
import { columnNameOf, relationalColumns } from "../../runtime/schema/relationalColumns.js";

describe("relational columns", () => {
  it("maps each kind of zod field to the column a SQL user would write", () => {
    const columns = relationalColumns("t", {
      title: z.string().min(1),
      email: z.email(),
      count: z.number(),
      whole: z.int(),
      done: z.boolean(),
      ownerId: defineRef("users"),
      status: z.enum(["open", "done"]),
      kind: z.literal("a"),
      one: z.literal(1),
      yes: z.literal(true),
      picked: z.union([z.literal("x"), z.enum(["y", "z"])]),
      maybe: z.string().optional(),
      nothing: z.string().nullable(),
      either: z.string().optional().nullable(),
      later: z.number().default(3),
      optionalRef: defineRef("users").optional(),
      list: z.array(z.number()),
      shape: z.object({ a: z.string() }),
      map: z.record(z.string(), z.number()),
      mixed: z.union([z.string(), z.number()]),
      anything: z.any(),
      tuple: z.tuple([z.string(), z.number()]),
      nullLiteral: z.literal(null),
      listDefault: z.array(z.string()).default([]),
    });
    expect(Object.fromEntries(columns.map(({ field, ...rest }) => [field, rest]))).toEqual({
      title: { column: "title", type: "text", nullMeans: "never" },
      email: { column: "email", type: "text", nullMeans: "never" },
      count: { column: "count", type: "double precision", nullMeans: "never" },
      whole: { column: "whole", type: "double precision", nullMeans: "never" },
      done: { column: "done", type: "boolean", nullMeans: "never" },
      ownerId: { column: "owner_id", type: "text", nullMeans: "never", references: "users" },
      status: { column: "status", type: "text", nullMeans: "never", allowed: ["open", "done"] },
      kind: { column: "kind", type: "text", nullMeans: "never", allowed: ["a"] },
      one: { column: "one", type: "double precision", nullMeans: "never", allowed: [1] },
      yes: { column: "yes", type: "boolean", nullMeans: "never", allowed: [true] },
      picked: { column: "picked", type: "text", nullMeans: "never", allowed: ["x", "y", "z"] },
      maybe: { column: "maybe", type: "text", nullMeans: "missing" },
      nothing: { column: "nothing", type: "text", nullMeans: "null" },
      either: { column: "either", type: "jsonb", nullMeans: "missing" },
      later: { column: "later", type: "double precision", nullMeans: "never" },
      optionalRef: { column: "optional_ref", type: "text", nullMeans: "missing", references: "users" },
      list: { column: "list", type: "jsonb", nullMeans: "never" },
      shape: { column: "shape", type: "jsonb", nullMeans: "never" },
      map: { column: "map", type: "jsonb", nullMeans: "never" },
      mixed: { column: "mixed", type: "jsonb", nullMeans: "never" },
      anything: { column: "anything", type: "jsonb", nullMeans: "missing" },
      tuple: { column: "tuple", type: "jsonb", nullMeans: "never" },
      nullLiteral: { column: "null_literal", type: "jsonb", nullMeans: "never" },
      listDefault: { column: "list_default", type: "jsonb", nullMeans: "never" },
    });
  });

  it("keeps references without a foreign key when asked", () => {
    expect(relationalColumns("t", { ownerId: defineRef("users") }, { foreignKeys: false })).toEqual([
      {
        field: "ownerId",
        column: "owner_id",
        type: "text",
        nullMeans: "never",
        references: "users",
        foreignKey: false,
      },
    ]);
  });

  it("names columns in snake_case, keeps doc for the JSONB layout, and shortens long names", () => {
    expect(columnNameOf("userId")).toBe("user_id");
    expect(columnNameOf("createdAt")).toBe("created_at");
    expect(columnNameOf("HTTPStatus")).toBe("http_status");
    expect(columnNameOf("field2Name")).toBe("field2_name");
    expect(columnNameOf("already_snake")).toBe("already_snake");
    expect(columnNameOf("order")).toBe("order");
    expect(columnNameOf("doc")).toBe("doc_");
    const long = columnNameOf(`a${"VeryLong".repeat(8)}`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^a_very_long_very_long.*_[0-9a-f]{8}$/);
  });

  it("refuses two fields that would share a column, when the schema loads", () => {
    const schema = () => defineSchema({ t: defineTable({ userId: z.string(), user_id: z.string() }).relational() });
    expect(schema).toThrow(ConvoyError);
    expect(schema).toThrow(
      /t: fields "userId" and "user_id" would both be stored in column "user_id" of the relational table; rename one of them/,
    );
    // A JSONB table has no columns to share.
    expect(() => defineSchema({ t: defineTable({ userId: z.string(), user_id: z.string() }) })).not.toThrow();
  });

  it(".relational() keeps the indexes, and .index() after it keeps the layout", () => {
    const table = defineTable({ a: z.string(), b: z.number() }).index("by_a", ["a"]).relational().index("by_b", ["b"]);
    expect(table.layout).toBe("relational");
    expect(table.indexes.map((index) => index.name)).toEqual(["by_a", "by_b"]);
    expect(defineTable({ a: z.string() }).layout).toBe("jsonb");
  });
});
