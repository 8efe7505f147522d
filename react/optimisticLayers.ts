import { hashKey, type QueryClient, type QueryKey } from "@tanstack/react-query";
import type { OptimisticQueryCache, OptimisticUpdate } from "./optimisticUpdate.js";
import { convoyQueryKey } from "./queryKey.js";

/**
 * The first part of the cache keys under which the server's result behind an optimistic
 * value is kept while the value shows. They are plain cache entries, so a persister
 * saves them with the rest: a reloaded page puts them back under its pending
 * mutations, never taking an optimistic value for the server's.
 */
const SERVER_RESULT = "$convoy:serverResult";

/** The server's result of one entry that optimistic layers cover. */
interface ServerResult {
  key: QueryKey;
  /** Whether the entry had a result (`value` may be any JSON, including null). */
  has: boolean;
  value: unknown;
}

/** One pending mutation's optimistic update. */
interface Layer {
  update: OptimisticUpdate<any>;
  args: unknown;
  prefix: readonly string[];
  /** Its mutation's id: a transition that names it shows the mutation, and drops the layer. */
  mutationId: string | undefined;
  /** Entries its last run set, by hash. */
  touched: Map<string, QueryKey>;
}

/**
 * The optimistic layers of one `QueryClient`, Convex's way: each cached entry that a
 * pending mutation's update touched shows the server's latest result with every
 * pending update applied on top, in call order. A new server result (pushed, or
 * fetched) is kept as the base and the layers are run again over it; a mutation's
 * layer is dropped when it fails, or succeeds and the client's watches show it.
 * @internal
 */
export class OptimisticLayers {
  private readonly layers: Layer[] = [];
  private readonly server = new Map<string, ServerResult>();
  /** The server results saved in the cache, by hash of the entry. */
  private readonly saved = new Map<string, ServerResult>();
  private readonly resumed = new WeakSet<object>();
  private showing = false;

  constructor(private readonly queryClient: QueryClient) {
    queryClient.setQueryDefaults([SERVER_RESULT], { gcTime: Infinity, staleTime: Infinity });
    // An HTTP answer for a covered entry is a server result: the layers go back on top.
    queryClient.getQueryCache().subscribe((event) => {
      if (this.showing || event.type !== "updated" || event.action.type !== "success" || event.action.manual) return;
      const { query } = event;
      if (this.server.has(query.queryHash)) this.serverResult(query.queryKey, query.state.data);
    });
  }

  /**
   * Applies an optimistic update on top of the others. The returned `settle` drops it:
   * call it once the mutation failed, or succeeded and this client's watches show it
   * (as `client.mutation()` resolves).
   */
  add<TArgs>(update: OptimisticUpdate<TArgs>, args: TArgs, prefix: readonly string[], mutationId?: string): () => void {
    const layer: Layer = { update, args, prefix, mutationId, touched: new Map() };
    this.layers.push(layer);
    try {
      this.apply(layer);
    } catch (error) {
      this.layers.splice(this.layers.indexOf(layer), 1);
      this.apply();
      throw error;
    }
    return () => this.settle(layer);
  }

  /**
   * Puts back, once per `owner`, the layers of mutations an earlier page left pending:
   * the saved server results under them, then each update in call order, under any
   * layer added since. Each is dropped as its `settled` promise settles.
   */
  resume(
    owner: object,
    pending: readonly {
      update: OptimisticUpdate<any> | undefined;
      args: unknown;
      settled: Promise<unknown>;
      mutationId?: string;
    }[],
    prefix: readonly string[],
  ): void {
    if (this.resumed.has(owner)) return;
    this.resumed.add(owner);
    for (const query of this.queryClient.getQueryCache().findAll({ queryKey: [SERVER_RESULT] })) {
      const hash = query.queryKey[1];
      const saved = query.state.data as Partial<ServerResult> | undefined;
      if (typeof hash !== "string" || !Array.isArray(saved?.key) || this.server.has(hash)) continue;
      const result: ServerResult = { key: saved.key, has: saved.has === true, value: saved.value };
      this.server.set(hash, result);
      this.saved.set(hash, result);
    }
    const layers: Layer[] = [];
    for (const { update, args, mutationId } of pending) {
      if (update) layers.push({ update, args, prefix, mutationId, touched: new Map() });
    }
    this.layers.unshift(...layers);
    this.apply();
    pending.forEach(({ update, settled }) => {
      const layer = update ? layers.shift()! : undefined;
      if (layer)
        settled.then(
          () => this.settle(layer),
          () => this.settle(layer),
        );
    });
  }

  /**
   * A server result for an entry. Returns false when no layer covers it (the caller
   * shows it as is); else keeps it as the entry's base and shows the layers over it.
   */
  serverResult(key: QueryKey, value: unknown): boolean {
    const hash = hashKey(key);
    const before = this.server.get(hash);
    if (before === undefined) return false;
    this.server.set(hash, { key: before.key, has: true, value });
    this.apply();
    return true;
  }

  /**
   * Drops the layers of the mutations a transition shows for the first time: called in
   * that transition's batch, so its results and the layers' removal render together.
   */
  shown(mutationIds: readonly string[]): void {
    const shown = this.layers.filter(({ mutationId }) => mutationId !== undefined && mutationIds.includes(mutationId));
    for (const layer of shown) this.settle(layer);
  }

  private settle(layer: Layer): void {
    const index = this.layers.indexOf(layer);
    if (index < 0) return;
    this.layers.splice(index, 1);
    this.apply();
    // The touched entries then show the server's truth, live or not.
    for (const queryKey of layer.touched.values()) {
      void this.queryClient.invalidateQueries({ queryKey, exact: true });
    }
  }

  /**
   * Runs every layer over the server results and shows the outcome. An update that
   * throws is the caller's error when it is `added`'s; on a replay it keeps what it set
   * before throwing, and the others still run.
   */
  private apply(added?: Layer): void {
    const view = new Map<string, { key: QueryKey; has: boolean; value: unknown }>();
    for (const [hash, { key, has, value }] of this.server) view.set(hash, { key, has, value });
    for (const layer of this.layers) {
      layer.touched.clear();
      const cache: OptimisticQueryCache = {
        getQuery: (ref, args) => {
          const key = convoyQueryKey(ref, args, layer.prefix);
          const shown = view.get(hashKey(key));
          return (shown ? shown.value : this.queryClient.getQueryData(key)) as never;
        },
        setQuery: (ref, args, value) => {
          const key = convoyQueryKey(ref, args, layer.prefix);
          const hash = hashKey(key);
          if (!this.server.has(hash)) {
            // The entry's first layer: what it shows now is the server's.
            const state = this.queryClient.getQueryState(key);
            this.server.set(hash, { key, has: state?.data !== undefined, value: state?.data });
            void this.queryClient.cancelQueries({ queryKey: key, exact: true });
          }
          view.set(hash, { key, has: true, value });
          layer.touched.set(hash, key);
        },
      };
      try {
        layer.update(cache, layer.args);
      } catch (error) {
        if (layer === added) throw error;
      }
    }
    this.showing = true;
    try {
      for (const [hash, result] of this.server) {
        if (this.layers.some((layer) => layer.touched.has(hash))) {
          this.show(view.get(hash)!);
          this.save(hash, result);
        } else {
          // No layer covers it any more: the server's result shows again.
          this.server.delete(hash);
          this.save(hash, undefined);
          this.show(result);
        }
      }
    } finally {
      this.showing = false;
    }
  }

  private show({ key, has, value }: { key: QueryKey; has: boolean; value: unknown }): void {
    const state = this.queryClient.getQueryState(key);
    if (!has) {
      if (state?.data !== undefined) void this.queryClient.resetQueries({ queryKey: key, exact: true });
    } else if (state?.data !== value) {
      this.queryClient.setQueryData(key, value);
    }
  }

  /** Keeps an entry's server result in the cache (so a persister saves it), or removes it. */
  private save(hash: string, result: ServerResult | undefined): void {
    if (this.saved.get(hash) === result) return;
    const key = [SERVER_RESULT, hash];
    if (result === undefined) {
      this.saved.delete(hash);
      this.queryClient.removeQueries({ queryKey: key, exact: true });
    } else {
      this.saved.set(hash, result);
      this.queryClient.setQueryData(key, { key: result.key, has: result.has, value: result.value });
    }
  }
}

const layersOf = new WeakMap<QueryClient, OptimisticLayers>();

/** The optimistic layers of a `QueryClient`. @internal */
export function optimisticLayers(queryClient: QueryClient): OptimisticLayers {
  let layers = layersOf.get(queryClient);
  if (layers === undefined) layersOf.set(queryClient, (layers = new OptimisticLayers(queryClient)));
  return layers;
}
