/**
 * A statement's text cut at its parameters: `texts[i]` comes before parameter
 * `slots[i]` (a zero-based index), and `texts` has one more entry, the tail.
 */
interface Template {
  texts: string[];
  slots: number[];
}

/**
 * Templates of texts seen before, or `null` for a text that cannot be inlined: the
 * store sends the same few statements over and over. Emptied when full, so statements
 * whose text varies (lists of parameters) cannot make it grow without bound.
 */
const templates = new Map<string, Template | null>();
const MAX_TEMPLATES = 512;

/**
 * Writes a parameterised statement's values into its text as quoted literals, so it
 * can travel in one simple-protocol message together with the statements before it.
 *
 * A quoted literal is an "unknown"-typed constant that Postgres types from its context,
 * exactly as it types an untyped `$n` parameter sent as text, so the statement means the
 * same. Returns `null` when it cannot be sure: values other than strings, numbers,
 * booleans and null, a parameter used twice without the same cast each time,
 * or text it does not fully understand (comments, dollar quotes, escape strings). The caller then sends the statement the usual way.
 *
 * @example
 * ```ts
 * inlineParameters("SELECT doc FROM t WHERE _id = $1::text", ["users_01"]);
 * // "SELECT doc FROM t WHERE _id = 'users_01'::text"
 * ```
 * @internal
 */
export function inlineParameters(text: string, params: readonly unknown[] | undefined): string | null {
  let template = templates.get(text);
  if (template === undefined) {
    template = templateOf(text);
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(text, template);
  }
  if (template === null) return null;
  const values = params ?? [];
  const literals: string[] = [];
  for (const value of values) {
    const literal = toLiteral(value);
    if (literal === null) return null;
    literals.push(literal);
  }
  const { texts, slots } = template;
  let out = texts[0]!;
  for (let i = 0; i < slots.length; i++) {
    const literal = literals[slots[i]!];
    if (literal === undefined) return null;
    out += literal + texts[i + 1]!;
  }
  return out;
}

/** Characters where the scanner has something to decide; the text between them is copied whole. */
const SPECIAL = /['"$;]|--|\/\*/g;

/** Cuts `text` at its parameters, or returns null when it holds something the inliner does not follow. */
function templateOf(text: string): Template | null {
  const texts: string[] = [];
  const slots: number[] = [];
  const casts = new Map<number, string>();
  let current = "";
  let i = 0;
  for (;;) {
    SPECIAL.lastIndex = i;
    const found = SPECIAL.exec(text);
    if (found === null) break;
    current += text.slice(i, found.index);
    i = found.index;
    const char = text[i]!;
    if (char === "'" || char === '"') {
      // A quoted literal or identifier; a doubled quote inside is an escaped quote.
      let end = i + 1;
      for (;;) {
        end = text.indexOf(char, end);
        if (end === -1) return null;
        if (text[end + 1] === char) end += 2;
        else break;
      }
      // E'...' strings read backslashes as escapes, which this scanner does not follow.
      if (char === "'" && /[eE]$/.test(text.slice(Math.max(0, i - 1), i)) && !/\w/.test(text[i - 2] ?? "")) {
        return null;
      }
      current += text.slice(i, end + 1);
      i = end + 1;
    } else if (char === "$") {
      const match = /^\$(\d+)/.exec(text.slice(i, i + 12));
      // `$tag$` and `$$` open dollar-quoted text: not ours to rewrite.
      if (!match || /\w/.test(text[i - 1] ?? "")) return null;
      const index = Number(match[1]) - 1;
      // A parameter has one type for the whole statement, a literal one per place: a
      // parameter used twice is only safe when every use casts it to the same type.
      const cast = /^::\w+(\[\])?/.exec(text.slice(i + match[0].length, i + match[0].length + 64))?.[0] ?? "";
      const earlier = casts.get(index);
      if (earlier !== undefined && (earlier === "" || earlier !== cast)) return null;
      casts.set(index, cast);
      texts.push(current);
      slots.push(index);
      current = "";
      i += match[0].length;
    } else {
      // Comments could hide quotes; a second statement would change what the caller reads.
      return null;
    }
  }
  texts.push(current + text.slice(i));
  return { texts, slots };
}

function toLiteral(value: unknown): string | null {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "'true'" : "'false'";
  if (typeof value === "number") return `'${String(value)}'`;
  if (typeof value === "string") {
    // Postgres text cannot hold NUL; sent as a parameter it fails with a clear error.
    if (value.includes("\0")) return null;
    const quoted = value.replace(/'/g, "''");
    // E'' reads backslashes the same whatever standard_conforming_strings says.
    return value.includes("\\") ? `E'${quoted.replace(/\\/g, "\\\\")}'` : `'${quoted}'`;
  }
  return null;
}
