// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// A page started while the server is out of reach, on a cache TanStack's persister
// restores and an outbox an earlier page left: the ConvoyProvider shows each pending
// mutation through its registered optimistic update, over the restored results, in call
// order; once the server is back each is applied once, a refused one is rolled back and
// reported, and the page ends on the server's results.
import { createAsyncStoragePersister } from "@tanstack/query-async-storage-persister";
import { QueryClient } from "@tanstack/react-query";
import { PersistQueryClientProvider, persistQueryClientSave } from "@tanstack/react-query-persist-client";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { EventSource } from "eventsource";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { ConvoyProvider, defineOptimisticUpdate, useQuery, type OptimisticQueryCache } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { MutationOutbox, OutboxEntry } from "../../runtime/client/mutationOutbox.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { FaultyProxy } from "../support/faultyProxy.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation", addAt: "mutation" },
  users: { add: "mutation" },
});

const append = (cache: OptimisticQueryCache, userId: string, name: string) => {
  const names = cache.getQuery(api.projects.byUser, { userId: userId as never });
  if (names !== undefined) cache.setQuery(api.projects.byUser, { userId: userId as never }, [...names, name]);
};
const optimisticUpdates = [
  defineOptimisticUpdate(api.projects.add, (cache, { userId, name }) => append(cache, userId, name)),
  defineOptimisticUpdate(api.projects.addAt, (cache, { userId, name }) => append(cache, userId, name)),
];

let server: TestServer;
let proxy: FaultyProxy;
let proxyPort: number;
let writer: ConvoyClient;

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, liveTestFunctions);
  writer = createConvoyClient({ url: server.url });
  proxy = new FaultyProxy(Number(new URL(server.url).port));
  proxyPort = await proxy.listen();
});
afterEach(() => cleanup());
afterAll(async () => {
  writer?.close();
  await proxy?.close();
  await server?.close();
});

/** A storage as `localStorage` is, in memory. */
function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

function Names({ userId }: { userId: string }) {
  const { data, status } = useQuery(api.projects.byUser, { userId: userId as never });
  return (
    <>
      <p data-testid="names">{data === undefined ? "-" : data.map((name) => name || "(empty)").join(",")}</p>
      <p data-testid="status">{status}</p>
    </>
  );
}

it("shows the outbox's pending mutations over the restored cache, in order, then converges once each is applied", async () => {
  const userId = await writer.mutation(api.users.add, { name: "Ada" });
  await writer.mutation(api.projects.add, { userId, name: "a" });

  // What the earlier page left: the persisted cache (saved before its mutations showed)...
  const storage = memoryStorage();
  const persister = createAsyncStoragePersister({ storage, throttleTime: 0 });
  const earlier = new QueryClient();
  earlier.setQueryData([["projects", "byUser"], { input: { userId }, type: "query" }], ["a"]);
  // (TanStack's persister packages pin an older query-core: the same class, another type.)
  await persistQueryClientSave({ queryClient: earlier as never, persister });
  // ...and its outbox: two adds, a refused one (an empty name) between them, and one with no optimistic update.
  const entry = (path: string, args: object, n: number): OutboxEntry => ({
    path,
    args,
    mutationId: `offline-resume-${n}-${userId}`,
  });
  let saved: OutboxEntry[] = [
    entry("projects.add", { userId, name: "b" }, 1),
    entry("projects.addAt", { userId, name: "", createdAt: 1 }, 2),
    entry("projects.add", { userId, name: "c" }, 3),
    entry("users.add", { name: "Bob" }, 4),
  ];
  const outbox: MutationOutbox = { load: () => saved, save: (entries) => void (saved = entries) };

  // The server is out of reach when the page starts.
  await proxy.close();
  const refused: [string, string][] = [];
  const client = createConvoyClient({
    url: `http://127.0.0.1:${proxyPort}`,
    EventSource,
    outbox,
    mutationRetryMs: Infinity,
    onOutboxError: (failed: OutboxEntry, error: ConvoyError) => refused.push([failed.path, error.code]),
  });
  const queryClient = new QueryClient({ defaultOptions: { queries: { gcTime: Infinity } } });
  render(
    <PersistQueryClientProvider client={queryClient} persistOptions={{ persister }}>
      <ConvoyProvider client={client} queryClient={queryClient} optimisticUpdates={optimisticUpdates}>
        <Names userId={userId} />
      </ConvoyProvider>
    </PersistQueryClientProvider>,
  );
  await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("a,b,(empty),c"));
  expect(screen.getByTestId("status").textContent).toBe("success");
  // Offline a while: the restored result stays, with the layers on top, and nothing is lost.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(screen.getByTestId("names").textContent).toBe("a,b,(empty),c");
  expect(saved).toHaveLength(4);
  // The server is back: each pending mutation is applied once, in call order.
  proxy = new FaultyProxy(Number(new URL(server.url).port));
  await proxy.listen(proxyPort);
  await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("a,b,c"), { timeout: 20_000 });
  expect(await writer.query(api.projects.byUser, { userId })).toEqual(["a", "b", "c"]);
  await waitFor(() => expect(saved).toEqual([]), { timeout: 10_000 });
  expect(refused).toEqual([["projects.addAt", "BAD_REQUEST"]]);
  // No optimistic layer is left (each went once the watch showed its mutation), nor a server result kept for one.
  await waitFor(() => expect(queryClient.getQueryCache().findAll({ queryKey: ["$convoy:serverResult"] })).toEqual([]));
  expect(screen.getByTestId("names").textContent).toBe("a,b,c");
  client.close();
}, 60_000);
