/**
 * How deep documents and query values may nest (arrays and objects). Deeper values make
 * Postgres run out of stack, and PGlite answer wrongly.
 */
export const MAX_VALUE_DEPTH = 64;

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why Postgres cannot hold this string (in `jsonb` or `text`), or null. @internal */
export function stringProblem(text: string, where: string): string | null {
  if (text.includes("\u0000")) return `${where} contains the NUL character (\\u0000), which Postgres cannot store`;
  if (UNPAIRED_SURROGATE.test(text)) {
    return `${where} contains an unpaired UTF-16 surrogate, which is not valid Unicode`;
  }
  return null;
}

function describePath(path: string): string {
  if (path === "") return "the value";
  return path.length > 60 ? `${path.slice(0, 60)}...` : path;
}

/**
 * Why `value` cannot be stored or compared as Postgres `jsonb`, or null when it can:
 * JSON values only (finite numbers, plain objects), strings and keys Postgres accepts,
 * at most {@link MAX_VALUE_DEPTH} levels deep. `path` names the value in the message.
 * @internal
 */
export function storableValueProblem(value: unknown, path = "", depth = 0): string | null {
  if (value === null || typeof value === "boolean") return null;
  if (typeof value === "string") return stringProblem(value, describePath(path));
  if (typeof value === "number") {
    return Number.isFinite(value) ? null : `${describePath(path)} is ${value}, which JSON cannot hold`;
  }
  if (typeof value === "object" && depth >= MAX_VALUE_DEPTH) {
    return `${describePath(path)} nests deeper than ${MAX_VALUE_DEPTH} levels of arrays and objects; flatten it`;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) return `${path}[${i}] is undefined; arrays cannot hold undefined`;
      const problem = storableValueProblem(item, `${path}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (
    typeof value === "object" &&
    (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
  ) {
    for (const [key, item] of Object.entries(value)) {
      const itemPath = path ? `${path}.${key}` : key;
      const keyProblem = stringProblem(key, `the key ${JSON.stringify(key.slice(0, 40))}`);
      if (keyProblem) return keyProblem;
      if (item === undefined) continue;
      const problem = storableValueProblem(item, itemPath, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  const kind = value instanceof Date ? "a Date (store a number of ms instead)" : `a ${typeof value}`;
  return `${describePath(path)} is ${kind}; documents hold JSON values only`;
}

/**
 * True when `value` holds arrays or objects nested deeper than `limit`. Checks only
 * as deep as the limit, so any value is cheap to check.
 * @internal
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (limit <= 0) return true;
  const items = Array.isArray(value) ? value : Object.values(value);
  return items.some((item) => nestsDeeperThan(item, limit - 1));
}
