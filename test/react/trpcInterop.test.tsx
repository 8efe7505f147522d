// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
// A host app that merged Convoy into its own tRPC router, with a React app using
// @trpc/react-query and convoy/react side by side on one QueryClient.
import type { Server } from "node:http";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { createTRPCReact } from "@trpc/react-query";
import { initTRPC } from "@trpc/server";
import { createExpressMiddleware, type CreateExpressContextOptions } from "@trpc/server/adapters/express";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { EventSource } from "eventsource";
import express from "express";
import { useState } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvoyProvider, useQuery } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { Id } from "../../runtime/index.js";
import type { ConvoyServer } from "../../runtime/server/convoyServer.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

/** The host's own context: who is signed in, read from its session (a header here). */
interface HostContext {
  user: { id: string } | null;
}
const createContext = ({ req }: CreateExpressContextOptions): HostContext => {
  const user = req.headers["x-user"];
  return { user: typeof user === "string" ? { id: user } : null };
};

function createHostRouter(convoy: ConvoyServer<typeof liveTestFunctions>) {
  const t = initTRPC.context<HostContext>().create();
  return t.router({
    hello: t.procedure.query(({ ctx }) => `hello ${ctx.user?.id ?? "stranger"}`),
    convoy: convoy.router(t),
  });
}
type HostRouter = ReturnType<typeof createHostRouter>;

const trpc = createTRPCReact<HostRouter>();

let started: TestServer<typeof liveTestFunctions>;
let server: Server;
let url: string;
let convoy: ConvoyClient;
/** Query reads (not subscriptions) that reached the server, by either route. */
let reads = 0;

beforeAll(async () => {
  // The host states who is calling once: its tRPC context, read by Convoy's endpoints too.
  started = await startTestServer(pgliteFactory, liveTestFunctions, {
    listen: false,
    context: createContext,
    auth: (ctx: HostContext) => (ctx.user ? { subject: ctx.user.id } : null),
  });
  const app = express();
  app.use((request, _response, next) => {
    if (!request.url.startsWith("/api/subscribe") && (request.method !== "GET" || !request.url.includes("live."))) {
      if (request.url.includes("projects.byUser") || request.url.startsWith("/api/query")) reads++;
    }
    next();
  });
  app.use("/trpc", createExpressMiddleware({ router: createHostRouter(started.convoy), createContext }));
  app.use(started.convoy.handler);
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  convoy = createConvoyClient({ url, headers: { "x-user": "alice" } });
});
afterEach(() => cleanup());
afterAll(async () => {
  convoy?.close();
  await started?.convoy.close({ timeoutMs: 1000 });
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await started?.database.dispose();
});

/** tRPC's own hooks, nothing else: the ConvoyProvider keeps the Convoy query live. */
function TrpcProjects({ userId }: { userId: Id<"users"> }) {
  const utils = trpc.useUtils();
  const projects = trpc.convoy.projects.byUser.useQuery({ userId });
  const greeting = trpc.hello.useQuery();
  const me = trpc.convoy.users.me.useQuery();
  return (
    <div>
      <p data-testid="trpc">{projects.data?.join(",") ?? "loading"}</p>
      <p data-testid="hello">{greeting.data ?? ""}</p>
      <p data-testid="me">{me.data ?? ""}</p>
      <button onClick={() => void utils.convoy.projects.byUser.invalidate({ userId })}>invalidate</button>
    </div>
  );
}

/** convoy/react's hook on the same cache entry. */
function ConvoyProjects({ userId }: { userId: Id<"users"> }) {
  const { data } = useQuery(api.projects.byUser, { userId });
  return <p data-testid="convoy">{data?.join(",") ?? "loading"}</p>;
}

/** Ten more live tRPC queries on one page. */
function ManyTrpc({ userIds }: { userIds: Id<"users">[] }) {
  const results = userIds.map((userId) => trpc.convoy.projects.byUser.useQuery({ userId }));
  return <p data-testid="many">{results.map((result) => result.data?.join("+") ?? "?").join("|")}</p>;
}

function HostApp({
  queryClient,
  userId,
  many = [],
  show = true,
}: {
  queryClient: QueryClient;
  userId: Id<"users">;
  many?: Id<"users">[];
  show?: boolean;
}) {
  const [trpcClient] = useState(() =>
    trpc.createClient({
      links: [
        splitLink({
          condition: (operation) => operation.type === "subscription",
          true: httpSubscriptionLink({
            url: `${url}/trpc`,
            EventSource,
            eventSourceOptions: {
              fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, "x-user": "alice" } }),
            },
          }),
          false: httpBatchLink({ url: `${url}/trpc`, headers: { "x-user": "alice" } }),
        }),
      ],
    }),
  );
  return (
    <trpc.Provider client={trpcClient} queryClient={queryClient}>
      <QueryClientProvider client={queryClient}>
        <ConvoyProvider client={convoy} queryClient={queryClient} queryKeyPrefix={["convoy"]}>
          {show ? (
            <>
              <TrpcProjects userId={userId} />
              <ConvoyProjects userId={userId} />
              <ManyTrpc userIds={many} />
            </>
          ) : null}
        </ConvoyProvider>
      </QueryClientProvider>
    </trpc.Provider>
  );
}

describe("convoy/react beside @trpc/react-query in a host app", () => {
  it("tRPC's own useQuery is live with no subscription written; both hooks share one entry and one watch", async () => {
    const userId = await convoy.mutation(api.users.add, { name: "Ada" });
    const many = await Promise.all(
      Array.from({ length: 10 }, (_, i) => convoy.mutation(api.users.add, { name: `many${i}` })),
    );
    const queryClient = new QueryClient();
    const readsBefore = reads;
    const view = render(<HostApp queryClient={queryClient} userId={userId} many={many} />);
    await waitFor(() => expect(screen.getByTestId("trpc").textContent).toBe(""));
    await waitFor(() => expect(screen.getByTestId("convoy").textContent).toBe(""));
    await waitFor(() => expect(screen.getByTestId("hello").textContent).toBe("hello alice"));
    await waitFor(() => expect(screen.getByTestId("me").textContent).toBe("alice"));

    await waitFor(() => expect(screen.getByTestId("many").textContent).toBe(Array(10).fill("").join("|")));
    // Mounting ran each Convoy query once, on its watch: no HTTP read. All 12 watches
    // (11 entries, `me` included) travel on one /api/subscribe stream; tRPC opened no subscription.
    expect(reads - readsBefore).toBe(0);
    expect(started.convoy.streams).toBe(1);
    expect(started.convoy.live.stats().watches).toBe(12);

    // A change made elsewhere reaches both hooks, and the ten.
    await convoy.mutation(api.projects.add, { userId, name: "live" });
    await convoy.mutation(api.projects.add, { userId: many[9]!, name: "tenth" });
    await waitFor(() => expect(screen.getByTestId("many").textContent).toBe(`${Array(9).fill("").join("|")}|tenth`), {
      timeout: 5000,
    });
    await waitFor(() => expect(screen.getByTestId("trpc").textContent).toBe("live"), { timeout: 5000 });
    await waitFor(() => expect(screen.getByTestId("convoy").textContent).toBe("live"), { timeout: 5000 });
    const entries = queryClient
      .getQueryCache()
      .findAll({ queryKey: [["convoy", "projects", "byUser"], { input: { userId } }] });
    expect(entries.map((entry) => entry.queryKey)).toEqual([
      [["convoy", "projects", "byUser"], { input: { userId }, type: "query" }],
    ]);

    // tRPC's invalidate refetches the entry convoy/react shows.
    const before = reads;
    await act(async () => screen.getByText("invalidate").click());
    await waitFor(() => expect(reads).toBe(before + 1));
    expect(screen.getByTestId("convoy").textContent).toBe("live");

    // The last observers leaving release the watches and the stream.
    view.rerender(<HostApp queryClient={queryClient} userId={userId} many={many} show={false} />);
    await waitFor(() => expect(started.convoy.live.stats().watches).toBe(0), { timeout: 5000 });
    await waitFor(() => expect(started.convoy.streams).toBe(0), { timeout: 5000 });
  });
});
