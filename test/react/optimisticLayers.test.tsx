// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// Optimistic updates as layers over the server's results (Convex's model): a result the
// server pushes while a mutation is pending becomes the base and the pending update
// stays on top; once the mutation is applied the page shows the server's result, with
// the mutation once.
import { QueryClient } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { EventSource } from "eventsource";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { ConvoyProvider, defineOptimisticUpdate, useMutation, useQuery } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { Id } from "../../runtime/index.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

const optimisticUpdates = [
  defineOptimisticUpdate(api.projects.add, (cache, { userId, name }) => {
    const names = cache.getQuery(api.projects.byUser, { userId });
    if (names !== undefined) cache.setQuery(api.projects.byUser, { userId }, [...names, name]);
  }),
];

let server: TestServer;
let writer: ConvoyClient;

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, liveTestFunctions);
  writer = createConvoyClient({ url: server.url });
});
afterEach(() => cleanup());
afterAll(async () => {
  writer?.close();
  await server?.close();
});

/**
 * Renders a page listing `userId`'s project names ("names", "-" before the first
 * result), the state of its `projects.add` mutation ("status") and an "add" button that
 * adds "mine". Returns every text "names" showed, in order.
 */
function renderNamesPage(client: ConvoyClient, userId: Id<"users">): string[] {
  const seen: string[] = [];
  function Page() {
    const { data } = useQuery(api.projects.byUser, { userId });
    const add = useMutation(api.projects.add);
    const text = data === undefined ? "-" : data.join(",");
    if (seen.at(-1) !== text) seen.push(text);
    return (
      <>
        <p data-testid="names">{text}</p>
        <p data-testid="status">{add.status}</p>
        <button onClick={() => add.mutate({ userId, name: "mine" })}>add</button>
      </>
    );
  }
  render(
    <ConvoyProvider client={client} queryClient={new QueryClient()} optimisticUpdates={optimisticUpdates}>
      <Page />
    </ConvoyProvider>,
  );
  return seen;
}

/** True for a request to `POST /api/mutation`. */
function isMutationRequest(input: RequestInfo | URL): boolean {
  return (input instanceof Request ? input.url : input.toString()).endsWith("/api/mutation");
}

it("a result pushed while a mutation is pending gets the pending update on top; the applied mutation shows once", async () => {
  const userId = await writer.mutation(api.users.add, { name: "Ada" });
  await writer.mutation(api.projects.add, { userId, name: "a" });
  // This page's mutations cannot get through until `reachable`; its stream can.
  let reachable = false;
  const client = createConvoyClient({
    url: server.url,
    EventSource,
    mutationRetryMs: Infinity,
    fetch: (input, init) =>
      !reachable && isMutationRequest(input) ? Promise.reject(new TypeError("network down")) : fetch(input, init),
  });
  const seen = renderNamesPage(client, userId);
  await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("a"));
  screen.getByText("add").click();
  await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("a,mine"));

  // Another client's change is pushed while "mine" is pending: it shows under "mine".
  await writer.mutation(api.projects.add, { userId, name: "other" });
  await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("a,other,mine"), { timeout: 5000 });

  reachable = true;
  await expect
    .poll(() => writer.query(api.projects.byUser, { userId }), { timeout: 10_000 })
    .toEqual(["a", "other", "mine"]);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(screen.getByTestId("names").textContent).toBe("a,other,mine");
  // Never without the pending update, never with it twice.
  expect(seen).toEqual(["-", "a", "a,mine", "a,other,mine"]);
  client.close();
}, 30_000);

it("a transition that shows the mutation before its answer arrives drops its update in the same render", async () => {
  const userId = await writer.mutation(api.users.add, { name: "Bea" });
  await writer.mutation(api.projects.add, { userId, name: "b" });
  // The mutation's answer is held back: the stream's transition showing it arrives first.
  let answerHeld = false;
  const client = createConvoyClient({
    url: server.url,
    EventSource,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (isMutationRequest(input)) {
        answerHeld = true;
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
      return response;
    },
  });
  const seen = renderNamesPage(client, userId);
  await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("b"));
  screen.getByText("add").click();
  await waitFor(() => expect(screen.getByTestId("status").textContent).toBe("success"), { timeout: 10_000 });
  expect(answerHeld).toBe(true);
  expect(screen.getByTestId("names").textContent).toBe("b,mine");
  // Never the server's "mine" with the optimistic one on top.
  expect(seen).toEqual(["-", "b", "b,mine"]);
  client.close();
}, 30_000);
