/**
 * jsonb's order of types, which every layout follows: null (and missing) < string <
 * number < boolean < array < object, except that an empty array, as a whole key value,
 * sorts before everything, null included (jsonb's one exception for top-level arrays).
 * @internal
 */
export function typeRank(value: unknown): number {
  if (Array.isArray(value) && value.length === 0) return -1;
  if (value === null || value === undefined) return 0;
  if (typeof value === "string") return 1;
  if (typeof value === "number") return 2;
  if (typeof value === "boolean") return 3;
  return Array.isArray(value) ? 4 : 5;
}
