declare const tableNameBrand: unique symbol;

/**
 * The id of a document in table `TTable`: an opaque string at run time, branded at
 * compile time so an id of one table cannot be passed where another's is expected.
 *
 * @example
 * ```ts
 * function owner(id: Id<"users">) {}
 * ```
 */
export type Id<TTable extends string> = string & { readonly [tableNameBrand]: TTable };

/** Crockford's base32 alphabet, lower case: sortable, no i/l/o/u to misread. */
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const ID_SUFFIX = new RegExp(`^[${ALPHABET}]{${TIME_CHARS + RANDOM_CHARS}}$`);

/** Table names: a letter, then letters, digits or underscores; at most 48 characters. */
export const TABLE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

function encodeTime(ms: number): string {
  let out = "";
  let rest = Math.floor(ms);
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[rest % 32]! + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** Random bytes drawn 4 KB at a time: one call into the system's generator per 256 ids, not per id. */
const randomPool = new Uint8Array(4096);
let randomOffset = randomPool.length;

function encodeRandom(): string {
  if (randomOffset + RANDOM_CHARS > randomPool.length) {
    globalThis.crypto.getRandomValues(randomPool);
    randomOffset = 0;
  }
  let out = "";
  for (let i = 0; i < RANDOM_CHARS; i++) out += ALPHABET[randomPool[randomOffset + i]! & 31];
  randomOffset += RANDOM_CHARS;
  return out;
}

/**
 * A new id for a document of `table`: `<table>_<time><random>`. Ids of one table sort
 * roughly by creation time, which keeps the primary key index compact.
 * @internal
 */
export function generateId<TTable extends string>(table: TTable, now = Date.now()): Id<TTable> {
  return `${table}_${encodeTime(now)}${encodeRandom()}` as Id<TTable>;
}

/**
 * The table an id belongs to, or null when `value` is not a Convoy id.
 * @internal
 */
export function tableOfId(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const split = value.lastIndexOf("_");
  if (split <= 0) return null;
  const table = value.slice(0, split);
  if (!TABLE_NAME_PATTERN.test(table) || !ID_SUFFIX.test(value.slice(split + 1))) return null;
  return table;
}

/** True when `value` is an id of a document in `table`. */
export function isIdOf<TTable extends string>(table: TTable, value: unknown): value is Id<TTable> {
  return tableOfId(value) === table;
}
