// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// A stream the server refuses (the per-client limit) shows as the hook's error, and the
// hook recovers by itself once there is room.
import { QueryClient } from "@tanstack/react-query";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvoyProvider, useQuery } from "../../react/index.js";
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

let server: TestServer;
let writer: ConvoyClient;
const clients: ConvoyClient[] = [];

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, liveTestFunctions, { maxStreamsPerClient: 1 });
  writer = createConvoyClient({ url: server.url });
});
afterEach(() => cleanup());
afterAll(async () => {
  for (const client of clients) client.close();
  await server?.close();
});

function Projects({ userId }: { userId: Id<"users"> }) {
  const { data, error } = useQuery(api.projects.byUser, { userId });
  if (error) return <p data-testid="names">{`${error.code}: ${error.message}`}</p>;
  return <p data-testid="names">{data === undefined ? "loading" : data.join(",") || "none"}</p>;
}

describe("limits reach useQuery", () => {
  it("a refused stream is the hook's error, with the server's message; it recovers when a stream frees up", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Ada" });
    // Another tab of the same address holds the one stream allowed.
    const otherTab = createConvoyClient({ url: server.url });
    clients.push(otherTab);
    const stopOther = otherTab.watch(api.projects.byUser, { userId }, () => {});
    await waitFor(() => expect(server.convoy.streams).toBe(1), { timeout: 10_000 });

    const page = createConvoyClient({ url: server.url });
    clients.push(page);
    render(
      <ConvoyProvider client={page} queryClient={new QueryClient()}>
        <Projects userId={userId} />
      </ConvoyProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("names").textContent).toMatch(/^TOO_MANY_REQUESTS: /), {
      timeout: 10_000,
    });
    expect(screen.getByTestId("names").textContent).toContain("already has 1 live streams open");

    stopOther();
    await writer.mutation(api.projects.add, { userId, name: "back" });
    await waitFor(() => expect(screen.getByTestId("names").textContent).toBe("back"), { timeout: 15_000 });
  });
});
