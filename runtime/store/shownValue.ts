/**
 * A short, safe rendering of any value for an error message. Values may come from a
 * request, so `String(value)` is not safe: an object whose `toString` is not a function
 * makes it throw, which would turn a clear BAD_REQUEST into a 500.
 * @internal
 */
export function shownValue(value: unknown, maxLength = 80): string {
  if (typeof value === "string") return JSON.stringify(value.slice(0, maxLength));
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? `${value}n` : typeof value === "symbol" ? "a symbol" : `${value as string}`;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return Array.isArray(value) ? "an array" : "an object";
  return json.length > maxLength ? `${json.slice(0, maxLength)}...` : json;
}
