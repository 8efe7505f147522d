// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
import type { Server } from "node:http";
import { QueryClient } from "@tanstack/react-query";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { EventSource } from "eventsource";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvoyProvider, convoyQueryKey, useMutation, useQuery } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { createConvoyApp, type ConvoyApp } from "../../runtime/server/expressApp.js";
import { startLive, type LiveHarness } from "../support/liveHarness.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

let live: LiveHarness;
let convoy: ConvoyApp;
let server: Server;
let client: ConvoyClient;
let writer: ConvoyClient;

beforeAll(async () => {
  live = await startLive(pgliteFactory, liveTestFunctions);
  convoy = createConvoyApp({ runtime: live.runtime, functions: liveTestFunctions, live: live.engine });
  server = convoy.app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  client = createConvoyClient({ url, EventSource });
  writer = createConvoyClient({ url });
});
afterEach(() => cleanup());
afterAll(async () => {
  client?.close();
  convoy?.streams?.closeAll();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await live?.dispose();
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
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"));
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
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"));
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
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"));
    expect(live.engine.stats().watches).toBe(0);
    view.rerender(
      <ConvoyProvider client={client}>
        <Projects userId={bob} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(live.engine.stats().watches).toBe(1));
    await writer.mutation(api.projects.add, { userId: bob, name: "bob's" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("bob's"), { timeout: 5000 });
    view.unmount();
    await waitFor(() => expect(live.engine.stats().watches).toBe(0), { timeout: 5000 });
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
