import fc from "fast-check";

/** Strings that have broken JSON, SQL, Postgres text or JavaScript objects somewhere. */
export const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfffy",
  "\ud83d\ude00",
  "\u2028\u2029",
  "\ufeff",
  "'; DROP TABLE notes; --",
  '" OR 1=1 --',
  "') OR ('1'='1",
  "$1",
  "$$; SELECT pg_sleep(10); $$",
  "\\",
  "\\x00",
  "%_%",
  "*/ /*",
  "E'\\000'",
  "{a,b}",
  "a.b.c",
  "..",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "NaN",
  "Infinity",
  "-0",
  "1e999",
  "null",
  "undefined",
  "true",
  "[]",
  "{}",
  "users_",
  "_",
  "users_0000000000000000000000000",
  "users_00000000000000000000000000",
  "users_0000000000000000000000000u",
  "notes_00000000000000000000000000",
  "nosuchtable_00000000000000000000000000",
  "_schema_00000000000000000000000000",
  "USERS_00000000000000000000000000",
  "users_00000000000000000000000000 ",
  "users/../notes_00000000000000000000000000",
  "t".repeat(3000),
] as const;

/** Keys that reach prototypes, system fields, or SQL. */
export const NASTY_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "_id",
  "_creationTime",
  "title",
  "rank",
  "owner",
  "extra",
  "a.b",
  "",
  "\u0000",
  "'",
  "$where",
] as const;

/** An object built with own properties, so a `__proto__` key is a key and not the prototype. */
export function ownObject(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** JSON text to send as it is: values too deep for `JSON.stringify`. */
export class RawJson {
  constructor(readonly text: string) {}
}

/** `depth` nested arrays or objects around a value, as JSON text. */
export function nested(depth: number, inner = "1", kind: "array" | "object" = "array"): RawJson {
  const [open, close] = kind === "array" ? ["[", "]"] : ['{"a":', "}"];
  return new RawJson(`${open.repeat(depth)}${inner}${close.repeat(depth)}`);
}

/** JSON text of a value that may hold {@link RawJson} parts and own `__proto__` keys. */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : toJson(item))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${toJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Any string a client could send: nasty ones, arbitrary Unicode, control characters. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...NASTY_STRINGS), fc.constantFrom(...NASTY_STRINGS))
      .map(([a, b]) => `${a}${b}`),
  },
);

const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_KEYS) },
  { weight: 1, arbitrary: hostileString },
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53, Number.MAX_SAFE_INTEGER, 1e308, -1e308),
  fc.constantFrom(5e-324, Number.MAX_VALUE, 2 ** 63, 1e21),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, with hostile strings, keys and numbers; objects keep `__proto__` as an own key. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.array(fc.tuple(hostileKey, tie("value")), { maxLength: 4 }).map(ownObject),
  ),
})).value;

/** Values too big or too deep for a sane request: huge strings, deep nesting, wide arrays. */
export const monstrousValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 65, max: 30_000 }).map((depth) => nested(depth)),
  fc.integer({ min: 65, max: 30_000 }).map((depth) => nested(depth, '"x"', "object")),
  fc.integer({ min: 10_000, max: 1_200_000 }).map((length) => "x".repeat(length)),
  fc.integer({ min: 3_000, max: 400_000 }).map((length) =>
    // Random text does not compress: too large for a btree index entry.
    Array.from({ length: Math.ceil(length / 8) }, () => Math.random().toString(36).slice(2, 10)).join(""),
  ),
  fc.integer({ min: 1_000, max: 100_000 }).map((length) => Array.from({ length }, (_, i) => i)),
);

/** Any value: mostly hostile, sometimes monstrous. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileValue },
  { weight: 1, arbitrary: monstrousValue },
);

/** Request bodies that are not JSON, or not quite. */
export const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "{",
    "}",
    "[",
    '{"path":',
    '{"path": "notes.count", "args": {}',
    '{"path": "notes.count", "args": {},}',
    "{'path': 'notes.count'}",
    '{"path": "notes.count" "args": {}}',
    "\ufeff{}",
    "NaN",
    "undefined",
    '{"a": 1e999999}',
    '{"__proto__": }',
    "[".repeat(100_000),
    `${"[".repeat(50_000)}${"]".repeat(50_000)}`,
    "\u0000",
    '{"path": "notes.count", "args": {"a": "\\ud800"}}',
    '{"path": "notes.count", "args": {"a": "\\u0000"}}',
    '{"path":"notes.count","path":"admin.secret"}',
  ),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.json().map((text) => text.slice(0, Math.max(1, Math.floor(text.length / 2)))),
);

/** Numbers where strings or other types belong are for the zod layer; these are numbers with hostile values. */
export const numberish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileNumber },
  { weight: 1, arbitrary: hostileString },
);

/** A note or user document of the right shape whose values are hostile: the store must refuse or store it whole. */
export const documentArb: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .record(
      { owner: hostileString, title: hostileString, rank: hostileNumber, extra: anyValue, userId: hostileString },
      { requiredKeys: ["owner", "title", "rank"] },
    )
    .map((doc) => ownObject(Object.entries(doc))),
  fc.record({ name: hostileString, age: hostileNumber }, { requiredKeys: ["name"] }),
  fc.tuple(fc.constantFrom(...NASTY_KEYS), hostileValue).map(([key, value]) =>
    ownObject([
      ["owner", "o"],
      ["title", "t"],
      ["rank", 1],
      [key, value],
    ]),
  ),
  anyValue,
);

/** A pagination cursor: garbage, or a well-formed one carrying hostile positions. */
export const cursorArb: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.constant(null),
  fc
    .tuple(
      fc.constantFrom("notes/by_creation_time/desc/", "notes/by_creation_time/asc/", "x"),
      fc.array(hostileValue, { maxLength: 3 }),
    )
    .map(([query, after]) => Buffer.from(JSON.stringify([1, query, after])).toString("base64url")),
  hostileValue,
);

/** Values aimed at an argument by its name: right types with hostile content, mostly, and anything at all. */
export function argumentValueArb(key: string, ids: readonly string[]): fc.Arbitrary<unknown> {
  const idLike = fc.oneof(
    fc.constantFrom(...ids),
    fc.constantFrom(...NASTY_STRINGS.filter((s) => s.includes("_"))),
    hostileString,
  );
  const byKey: Record<string, fc.Arbitrary<unknown>> = {
    title: hostileString,
    owner: hostileString,
    lower: numberish,
    upper: numberish,
    rank: numberish,
    after: numberish,
    n: numberish,
    numItems: numberish,
    id: idLike,
    from: idLike,
    userId: idLike,
    table: fc.oneof(
      fc.constantFrom(
        "users",
        "notes",
        "_schema",
        "_changes",
        "_mutation_lock",
        "__proto__",
        "constructor",
        "toString",
      ),
      hostileString,
    ),
    doc: documentArb,
    fields: documentArb,
    cursor: cursorArb,
    order: fc.oneof(fc.constantFrom("asc", "desc"), hostileString),
    field: fc.oneof(
      fc.constantFrom("title", "rank", "extra.a", "_id", "_creationTime", "__proto__", "a.b.c", "constructor"),
      hostileString,
    ),
    value: anyValue,
    owners: fc.array(hostileString, { maxLength: 3 }),
  };
  const aimed = Object.hasOwn(byKey, key) ? byKey[key]! : anyValue;
  return fc.oneof({ weight: 5, arbitrary: aimed }, { weight: 1, arbitrary: anyValue });
}
