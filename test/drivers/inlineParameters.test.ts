import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { inlineParameters } from "../../runtime/drivers/postgres/inlineParameters.js";

describe("inlineParameters", () => {
  it("writes values as quoted literals and leaves quoted text alone", () => {
    expect(inlineParameters(`SELECT "a$1", 'it''s $2' FROM t WHERE x = $1::text AND y > $2`, ["o'k", 2.5])).toBe(
      `SELECT "a$1", 'it''s $2' FROM t WHERE x = 'o''k'::text AND y > '2.5'`,
    );
    expect(inlineParameters("SELECT $1, $2, $3", [null, true, "a\\b"])).toBe(`SELECT NULL, 'true', E'a\\\\b'`);
    expect(inlineParameters("SELECT $1::float8", [Number.NaN])).toBe(`SELECT 'NaN'::float8`);
  });

  it("gives up on text or values it cannot be sure of", () => {
    expect(inlineParameters("SELECT $1", [{ a: 1 }])).toBeNull();
    expect(inlineParameters("SELECT $1", [["a"]])).toBeNull();
    expect(inlineParameters("SELECT $1", ["nul\0"])).toBeNull();
    expect(inlineParameters("SELECT $2", ["only one"])).toBeNull();
    expect(inlineParameters("SELECT $$x$$, $1", ["a"])).toBeNull();
    expect(inlineParameters("SELECT E'\\'', $1", ["a"])).toBeNull();
    expect(inlineParameters("SELECT 1 -- $1", ["a"])).toBeNull();
    expect(inlineParameters("SELECT 1; SELECT $1", ["a"])).toBeNull();
    expect(inlineParameters("SELECT 'unterminated", [])).toBeNull();
    expect(inlineParameters("SELECT $1::float8, $1 < 0", [1.5])).toBeNull();
    expect(inlineParameters("SELECT $1::jsonb, $1::text", ["1"])).toBeNull();
    expect(inlineParameters("SELECT $1::jsonb IS NULL, $1::jsonb", ["1"])).toBe(
      "SELECT '1'::jsonb IS NULL, '1'::jsonb",
    );
  });

  it("answers a text it has seen before from its values alone", () => {
    const text = `INSERT INTO "s".t (_id, n, d) VALUES ($1::text, $2::float8, $3::jsonb)`;
    expect(inlineParameters(text, [{ not: "inlinable" }, 1, "{}"])).toBeNull();
    expect(inlineParameters(text, ["a", 1, "{}"])).toBe(
      `INSERT INTO "s".t (_id, n, d) VALUES ('a'::text, '1'::float8, '{}'::jsonb)`,
    );
    expect(inlineParameters(text, ["b'", null, "[]"])).toBe(
      `INSERT INTO "s".t (_id, n, d) VALUES ('b'''::text, NULL::float8, '[]'::jsonb)`,
    );
    expect(inlineParameters(text, ["c", 2])).toBeNull();
    expect(inlineParameters("SELECT 1 -- $1", ["a"])).toBeNull();
    expect(inlineParameters("SELECT 1 -- $1", ["a"])).toBeNull();
    // Many distinct texts (lists of parameters) do not change any answer.
    for (let n = 1; n < 1200; n++) {
      const list = Array.from({ length: n % 40 }, (_, i) => `$${i + 2}`).join(", ");
      const values = Array.from({ length: n % 40 }, (_, i) => i);
      expect(inlineParameters(`SELECT $1::int + ${n}, ARRAY[${list}]::int[]`, [n, ...values])).toBe(
        `SELECT '${n}'::int + ${n}, ARRAY[${values.map((v) => `'${v}'`).join(", ")}]::int[]`,
      );
    }
  });
});

const url = inject("postgresUrl");

describe.skipIf(url === null)("inlined statements mean what the parameterised ones mean (Postgres)", () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: url! });
    await client.connect();
  });
  afterAll(() => client?.end());

  it("reads back every string, number and jsonb value unchanged", async () => {
    const text = fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0"));
    const value = fc.oneof(
      text,
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.json().map((json) => json.replace(/\\u0000/g, "")),
    );
    const statement = "SELECT $1::text AS t, ($2::text)::jsonb AS j, $3::text AS u, $4::float8 AS f, $5 < 0 AS n";
    await fc.assert(
      fc.asyncProperty(value, fc.json(), value, fc.double(), async (a, json, unknownTyped, float) => {
        const safeJson = json.replace(/\\u0000/g, "");
        const params = [a === null ? null : String(a), safeJson, unknownTyped, float, float];
        const inlined = inlineParameters(statement, params);
        expect(inlined).not.toBeNull();
        // Same rows, or the same error: an integer context rejects "2.5" either way.
        const outcome = (run: Promise<pg.QueryResult>) =>
          run.then(
            (result) => result.rows,
            (error: { code?: string }) => ({ error: error.code }),
          );
        expect(await outcome(client.query(inlined!))).toEqual(await outcome(client.query(statement, params)));
      }),
      { numRuns: 300 },
    );
  });
});
