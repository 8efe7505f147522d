import { notifyManager, skipToken, type Query, type QueryClient, type QueryObserver } from "@tanstack/react-query";
import type { ConvoyClient } from "../runtime/client/convoyClient.js";
import { isConvoyError, type ConvoyError } from "../runtime/errors.js";
import type { FunctionReference } from "../runtime/functions/functionReference.js";
import { optimisticLayers } from "./optimisticLayers.js";

/**
 * An observer option that keeps an entry off the live stream (`useQuery(ref, args,
 * { subscribe: false })`): the entry is watched while any other observer wants it live.
 * @internal
 */
export const SUBSCRIBE_OPTION = "convoySubscribe";

/** One entry kept live by one watch. */
interface LiveEntry {
  stop: () => void;
  /** The first fetch of an entry with no data waits for the watch's first result instead of HTTP. */
  pending: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | null;
  /** The last pushed result. */
  pushed: { value: unknown } | undefined;
  /** Results pushed so far, and how many had been when the newest fetch began. */
  pushes: number;
  pushesAtFetch: number;
}

/** The Convoy function a query key names under `prefix`, or null when it is not Convoy's. */
function convoyQuery(key: readonly unknown[], prefix: readonly string[]): { path: string; args: unknown } | null {
  const [path, meta] = key;
  if (!Array.isArray(path) || path.length <= prefix.length) return null;
  if (meta === null || typeof meta !== "object" || (meta as { type?: unknown }).type !== "query") return null;
  if (prefix.some((part, i) => path[i] !== part) || !path.every((part) => typeof part === "string")) return null;
  const input = (meta as { input?: unknown }).input;
  return { path: path.slice(prefix.length).join("."), args: input ?? {} };
}

/** Whether an observer wants its entry live: enabled, with input, and not `subscribe: false`. */
function wantsLive(observer: QueryObserver<any, any, any, any, any>, query: Query): boolean {
  const options = observer.options as typeof observer.options & { [SUBSCRIBE_OPTION]?: boolean };
  if (options[SUBSCRIBE_OPTION] === false || options.queryFn === skipToken) return false;
  const enabled = typeof options.enabled === "function" ? options.enabled(query) : options.enabled;
  return enabled !== false;
}

/**
 * Keeps the Convoy entries of a TanStack `QueryCache` live, whoever made them
 * (`convoy/react`'s `useQuery`, tRPC's `trpc.convoy.x.y.useQuery`): an entry that gains
 * its first observer gets a watch on the client's stream; the last observer leaving
 * releases it. While watched, an entry is not refetched over HTTP (its first result
 * comes from the watch, and `staleTime` is `Infinity`), and an HTTP answer that began
 * before a push never replaces the pushed result. Returns the function that unbinds.
 * @internal
 */
export function bindLiveQueries(queryClient: QueryClient, client: ConvoyClient, prefix: readonly string[]): () => void {
  const cache = queryClient.getQueryCache();
  const layers = optimisticLayers(queryClient);
  /** Shows a pushed result, under the optimistic layers that cover its entry. */
  const show = (query: Query, value: unknown) => {
    if (!layers.serverResult(query.queryKey, value)) queryClient.setQueryData(query.queryKey, value);
  };
  const live = new Map<Query, LiveEntry>();
  /** Entries whose path the server does not know (a host's own procedure under an empty prefix). */
  const notConvoy = new Set<string>();
  /**
   * Results of this tick, set in one TanStack batch: a transition's results arrive in one
   * synchronous run, so the entries they change notify their observers together (one render).
   */
  let applying: (() => void)[] = [];
  const inOneBatch = (apply: () => void) => {
    if (applying.push(apply) > 1) return;
    queueMicrotask(() => {
      const batch = applying;
      applying = [];
      notifyManager.batch(() => batch.forEach((run) => run()));
    });
  };

  const release = (query: Query) => {
    const entry = live.get(query);
    if (entry === undefined) return;
    live.delete(query);
    entry.stop();
    if (entry.pending) {
      entry.pending = null;
      void query.cancel({ revert: true });
    }
  };

  const watch = (query: Query, path: string, args: unknown) => {
    const entry: LiveEntry = { stop: () => {}, pending: null, pushed: undefined, pushes: 0, pushesAtFetch: 0 };
    live.set(query, entry);
    if (query.state.data === undefined && query.state.fetchStatus === "idle") {
      // The observer's own fetch (HTTP) joins this one: the mount runs the query once.
      const first = new Promise((resolve, reject) => (entry.pending = { resolve, reject }));
      const own = query.options;
      void query.fetch({ ...own, queryFn: () => first, retry: false }).catch(() => {});
      query.setOptions(own);
    }
    const ref = { kind: "query", path } as unknown as FunctionReference<"query">;
    entry.stop = client.watch(
      ref,
      args,
      (value) => {
        entry.pushes++;
        entry.pushed = { value };
        const pending = entry.pending;
        entry.pending = null;
        if (pending) pending.resolve(value);
        else inOneBatch(() => show(query, value));
      },
      (error) => failed(query, entry, error),
    );
  };

  const failed = (query: Query, entry: LiveEntry, error: ConvoyError) => {
    if (isConvoyError(error) && error.code === "NOT_FOUND" && prefix.length === 0 && entry.pushes === 0) {
      // Not a Convoy function: leave the entry to its own queryFn.
      notConvoy.add(query.queryHash);
      release(query);
      void query.observers[0]?.refetch();
      return;
    }
    const pending = entry.pending;
    entry.pending = null;
    if (pending) return pending.reject(error);
    query.setState({
      status: "error",
      error,
      errorUpdateCount: query.state.errorUpdateCount + 1,
      errorUpdatedAt: Date.now(),
      fetchFailureReason: error,
    });
  };

  const reconcile = (query: Query) => {
    const target = convoyQuery(query.queryKey, prefix);
    const wanted =
      target !== null &&
      !notConvoy.has(query.queryHash) &&
      cache.get(query.queryHash) === query &&
      query.observers.some((observer) => wantsLive(observer, query));
    if (wanted && !live.has(query)) watch(query, target.path, target.args);
    else if (!wanted) release(query);
  };

  const unsubscribe = cache.subscribe((event) => {
    const { query } = event;
    switch (event.type) {
      case "observerAdded":
      case "observerRemoved":
      case "observerOptionsUpdated":
      case "removed":
        reconcile(query);
        return;
      case "updated": {
        const entry = live.get(query);
        if (entry === undefined) return;
        if (event.action.type === "fetch") entry.pushesAtFetch = entry.pushes;
        // An HTTP answer to a fetch that began before the latest push is older than what is shown.
        else if (
          event.action.type === "success" &&
          !event.action.manual &&
          entry.pushed !== undefined &&
          entry.pushes > entry.pushesAtFetch &&
          query.state.data !== entry.pushed.value
        ) {
          show(query, entry.pushed.value);
        }
        return;
      }
    }
  });
  for (const query of cache.getAll()) reconcile(query);
  // A transition that first shows some of this page's mutations: their optimistic updates go in its batch.
  const unlistenShown = client.onMutationsShown((ids) => inOneBatch(() => layers.shown(ids)));

  return () => {
    unsubscribe();
    unlistenShown();
    for (const query of [...live.keys()]) release(query);
  };
}

/**
 * Query defaults for the Convoy entries under `prefix`: pushed results keep them fresh,
 * so they are never stale and never refetched on focus or reconnect.
 * @internal
 */
export function setLiveQueryDefaults(queryClient: QueryClient, prefix: readonly string[]): void {
  queryClient.setQueryDefaults([[...prefix], { type: "query" }], {
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
  });
}
