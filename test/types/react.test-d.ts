import { describe, expectTypeOf, it } from "vitest";
import {
  defineOptimisticUpdate,
  useMutation,
  usePaginatedQuery,
  useQuery,
  type PaginationStatus,
  type RegisteredOptimisticUpdate,
} from "../../react/index.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { Id } from "../../runtime/index.js";
import type { liveTestFunctions } from "../support/liveTestApp.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation", page: "query", addAt: "mutation" },
  users: { add: "mutation" },
});
declare const userId: Id<"users">;

describe("convoy/react types", () => {
  it("useQuery infers data and error from the reference", () => {
    const result = useQuery(api.projects.byUser, { userId }, { enabled: true, subscribe: false, staleTime: 1000 });
    expectTypeOf(result.data).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(result.error).toEqualTypeOf<ConvoyError | null>();
    // @ts-expect-error userId must be an id of users
    useQuery(api.projects.byUser, { userId: "x" });
    // @ts-expect-error a mutation is not a query
    useQuery(api.projects.add, { userId, name: "x" });
  });

  it("useMutation infers its variables and result", async () => {
    const add = useMutation(api.projects.add);
    expectTypeOf(add.mutate).parameter(0).toEqualTypeOf<{ userId: Id<"users">; name: string }>();
    expectTypeOf(await add.mutateAsync({ userId, name: "x" })).toEqualTypeOf<Id<"projects">>();
    // @ts-expect-error name is required
    add.mutate({ userId });
    // @ts-expect-error a query is not a mutation
    useMutation(api.projects.byUser);
  });

  it("usePaginatedQuery infers items from the page type and leaves paginationOpts out of args", () => {
    const list = usePaginatedQuery(api.projects.page, { userId }, { initialNumItems: 10 });
    expectTypeOf(list.results).toEqualTypeOf<{ name: string; createdAt: number }[]>();
    expectTypeOf(list.status).toEqualTypeOf<PaginationStatus>();
    expectTypeOf(list.loadMore).toEqualTypeOf<(numItems: number) => void>();
    // @ts-expect-error byUser takes no paginationOpts
    usePaginatedQuery(api.projects.byUser, { userId }, { initialNumItems: 10 });
    // @ts-expect-error userId is required
    usePaginatedQuery(api.projects.page, {}, { initialNumItems: 10 });
    // @ts-expect-error initialNumItems is required
    usePaginatedQuery(api.projects.page, { userId }, {});
  });

  it("optimisticUpdate is typed by the mutation's args and the query's result", () => {
    useMutation(api.projects.addAt, {
      optimisticUpdate: (cache, args) => {
        expectTypeOf(args).toEqualTypeOf<{ userId: Id<"users">; name: string; createdAt: number }>();
        const names = cache.getQuery(api.projects.byUser, { userId: args.userId });
        expectTypeOf(names).toEqualTypeOf<string[] | undefined>();
        cache.setQuery(api.projects.byUser, { userId: args.userId }, [...(names ?? []), args.name]);
        // @ts-expect-error byUser holds names, not numbers
        cache.setQuery(api.projects.byUser, { userId: args.userId }, [1]);
      },
    });
  });

  it("defineOptimisticUpdate is typed by the mutation's args, and fits ConvoyProvider's list", () => {
    const registered = defineOptimisticUpdate(api.projects.addAt, (cache, args) => {
      expectTypeOf(args).toEqualTypeOf<{ userId: Id<"users">; name: string; createdAt: number }>();
      // @ts-expect-error addAt has no args.title
      void args.title;
    });
    const list: readonly RegisteredOptimisticUpdate<any>[] = [
      registered,
      defineOptimisticUpdate(api.users.add, () => {}),
    ];
    void list;
    // @ts-expect-error a query has no optimistic update
    defineOptimisticUpdate(api.projects.byUser, () => {});
  });
});
