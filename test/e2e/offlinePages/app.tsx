// An offline-ready page, bundled for Chromium by test/e2e/offlineBrowser.test.ts: the
// setup docs/react.md shows (TanStack's persister in localStorage, convoy/client's
// outbox, optimistic updates registered on the ConvoyProvider), plus a service worker
// (served by the test) so that the page itself loads offline. `?user=<id>`.
import { createAsyncStoragePersister } from "@tanstack/query-async-storage-persister";
import { QueryClient } from "@tanstack/react-query";
import { PersistQueryClientProvider } from "@tanstack/react-query-persist-client";
import { createRoot } from "react-dom/client";
import {
  ConvoyProvider,
  defineOptimisticUpdate,
  useMutation,
  useQuery,
  type OptimisticQueryCache,
} from "../../../react/index.js";
import { createConvoyClient, localStorageOutbox, type OutboxEntry } from "../../../runtime/client.js";
import type { FunctionReference } from "../../../runtime/functions/functionReference.js";

const userId = new URLSearchParams(location.search).get("user") ?? "";
const api = {
  byUser: { kind: "query", path: "projects.byUser" } as unknown as FunctionReference<
    "query",
    { userId: string },
    string[]
  >,
  add: { kind: "mutation", path: "projects.add" } as unknown as FunctionReference<
    "mutation",
    { userId: string; name: string }
  >,
  /** Refuses an empty name. */
  addAt: { kind: "mutation", path: "projects.addAt" } as unknown as FunctionReference<
    "mutation",
    { userId: string; name: string; createdAt: number }
  >,
};

const queryClient = new QueryClient({
  // Restored results must outlive the persister's maxAge (24 h by default).
  defaultOptions: { queries: { gcTime: 24 * 60 * 60 * 1000 } },
});
const persister = createAsyncStoragePersister({ storage: window.localStorage });
const outboxErrors: { entry: OutboxEntry; code: string }[] = [];
const convoy = createConvoyClient({
  outbox: localStorageOutbox(),
  mutationRetryMs: Infinity,
  onOutboxError: (entry, error) => outboxErrors.push({ entry, code: error.code }),
});

const appendName = (cache: OptimisticQueryCache, userId: string, name: string) => {
  const names = cache.getQuery(api.byUser, { userId });
  if (names !== undefined) cache.setQuery(api.byUser, { userId }, [...names, name]);
};
// Outside components: the same list on every render, and for the outbox's leftovers on load.
const optimisticUpdates = [
  defineOptimisticUpdate(api.add, (cache, args) => appendName(cache, args.userId, args.name)),
  defineOptimisticUpdate(api.addAt, (cache, args) => appendName(cache, args.userId, args.name)),
];

function Projects() {
  const { data, status, fetchStatus } = useQuery(api.byUser, { userId });
  const add = useMutation(api.add);
  const addAt = useMutation(api.addAt);
  Object.assign(window, {
    add: (name: string) => add.mutate({ userId, name }),
    addAt: (name: string) => addAt.mutate({ userId, name, createdAt: 1 }),
  });
  return (
    <>
      <p data-testid="names">{data === undefined ? "-" : data.map((name) => name || "(empty)").join(",")}</p>
      <p data-testid="status">{`${status} ${fetchStatus}`}</p>
    </>
  );
}

Object.assign(window, { convoy, queryClient, outboxErrors });
void navigator.serviceWorker?.register("/sw.js");
createRoot(document.getElementById("root")!).render(
  <PersistQueryClientProvider client={queryClient} persistOptions={{ persister }}>
    <ConvoyProvider client={convoy} queryClient={queryClient} optimisticUpdates={optimisticUpdates}>
      <Projects />
    </ConvoyProvider>
  </PersistQueryClientProvider>,
);
