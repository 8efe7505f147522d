/**
 * For tests that read `GET /api/subscribe` raw: the results of one `transition` event,
 * as the per-watch events they stand for (`result` `{ id, value }` or `queryError`
 * `{ id, error }`), in order.
 */
export function transitionResults(data: {
  results: ({ id: string; value: unknown } | { id: string; error: unknown })[];
}): { type: "result" | "queryError"; data: unknown }[] {
  return data.results.map((result) =>
    "error" in result
      ? { type: "queryError" as const, data: { id: result.id, error: result.error } }
      : { type: "result" as const, data: { id: result.id, value: result.value } },
  );
}
