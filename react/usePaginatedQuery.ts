import { useQueries, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState } from "react";
import type { ConvoyError } from "../runtime/errors.js";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "../runtime/functions/functionReference.js";
import type { PaginationOptions, PaginationResult } from "../runtime/store/query.js";
import { useConvoyClient, useQueryKeyPrefix } from "./ConvoyProvider.js";
import { SUBSCRIBE_OPTION } from "./liveQueryCache.js";
import { convoyQueryKey } from "./queryKey.js";
import { plainQueryDefaults } from "./useQuery.js";

/** A query that takes `paginationOpts` and returns one page (`db.query(...).paginate(...)`). */
export type PaginatedQueryReference = FunctionReference<
  "query",
  { paginationOpts: PaginationOptions },
  PaginationResult<unknown>
>;

/** A paginated query's arguments other than `paginationOpts`. */
export type PaginatedQueryArgs<TRef extends PaginatedQueryReference> = Omit<FunctionArgs<TRef>, "paginationOpts">;

/** The type of one item of a paginated query's pages. */
export type PaginatedQueryItem<TRef extends PaginatedQueryReference> = FunctionReturnType<TRef>["page"][number];

/** Where a paginated list is: loading its first page, ready for more, loading more, or at its end. */
export type PaginationStatus = "LoadingFirstPage" | "CanLoadMore" | "LoadingMore" | "Exhausted";

/** What {@link usePaginatedQuery} returns. */
export interface UsePaginatedQueryResult<TItem> {
  /** Every loaded page's items, in order. */
  results: TItem[];
  status: PaginationStatus;
  /** True while the first page loads. */
  isLoading: boolean;
  /** The first error of any page, if one failed. */
  error: ConvoyError | null;
  /** Loads `numItems` more items after the last page; does nothing unless `status` is "CanLoadMore". */
  loadMore: (numItems: number) => void;
}

/** Options of {@link usePaginatedQuery}. */
export interface UsePaginatedQueryOptions {
  /** How many items the first page holds. */
  initialNumItems: number;
  /** Keep every loaded page live. @default true */
  subscribe?: boolean;
  /** Set to false to load nothing (e.g. until an id is known). @default true */
  enabled?: boolean;
}

interface PageSpec {
  cursor: string | null;
  numItems: number;
  endCursor?: string;
}

/**
 * A growing, live list over a paginated query. Each loaded page is a cached TanStack
 * query kept live by its own watch (the `ConvoyProvider`'s); when the next page loads, the page before it is
 * pinned to the span it had (its `endCursor`), so items added or removed later show in
 * the right page and no item is shown twice or skipped. Changing `args` starts over.
 *
 * @example
 * ```tsx
 * const { results, status, loadMore } = usePaginatedQuery(api.projects.page, { userId }, { initialNumItems: 20 });
 * // ...
 * <button disabled={status !== "CanLoadMore"} onClick={() => loadMore(20)}>More</button>
 * ```
 */
export function usePaginatedQuery<TRef extends PaginatedQueryReference>(
  ref: TRef,
  args: PaginatedQueryArgs<TRef>,
  options: UsePaginatedQueryOptions,
): UsePaginatedQueryResult<PaginatedQueryItem<TRef>> {
  const client = useConvoyClient();
  const queryClient = useQueryClient();
  const prefix = useQueryKeyPrefix();
  const { initialNumItems, subscribe = true, enabled = true } = options;
  if (!Number.isSafeInteger(initialNumItems) || initialNumItems < 1) {
    throw new TypeError(`usePaginatedQuery: initialNumItems must be a whole number >= 1, got ${initialNumItems}`);
  }
  const listKey = JSON.stringify([ref.path, args, initialNumItems]);
  const [state, setState] = useState<{ listKey: string; pages: PageSpec[] }>({ listKey, pages: [] });
  const pages: PageSpec[] =
    state.listKey === listKey && state.pages.length > 0 ? state.pages : [{ cursor: null, numItems: initialNumItems }];
  const pageArgs = pages.map((page) => ({
    ...(args as object),
    paginationOpts: {
      numItems: page.numItems,
      cursor: page.cursor,
      ...(page.endCursor === undefined ? {} : { endCursor: page.endCursor }),
    },
  }));
  const keys = pageArgs.map((pageArg) => convoyQueryKey(ref, pageArg, prefix));

  // Each page is an entry the ConvoyProvider keeps live (one watch per page) unless subscribe is false.
  const plain = subscribe ? {} : plainQueryDefaults(queryClient);
  const keysHash = JSON.stringify(keys);
  const queries = useQueries({
    queries: pageArgs.map((pageArg, i) => ({
      ...plain,
      queryKey: keys[i]!,
      queryFn: () => client.query(ref, pageArg as FunctionArgs<TRef>),
      enabled,
      [SUBSCRIBE_OPTION]: subscribe,
    })),
  });

  const last = queries[queries.length - 1]!;
  const lastData = last.data;
  const firstLoading = queries[0]!.data === undefined && queries[0]!.error === null;
  const status: PaginationStatus = firstLoading
    ? "LoadingFirstPage"
    : lastData === undefined
      ? "LoadingMore"
      : lastData.isDone
        ? "Exhausted"
        : "CanLoadMore";

  const loadMore = useCallback(
    (numItems: number) => {
      if (!Number.isSafeInteger(numItems) || numItems < 1) {
        throw new TypeError(`loadMore: numItems must be a whole number >= 1, got ${numItems}`);
      }
      if (lastData === undefined || lastData.isDone) return;
      const end = lastData.continueCursor;
      const pinned: PageSpec = { ...pages[pages.length - 1]!, endCursor: end };
      // The pinned page holds what the open page holds now: seed its cache so nothing flickers.
      queryClient.setQueryData(
        convoyQueryKey(
          ref,
          { ...(args as object), paginationOpts: { numItems: pinned.numItems, cursor: pinned.cursor, endCursor: end } },
          prefix,
        ),
        { ...lastData, continueCursor: end },
      );
      setState({ listKey, pages: [...pages.slice(0, -1), pinned, { cursor: end, numItems }] });
    },
    // keysHash stands for pages and args.
    [lastData, listKey, keysHash, queryClient, ref],
  );

  const results: PaginatedQueryItem<TRef>[] = [];
  for (const query of queries) {
    if (query.data) results.push(...(query.data.page as PaginatedQueryItem<TRef>[]));
  }
  return {
    results,
    status,
    isLoading: status === "LoadingFirstPage",
    error: (queries.find((query) => query.error)?.error as ConvoyError | undefined) ?? null,
    loadMore,
  };
}
