import type { UserIdentity } from "../functions/auth.js";
import type { LiveQueryEngine, WatchUpdate } from "./liveQueryEngine.js";

/**
 * A watch as an async iterable of its updates, for tRPC subscriptions. Only the newest
 * update waits for a slow consumer (a live result supersedes older ones), so memory
 * stays bounded. Ends when `signal` aborts; the watch is released then.
 * @internal
 */
export async function* watchUpdates(
  engine: LiveQueryEngine,
  path: string,
  args: unknown,
  auth: UserIdentity | null,
  signal: AbortSignal | undefined,
): AsyncGenerator<WatchUpdate, void, unknown> {
  let latest: WatchUpdate | undefined;
  let wake: (() => void) | undefined;
  const stop = engine.watch(path, args, auth, (update) => {
    latest = update;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    while (!signal?.aborted) {
      if (latest === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const update = latest;
      latest = undefined;
      yield update;
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stop();
  }
}
