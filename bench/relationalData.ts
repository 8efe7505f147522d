/**
 * The data of `bench/relational.bench.ts`: a projects table declared twice (JSONB and
 * `.relational()`), its documents (deterministic, so every table gets the same ones), and
 * bulk loading with fixed ids, so both layouts hold identical documents.
 */
import { z } from "zod";
import type { Driver } from "../runtime/drivers/driver.js";
import { defineRef, defineSchema, defineTable, type Id } from "../runtime/index.js";
import { generateId } from "../runtime/schema/ids.js";
import { createTableLayout } from "../runtime/store/layout/tableLayouts.js";
import { quoteIdent } from "../runtime/store/sqlText.js";

export const STATUSES = ["active", "paused", "done", "archived"] as const;

const users = defineTable({ name: z.string() });
const projects = defineTable({
  name: z.string(),
  client: z.string(),
  userId: defineRef("users"),
  status: z.enum(STATUSES),
  budget: z.number(),
  hours: z.number(),
  billable: z.boolean(),
  createdAt: z.number(),
  dueAt: z.number().optional(),
})
  .index("by_user_created", ["userId", "createdAt"])
  .index("by_status", ["status"]);

/** `projects` stored as JSONB documents. */
export const jsonbSchema = defineSchema({ users, projects });
/** The same table, one typed column per field, `userId` a foreign key. */
export const relationalSchema = defineSchema({ users, projects: projects.relational() });
/** The relational table with `userId` a plain text column that nothing checks, as in JSONB. */
export const relationalWithoutKeysSchema = defineSchema({
  users,
  projects: projects.relational({ foreignKeys: false }),
});

export type UserId = Id<"users">;
export type ProjectFields = z.infer<typeof projects.validator>;

/** `createdAt` of project 0; project i was created i minutes later. */
export const START = Date.UTC(2025, 0, 1);
export const MINUTE = 60_000;

/** A small deterministic generator (mulberry32), so every run and table gets the same documents. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The i-th project: user `i % users.length`, created at START + i minutes, 60 % with a due date. */
export function projectDoc(userIds: readonly UserId[], i: number): ProjectFields {
  const next = random(i + 1);
  const createdAt = START + i * MINUTE;
  return {
    name: `Project ${i}`,
    client: `Client ${i % 997}`,
    userId: userIds[i % userIds.length]!,
    status: STATUSES[Math.floor(next() * STATUSES.length)]!,
    budget: Math.round(next() * 1_000_000) / 100,
    hours: Math.floor(next() * 400),
    billable: next() < 0.7,
    createdAt,
    ...(next() < 0.6 ? { dueAt: createdAt + 30 * 24 * 60 * MINUTE } : {}),
  };
}

/** A seeded document: its fixed id and creation time, and its fields. */
export interface Seeded {
  _id: string;
  _creationTime: number;
  fields: Record<string, unknown>;
}

/** Ids and creation times for `count` documents of `table`, ascending like Convoy's own. */
export function seededDocuments(table: string, count: number, fields: (i: number) => object): Seeded[] {
  const base = Date.now() - count;
  return Array.from({ length: count }, (_, i) => {
    const time = base + i;
    return { _id: generateId(table, time), _creationTime: time, fields: fields(i) as Record<string, unknown> };
  });
}

const BULK_ROWS = 2000;

/**
 * Inserts documents with their ids into a table of `schemaName`, stored as `kind`, with
 * plain SQL 2,000 rows a statement. A relational table's columns are filled by the
 * layout's own document → columns SQL (the one a migration's backfill runs).
 */
export async function bulkLoad(
  driver: Driver,
  schemaName: string,
  table: "users" | "projects",
  kind: "jsonb" | "relational",
  docs: readonly Seeded[],
): Promise<void> {
  const schema = kind === "jsonb" ? jsonbSchema : relationalSchema;
  const layout = createTableLayout(schemaName, table, schema.tables[table], kind);
  const storage = layout.storageFromDocumentSql("seed.doc", "seed.id");
  const columns = storage.map(({ column }) => quoteIdent(column));
  const text = `INSERT INTO ${layout.tableSql} (_id, _creation_time, ${columns.join(", ")})
    SELECT seed.id, seed.time, ${storage.map(({ sql }) => sql).join(", ")}
    FROM (SELECT id, time, doc::jsonb AS doc FROM unnest($1::text[], $2::float8[], $3::text[]) AS s(id, time, doc)) AS seed`;
  for (let start = 0; start < docs.length; start += BULK_ROWS) {
    const chunk = docs.slice(start, start + BULK_ROWS);
    await driver.query(text, [
      chunk.map((doc) => doc._id),
      chunk.map((doc) => doc._creationTime),
      chunk.map((doc) => JSON.stringify(doc.fields)),
    ]);
  }
}
