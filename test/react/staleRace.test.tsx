// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// Never stale on screen: a live entry is filled by its watch (one run per mount), is not
// refetched while live, and an HTTP answer older than a push never replaces the push.
import { focusManager, QueryClient } from "@tanstack/react-query";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvoyProvider, convoyQueryKey, useQuery } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { Id } from "../../runtime/index.js";
import { DelayingProxy } from "../support/delayingProxy.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

let server: TestServer;
let proxy: DelayingProxy;
let client: ConvoyClient;
let writer: ConvoyClient;

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, liveTestFunctions);
  proxy = new DelayingProxy(server.url);
  // The page talks to the server through the proxy; the writer directly.
  client = createConvoyClient({ url: await proxy.listen() });
  writer = createConvoyClient({ url: server.url });
});
afterEach(() => cleanup());
afterAll(async () => {
  client?.close();
  await proxy?.close();
  await server?.close();
});

function Projects({ userId }: { userId: Id<"users"> }) {
  const { data, error } = useQuery(api.projects.byUser, { userId });
  if (error) return <p data-testid="names">error: {error.message}</p>;
  return <p data-testid="names">{data === undefined ? "loading" : data.join(",") || "none"}</p>;
}

describe("a live useQuery is never stale", () => {
  it("runs once per mount (the watch's first result, no HTTP query), and is not refetched on focus", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Ada" });
    const queries = proxy.count("/api/query");
    render(
      <ConvoyProvider client={client} queryClient={new QueryClient()}>
        <Projects userId={userId} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"), { timeout: 10_000 });
    act(() => {
      focusManager.setFocused(false);
      focusManager.setFocused(true);
    });
    await writer.mutation(api.projects.add, { userId, name: "pushed" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("pushed"), { timeout: 10_000 });
    expect(proxy.count("/api/query") - queries).toBe(0);
    expect(server.convoy.live.stats().watches).toBe(1);
  });

  it("under StrictMode (effects run twice) too: live, one watch, no HTTP query", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Cy" });
    const queries = proxy.count("/api/query");
    const watchesBefore = server.convoy.live.stats().watches;
    render(
      <StrictMode>
        <ConvoyProvider client={client} queryClient={new QueryClient()}>
          <Projects userId={userId} />
        </ConvoyProvider>
      </StrictMode>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"), { timeout: 10_000 });
    await writer.mutation(api.projects.add, { userId, name: "strict" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("strict"), { timeout: 10_000 });
    expect(proxy.count("/api/query") - queries).toBe(0);
    await waitFor(() => expect(server.convoy.live.stats().watches - watchesBefore).toBe(1));
  });

  it("an HTTP answer sent before a push and delivered after it does not replace the pushed result", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Bea" });
    const queryClient = new QueryClient();
    render(
      <ConvoyProvider client={client} queryClient={queryClient}>
        <Projects userId={userId} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("none"), { timeout: 10_000 });

    // A refetch (tRPC's invalidate, a mutation's settle) is answered "none" by the server,
    // and the answer is held on the way.
    proxy.hold((request) => request.url === "/api/query");
    const key = convoyQueryKey(api.projects.byUser, { userId });
    const refetched = queryClient.invalidateQueries({ queryKey: key, exact: true });
    await proxy.answerHeld();
    // Meanwhile a change is pushed and shown...
    await writer.mutation(api.projects.add, { userId, name: "newer" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("newer"), { timeout: 10_000 });
    // ...then the older answer arrives: the page stays on the newer value.
    proxy.release();
    await refetched;
    await waitFor(() => expect(queryClient.getQueryState(key)?.fetchStatus).toBe("idle"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(screen.getByTestId("names").textContent).toBe("newer");
    expect(queryClient.getQueryData(key)).toEqual(["newer"]);
  });
});
