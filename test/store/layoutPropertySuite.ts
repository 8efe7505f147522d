import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { ConvoyError, defineSchema, defineTable } from "../../runtime/index.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";

/**
 * The property behind promoting a table: a JSONB table and a relational table with the
 * same schema, given the same documents in the same order, answer every query alike:
 * the same documents in the same order, the same pages, the same refusals.
 */

/** A field type the generator may pick: its validator and the values a document holds. */
interface FieldKind {
  name: string;
  schema: () => z.ZodType;
  /** Values of a document; `undefined` is a missing field. */
  values: fc.Arbitrary<unknown>;
  /** Nested paths worth indexing and filtering on, relative to the field. */
  nested?: { path: string; values: fc.Arbitrary<unknown> }[];
}

const text = fc.constantFrom("", "a", "b", "B", "ab", "é", "z", "10", "9", " a");
const number = fc.constantFrom(-1.5, 0, 0.5, 1, 2, 10, 1e10, -3);
const bool = fc.boolean();
const nestedObject = fc.record({ c: text, n: number }, { requiredKeys: ["c"] });

const KINDS: FieldKind[] = [
  { name: "text", schema: () => z.string(), values: text },
  { name: "number", schema: () => z.number(), values: number },
  { name: "boolean", schema: () => z.boolean(), values: bool },
  { name: "enum", schema: () => z.enum(["x", "y", "z"]), values: fc.constantFrom("x", "y", "z") },
  { name: "literal", schema: () => z.literal(7), values: fc.constant(7) },
  { name: "optional text", schema: () => z.string().optional(), values: fc.option(text, { nil: undefined }) },
  { name: "nullable number", schema: () => z.number().nullable(), values: fc.option(number, { nil: null }) },
  {
    name: "optional nullable boolean",
    schema: () => z.boolean().nullable().optional(),
    values: fc.oneof(bool, fc.constant(null), fc.constant(undefined)),
  },
  { name: "array", schema: () => z.array(z.number()), values: fc.array(number, { maxLength: 2 }) },
  {
    name: "optional array",
    schema: () => z.array(z.string()).optional(),
    values: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }),
  },
  {
    name: "nullable array",
    schema: () => z.array(z.number()).nullable(),
    values: fc.option(fc.array(number, { maxLength: 2 }), { nil: null }),
  },
  {
    name: "object",
    schema: () => z.object({ c: z.string(), n: z.number().optional() }),
    values: nestedObject,
    nested: [
      { path: "c", values: text },
      { path: "n", values: number },
    ],
  },
  {
    name: "optional nullable object",
    schema: () => z.object({ c: z.string() }).nullable().optional(),
    values: fc.oneof(fc.record({ c: text }), fc.constant(null), fc.constant(undefined)),
    nested: [{ path: "c", values: text }],
  },
  { name: "string or number", schema: () => z.union([z.string(), z.number()]), values: fc.oneof(text, number) },
];

/** Field names, some of them SQL reserved words or the JSONB layout's column name. */
const FIELD_NAMES = ["order", "doc", "userId", "select", "x", "group"];

/** Constants of every JSON type, compared against fields of any type. */
const anyValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, -1, "", "a", "z", [], [1], {}, { c: "a" }),
  text,
  number,
);

/** A field of the generated schema; `kind` names a {@link KINDS} entry (so counterexamples print short). */
interface FieldPlan {
  name: string;
  kind: string;
}

const kindOf = (field: FieldPlan) => KINDS.find((kind) => kind.name === field.kind)!;

/** A path a query may name, with the values worth comparing it to. */
interface PathPlan {
  path: string;
  values: fc.Arbitrary<unknown>;
}

interface TablePlan {
  fields: FieldPlan[];
  indexes: string[][];
  documents: Record<string, unknown>[];
}

const tablePlan: fc.Arbitrary<TablePlan> = fc
  .uniqueArray(fc.integer({ min: 0, max: FIELD_NAMES.length - 1 }), { minLength: 1, maxLength: 4 })
  .chain((names) =>
    fc
      .tuple(...names.map(() => fc.integer({ min: 0, max: KINDS.length - 1 })))
      .map((kinds) =>
        names.map((name, position) => ({ name: FIELD_NAMES[name]!, kind: KINDS[kinds[position]!]!.name })),
      ),
  )
  .chain((fields) => {
    const paths = pathsOf(fields).map((path) => path.path);
    const index = fc.uniqueArray(fc.constantFrom(...paths), { minLength: 1, maxLength: 2 });
    const document = fc.tuple(...fields.map((field) => kindOf(field).values)).map((values) => {
      const doc: Record<string, unknown> = {};
      fields.forEach((field, position) => {
        if (values[position] !== undefined) doc[field.name] = values[position];
      });
      return doc;
    });
    return fc.record({
      fields: fc.constant(fields),
      indexes: fc.array(index, { minLength: 1, maxLength: 2 }),
      documents: fc.array(document, { minLength: 0, maxLength: 25 }),
    });
  });

function pathsOf(fields: FieldPlan[]): PathPlan[] {
  return fields.flatMap((field) => [
    { path: field.name, values: kindOf(field).values.filter((value) => value !== undefined) },
    ...(kindOf(field).nested ?? []).map((nested) => ({ path: `${field.name}.${nested.path}`, values: nested.values })),
  ]);
}

/** A value to compare a path with: usually one of its own, sometimes one of any type. */
const valueFor = (path: PathPlan) =>
  fc.oneof({ weight: 3, arbitrary: path.values }, { weight: 1, arbitrary: anyValue });

type Filter =
  | { kind: "compare"; op: "eq" | "neq" | "lt" | "lte" | "gt" | "gte"; path: string; value: unknown }
  | { kind: "sum"; op: "gt" | "lt"; path: string; value: number }
  | { kind: "logical"; op: "and" | "or"; args: Filter[] }
  | { kind: "not"; arg: Filter };

function filterOf(paths: PathPlan[]): fc.Arbitrary<Filter> {
  const compare = fc
    .record({
      op: fc.constantFrom("eq", "neq", "lt", "lte", "gt", "gte"),
      path: fc.constantFrom(...paths),
    })
    .chain(({ op, path }) => valueFor(path).map((value): Filter => ({ kind: "compare", op, path: path.path, value })));
  const sum = fc
    .record({ op: fc.constantFrom("gt", "lt"), path: fc.constantFrom(...paths), value: number })
    .map(({ op, path, value }): Filter => ({ kind: "sum", op, path: path.path, value }));
  const leaf = fc.oneof({ weight: 4, arbitrary: compare }, { weight: 1, arbitrary: sum });
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 1,
      arbitrary: fc
        .record({ op: fc.constantFrom("and", "or"), args: fc.array(leaf, { minLength: 1, maxLength: 3 }) })
        .map(({ op, args }): Filter => ({ kind: "logical", op, args })),
    },
    { weight: 1, arbitrary: leaf.map((arg): Filter => ({ kind: "not", arg })) },
  );
}

interface QueryPlan {
  index: number | "scan" | "by_creation_time";
  eq: unknown[];
  lower?: { inclusive: boolean; value: unknown };
  upper?: { inclusive: boolean; value: unknown };
  order?: "asc" | "desc";
  orderField?: string;
  filter?: Filter;
  read: { kind: "collect" } | { kind: "take"; n: number } | { kind: "first" } | { kind: "paginate"; numItems: number };
}

function queryOf(plan: TablePlan): fc.Arbitrary<QueryPlan> {
  const paths = pathsOf(plan.fields);
  const byPath = new Map(paths.map((path) => [path.path, path]));
  const source = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: plan.indexes.length - 1 }) },
    { weight: 1, arbitrary: fc.constantFrom("scan" as const, "by_creation_time" as const) },
  );
  return source.chain((index) => {
    const fields = typeof index === "number" ? plan.indexes[index]! : [];
    const ranged = fields.map((field) => byPath.get(field)!);
    return fc.integer({ min: 0, max: ranged.length }).chain((eqCount) => {
      const next = ranged[eqCount];
      const bound = next
        ? fc.option(fc.record({ inclusive: fc.boolean(), value: valueFor(next) }), { nil: undefined })
        : fc.constant(undefined);
      return fc.record({
        index: fc.constant(index),
        eq: fc.tuple(...ranged.slice(0, eqCount).map(valueFor)),
        lower: bound,
        upper: bound,
        order: fc.option(fc.constantFrom("asc" as const, "desc" as const), { nil: undefined }),
        orderField: fc.option(fc.constantFrom(...paths.map((path) => path.path)), { nil: undefined, freq: 4 }),
        filter: fc.option(filterOf(paths), { nil: undefined, freq: 2 }),
        read: fc.oneof(
          fc.constant({ kind: "collect" as const }),
          fc.integer({ min: 1, max: 5 }).map((n) => ({ kind: "take" as const, n })),
          fc.constant({ kind: "first" as const }),
          fc.integer({ min: 1, max: 6 }).map((numItems) => ({ kind: "paginate" as const, numItems })),
        ),
      });
    });
  });
}

function predicate(q: any, filter: Filter): unknown {
  switch (filter.kind) {
    case "compare":
      return q[filter.op](q.field(filter.path), filter.value);
    case "sum":
      return q[filter.op](q.add(q.field(filter.path), 1), filter.value);
    case "logical":
      return q[filter.op](...filter.args.map((arg) => predicate(q, arg)));
    case "not":
      return q.not(predicate(q, filter.arg));
  }
}

function buildQuery(db: any, table: string, plan: TablePlan, query: QueryPlan): any {
  let built = db.query(table);
  if (query.index === "scan") built = built.fullTableScan();
  else if (query.index === "by_creation_time") built = built.withIndex("by_creation_time");
  else {
    const fields = plan.indexes[query.index]!;
    built = built.withIndex(`i${query.index}`, (q: any) => {
      let range = q;
      query.eq.forEach((value, position) => (range = range.eq(fields[position]!, value)));
      const next = fields[query.eq.length];
      if (next !== undefined && query.lower)
        range = range[query.lower.inclusive ? "gte" : "gt"](next, query.lower.value);
      if (next !== undefined && query.upper)
        range = range[query.upper.inclusive ? "lte" : "lt"](next, query.upper.value);
      return range;
    });
  }
  if (query.order) built = built.order(query.order, query.orderField);
  if (query.filter) built = built.filter((q: any) => predicate(q, query.filter!));
  return built;
}

/** What a query answers, without the ids and creation times that differ between the tables. */
async function answer(store: any, table: string, plan: TablePlan, query: QueryPlan): Promise<unknown> {
  const strip = (doc: Record<string, unknown> | null) => {
    if (doc === null) return null;
    const { _id, _creationTime, ...fields } = doc;
    return fields;
  };
  try {
    return await store.query(async (db: any) => {
      const built = () => buildQuery(db, table, plan, query);
      switch (query.read.kind) {
        case "collect":
          return ((await built().collect()) as Record<string, unknown>[]).map(strip);
        case "take":
          return ((await built().take(query.read.n)) as Record<string, unknown>[]).map(strip);
        case "first":
          return strip(await built().first());
        case "paginate": {
          const pages: unknown[] = [];
          let cursor: string | null = null;
          for (let page = 0; page < 40; page++) {
            const result: { page: unknown[]; isDone: boolean; continueCursor: string } = await built().paginate({
              numItems: query.read.numItems,
              cursor,
            });
            pages.push({ page: (result.page as Record<string, unknown>[]).map(strip), isDone: result.isDone });
            if (result.isDone) break;
            cursor = result.continueCursor;
          }
          return pages;
        }
      }
    });
  } catch (error) {
    if (!(error instanceof ConvoyError)) throw error;
    // Refusals name the table, whose names differ. What Postgres says of a value it
    // cannot compute (arithmetic on an array) depends on the row it meets first.
    const postgresRefusal = "Postgres refused a value of this call";
    const message = error.message.startsWith(postgresRefusal) ? postgresRefusal : error.message;
    return { refused: error.code, message: message.replaceAll(table, "<table>") };
  }
}

/** JSONB and relational tables of one random schema answer random queries alike. */
export function describeLayoutPropertySuite(factory: TestDriverFactory, runs: number): void {
  describe.skipIf(factory.unavailable !== null)(`JSONB and relational layouts on ${factory.name}`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await factory.open();
    });
    afterAll(async () => {
      await database.dispose();
    });

    it(
      "give the same answers to random queries over random schemas and documents",
      async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(
            tablePlan.chain((plan) =>
              fc.tuple(fc.constant(plan), fc.array(queryOf(plan), { minLength: 1, maxLength: 8 })),
            ),
            async ([plan, queries]) => {
              run++;
              const shape = Object.fromEntries(plan.fields.map((field) => [field.name, kindOf(field).schema()]));
              const table = () =>
                plan.indexes.reduce<ReturnType<typeof defineTable>>(
                  (built, fields, position) => built.index(`i${position}`, fields as never),
                  defineTable(shape) as never,
                );
              const jsonb = `j${run}`;
              const relational = `r${run}`;
              const schema = defineSchema({ [jsonb]: table(), [relational]: table().relational() });
              await syncSchema(database.driver, schema, { schemaName: database.schemaName });
              const store = createDocumentStore({ schema, driver: database.driver, schemaName: database.schemaName });
              // Alternate the tables so both hold the documents in one creation order.
              await store.mutation(async (db) => {
                for (const doc of plan.documents) {
                  await db.insert(jsonb as never, doc);
                  await db.insert(relational as never, doc);
                }
              });
              for (const query of queries) {
                const fromJsonb = await answer(store, jsonb, plan, query);
                const fromRelational = await answer(store, relational, plan, query);
                expect(fromRelational, JSON.stringify({ fields: plan.fields, indexes: plan.indexes, query })).toEqual(
                  fromJsonb,
                );
              }
            },
          ),
          { numRuns: runs },
        );
      },
      30_000 + runs * 2_000,
    );
  });
}
