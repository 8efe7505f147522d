import { expect } from "vitest";
import { transitionResults } from "../support/transitionEvents.js";
import { toJson } from "./hostileValues.js";

/** What a server answered, read within a deadline. */
export interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
  /** The parsed body when it is JSON. */
  json: any;
  /**
   * Server-Sent Events read from an event stream (then `text` is what was read); each
   * `transition` is followed by the `result`/`queryError` events of its results.
   */
  events: { event: string; data: any }[];
}

/** Every request gets this long; a server that takes longer is hanging. */
export const REQUEST_TIMEOUT_MS = 10_000;

function parseEvents(text: string): { event: string; data: any }[] {
  const events: { event: string; data: any }[] = [];
  for (const block of text.split("\n\n")) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (data.length === 0) continue;
    let parsed: unknown = data.join("\n");
    try {
      parsed = JSON.parse(parsed as string);
    } catch {
      // Keep the raw text.
    }
    events.push({ event, data: parsed });
    // A transition's results follow it as the per-watch `result`/`queryError` events they stand for.
    if (
      event === "transition" &&
      typeof parsed === "object" &&
      parsed !== null &&
      Array.isArray((parsed as any).results)
    )
      events.push(...transitionResults(parsed as any).map(({ type, data }) => ({ event: type, data })));
  }
  return events;
}

/**
 * Sends one request and reads the answer; an event stream is read until `enough` says
 * so (then closed), and fails the test if that takes longer than {@link REQUEST_TIMEOUT_MS}.
 */
export async function exchange(
  url: string,
  init: RequestInit = {},
  enough: (events: { event: string; data: any }[]) => boolean = () => true,
): Promise<Answer> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)),
    REQUEST_TIMEOUT_MS,
  );
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    const contentType = response.headers.get("content-type") ?? "";
    if (contentType.startsWith("text/event-stream") && response.body !== null) {
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let text = "";
      let events: { event: string; data: any }[] = [];
      while (!enough(events)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        events = parseEvents(text);
      }
      controller.abort();
      return { status: response.status, contentType, headers: response.headers, text, json: undefined, events };
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, contentType, headers: response.headers, text, json, events: [] };
  } finally {
    clearTimeout(timer);
  }
}

/** Signs of an internal detail in a message: a stack, Convoy's SQL, a generic 500. */
const LEAKS = [
  /internal server error/i,
  /\n\s+at /,
  /\(\/[^)]*\.(ts|js|mjs):\d+/,
  /node_modules/,
  /::(jsonb|text|float8|int4|int8|numeric)\b/,
  /(?<!by)_creation_time/,
  /\bdoc (->|#>)/,
  /COALESCE\(/i,
  /to_jsonb\(/,
  /SQLSTATE/,
  /syntax error at or near/,
  /relation "/,
  /RangeError|TypeError|ReferenceError/,
  /Maximum call stack/,
  /the internal secret|secret token store/,
];

/** Checks that an error message is a clear, non-empty sentence that leaks nothing internal. */
export function expectClearMessage(message: unknown, context: string, schemaName: string): void {
  expect(typeof message, `${context}: message is a string`).toBe("string");
  const text = message as string;
  expect(text.trim().length, `${context}: message is not empty`).toBeGreaterThan(0);
  for (const leak of LEAKS) expect(text, `${context}: message leaks ${leak}`).not.toMatch(leak);
  if (schemaName.startsWith("t_")) expect(text, `${context}: message names the schema`).not.toContain(schemaName);
}

/**
 * The error answers inside a tRPC response body (one, or one per batched call), with
 * their HTTP statuses; an empty list when every call succeeded.
 */
export function trpcErrors(json: any): { status: number; code: string; message: unknown }[] {
  const items: any[] = Array.isArray(json) ? json : [json];
  return items
    .filter((item) => item && typeof item === "object" && "error" in item)
    .map((item) => ({
      status: item.error?.data?.httpStatus,
      code: item.error?.data?.code,
      message: item.error?.message,
    }));
}

/** `encodeURIComponent` that cannot throw: lone surrogates (which no URL can carry) become U+FFFD. */
export function urlEncode(text: string): string {
  return encodeURIComponent(
    text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );
}

/** A short description of a request for failure messages. */
export function describeRequest(method: string, path: string, body?: string): string {
  const shownBody =
    body === undefined ? "" : ` ${body.length > 300 ? `${body.slice(0, 300)}... (${body.length} chars)` : body}`;
  const shownPath = path.length > 300 ? `${path.slice(0, 300)}... (${path.length} chars)` : path;
  return `${method} ${shownPath}${shownBody}`;
}

/** `POST /api/<kind>` with `{ path, args }` (args may hold own `__proto__` keys). */
export function callApi(
  base: string,
  kind: "query" | "mutation",
  path: string,
  args: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return exchange(`${base}/api/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: toJson({ path, args }),
  });
}
