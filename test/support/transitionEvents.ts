/** One per-watch event a transition stands for: `result` `{ id, value }` or `queryError` `{ id, error }`. */
export interface WatchEvent {
  type: "result" | "queryError";
  data: any;
}

/**
 * For tests that read `GET /api/subscribe` raw: the results of one `transition` event,
 * as the per-watch events they stand for (`result` `{ id, value }` or `queryError`
 * `{ id, error }`), in order.
 *
 * @example
 * ```ts
 * transitionResults({ version: "7:9:", results: [{ id: "w0", value: 1 }] });
 * // [{ type: "result", data: { id: "w0", value: 1 } }]
 * ```
 */
export function transitionResults(data: {
  results: ({ id: string; value: unknown } | { id: string; error: unknown })[];
}): WatchEvent[] {
  return data.results.map((result) =>
    "error" in result
      ? { type: "queryError" as const, data: { id: result.id, error: result.error } }
      : { type: "result" as const, data: { id: result.id, value: result.value } },
  );
}

/**
 * For tests that split a raw event stream into blocks themselves: the per-watch events of
 * one block (`event: <name>\ndata: <json>`). A `transition` gives its results (see
 * {@link transitionResults}), a `queryError` itself, anything else (`ready`, comments) none.
 *
 * @example
 * ```ts
 * blockWatchEvents('event: transition\ndata: {"version":"7:9:","results":[{"id":"w0","value":1}]}');
 * // [{ type: "result", data: { id: "w0", value: 1 } }]
 * ```
 */
export function blockWatchEvents(block: string): WatchEvent[] {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return [];
  if (event === "transition") return transitionResults(JSON.parse(data.join("\n")));
  if (event === "queryError") return [{ type: "queryError", data: JSON.parse(data.join("\n")) }];
  return [];
}
