// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
import { QueryClient } from "@tanstack/react-query";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { EventSource } from "eventsource";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvoyProvider, convoyQueryKey, useMutation, usePaginatedQuery, useQuery } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation", page: "query", addAt: "mutation" },
  users: { add: "mutation" },
});

let server: TestServer;
let client: ConvoyClient;
let writer: ConvoyClient;

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, liveTestFunctions);
  const { url } = server;
  client = createConvoyClient({ url, EventSource });
  writer = createConvoyClient({ url });
});
afterEach(() => cleanup());
afterAll(async () => {
  client?.close();
  await server?.close();
});

function Projects({ userId, subscribe = true }: { userId: string; subscribe?: boolean }) {
  const { data, isLoading } = useQuery(api.projects.byUser, { userId: userId as never }, { subscribe });
  const add = useMutation(api.projects.add);
  if (isLoading) return <p>loading</p>;
  return (
    <div>
      <p data-testid="names">{(data ?? []).join(",") || "none"}</p>
      <button onClick={() => add.mutate({ userId: userId as never, name: "clicked" })}>add</button>
      {add.error ? <p data-testid="error">{add.error.message}</p> : null}
    </div>
  );
}

describe("convoy/react", () => {
  it("useQuery is live: a change made elsewhere shows without refetching", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Ada" });
    const queryClient = new QueryClient();
    render(
      <ConvoyProvider client={client} queryClient={queryClient}>
        <Projects userId={userId} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"), { timeout: 5000 });
    await writer.mutation(api.projects.add, { userId, name: "from elsewhere" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("from elsewhere"), { timeout: 5000 });
    // The cache entry has @trpc/react-query's key for the same procedure.
    expect(queryClient.getQueryData([["projects", "byUser"], { input: { userId }, type: "query" }])).toEqual([
      "from elsewhere",
    ]);
    expect(convoyQueryKey(api.projects.byUser, { userId })).toEqual([
      ["projects", "byUser"],
      { input: { userId }, type: "query" },
    ]);
  });

  it("useMutation writes; the watched query updates", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Bea" });
    render(
      <ConvoyProvider client={client}>
        <Projects userId={userId} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"), { timeout: 5000 });
    await act(async () => screen.getByText("add").click());
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("clicked"), { timeout: 5000 });
  });

  it("subscribe: false reads once; changing args moves the watch; unmount releases it", async () => {
    const ada = await writer.mutation(api.users.add, { name: "Cy" });
    const bob = await writer.mutation(api.users.add, { name: "Dee" });
    const view = render(
      <ConvoyProvider client={client}>
        <Projects userId={ada} subscribe={false} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"), { timeout: 5000 });
    expect(server.convoy.live.stats().watches).toBe(0);
    view.rerender(
      <ConvoyProvider client={client}>
        <Projects userId={bob} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(server.convoy.live.stats().watches).toBe(1));
    await writer.mutation(api.projects.add, { userId: bob, name: "bob's" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("bob's"), { timeout: 5000 });
    view.unmount();
    await waitFor(() => expect(server.convoy.live.stats().watches).toBe(0), { timeout: 5000 });
  });

  it("without a provider, the hook says what to do", () => {
    const spy = console.error;
    console.error = () => {};
    try {
      expect(() => render(<Projects userId="users_x" />)).toThrow(/wrap your app in <ConvoyProvider/);
    } finally {
      console.error = spy;
    }
  });
});

function PagedProjects({ userId }: { userId: string }) {
  const { results, status, loadMore } = usePaginatedQuery(
    api.projects.page,
    { userId: userId as never },
    { initialNumItems: 2 },
  );
  return (
    <div>
      <p data-testid="paged">{results.map((project) => project.createdAt).join(",")}</p>
      <p data-testid="status">{status}</p>
      <button onClick={() => loadMore(2)}>more</button>
    </div>
  );
}

describe("usePaginatedQuery", () => {
  it("loads pages on demand, keeps them live, and never shows an item twice", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Pam" });
    for (const createdAt of [10, 20, 30, 40, 50]) {
      await writer.mutation(api.projects.addAt, { userId, name: `p${createdAt}`, createdAt });
    }
    render(
      <ConvoyProvider client={client}>
        <PagedProjects userId={userId} />
      </ConvoyProvider>,
    );
    const paged = () => screen.getByTestId("paged").textContent;
    const status = () => screen.getByTestId("status").textContent;
    await waitFor(() => expect(paged()).toBe("10,20"));
    expect(status()).toBe("CanLoadMore");
    await act(async () => screen.getByText("more").click());
    await waitFor(() => expect(paged()).toBe("10,20,30,40"));
    // Inside the first page's span: that page grows, the second keeps its items.
    await writer.mutation(api.projects.addAt, { userId, name: "inside", createdAt: 15 });
    await waitFor(() => expect(paged()).toBe("10,15,20,30,40"), { timeout: 5000 });
    await act(async () => screen.getByText("more").click());
    await waitFor(() => expect(status()).toBe("Exhausted"));
    expect(paged()).toBe("10,15,20,30,40,50");
    // After the end: the open last page picks it up.
    await writer.mutation(api.projects.addAt, { userId, name: "late", createdAt: 60 });
    await waitFor(() => expect(paged()).toBe("10,15,20,30,40,50,60"), { timeout: 5000 });
    expect(server.convoy.live.stats().watches).toBe(3);
  });
});

function OptimisticProjects({ userId, name }: { userId: string; name: string }) {
  const { data } = useQuery(api.projects.byUser, { userId: userId as never });
  const add = useMutation(api.projects.addAt, {
    optimisticUpdate: (cache, args) => {
      const names = cache.getQuery(api.projects.byUser, { userId: args.userId });
      if (names) cache.setQuery(api.projects.byUser, { userId: args.userId }, [...names, `${args.name} (saving)`]);
    },
  });
  return (
    <div>
      <p data-testid="optimistic">{data === undefined ? "loading" : data.join(",") || "none"}</p>
      <button onClick={() => add.mutate({ userId: userId as never, name, createdAt: 1 })}>save</button>
      {add.error ? <p data-testid="optimistic-error">{add.error.message}</p> : null}
    </div>
  );
}

/** Renders the component on a fresh cache and records every value the cache held for the user's list. */
async function renderOptimistic(name: string) {
  const userId = await writer.mutation(api.users.add, { name: "Opt" });
  const queryClient = new QueryClient();
  const key = JSON.stringify(convoyQueryKey(api.projects.byUser, { userId }));
  const cached: unknown[] = [];
  queryClient.getQueryCache().subscribe((event) => {
    if (event.type === "updated" && event.action.type === "success" && JSON.stringify(event.query.queryKey) === key) {
      // Listeners run batched, later: the action holds the value of that moment.
      cached.push(event.action.data);
    }
  });
  render(
    <ConvoyProvider client={client} queryClient={queryClient}>
      <OptimisticProjects userId={userId} name={name} />
    </ConvoyProvider>,
  );
  await waitFor(() => expect(screen.getByTestId("optimistic").textContent).toBe("none"));
  await act(async () => screen.getByText("save").click());
  return cached;
}

describe("optimistic updates", () => {
  it("show the expected result at once, then the server's", async () => {
    const cached = await renderOptimistic("fast");
    await waitFor(() => expect(screen.getByTestId("optimistic").textContent).toBe("fast"), { timeout: 5000 });
    expect(cached).toContainEqual(["fast (saving)"]);
    expect(cached.at(-1)).toEqual(["fast"]);
  });

  it("are undone when the mutation fails", async () => {
    const cached = await renderOptimistic("");
    await waitFor(() => expect(screen.getByTestId("optimistic-error").textContent).toMatch(/A project needs a name/));
    await waitFor(() => expect(cached.at(-1)).toEqual([]));
    expect(cached).toContainEqual([" (saving)"]);
    expect(screen.getByTestId("optimistic").textContent).toBe("none");
  });
});
