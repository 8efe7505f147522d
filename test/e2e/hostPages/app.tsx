// Pages of a host app (Convoy merged into its tRPC router under `convoy`), bundled for
// Chromium by test/e2e/trpcHooksBrowser.test.ts. `?mode=trpc`: tRPC's own hooks, no
// subscription written; `?mode=convoy`: convoy/react; `?mode=writer`: makes changes.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { httpBatchLink } from "@trpc/client";
import { createTRPCReact } from "@trpc/react-query";
import { createRoot } from "react-dom/client";
import { ConvoyProvider, useQuery } from "../../../react/index.js";
import { createConvoyClient } from "../../../runtime/client.js";
import type { FunctionReference } from "../../../runtime/functions/functionReference.js";
import type { HostRouter } from "./hostRouter.js";

const params = new URLSearchParams(location.search);
const mode = params.get("mode");
const userIds = (params.get("users") ?? "").split(",").filter(Boolean);
const byUser = { kind: "query", path: "projects.byUser" } as unknown as FunctionReference<
  "query",
  { userId: string },
  string[]
>;

const trpc = createTRPCReact<HostRouter>();
const queryClient = new QueryClient();
const convoy = createConvoyClient();

function TrpcList({ userId, index }: { userId: string; index: number }) {
  const { data } = trpc.convoy.projects.byUser.useQuery({ userId: userId as never });
  return <li data-testid={`list-${index}`}>{data === undefined ? "loading" : data.join(",") || "none"}</li>;
}

function ConvoyList({ userId, index }: { userId: string; index: number }) {
  const { data } = useQuery(byUser, { userId });
  return <li data-testid={`list-${index}`}>{data === undefined ? "loading" : data.join(",") || "none"}</li>;
}

function Me() {
  const { data } = trpc.whoami.useQuery();
  return <p data-testid="me">{data ?? ""}</p>;
}

function App() {
  const List = mode === "trpc" ? TrpcList : ConvoyList;
  return (
    <>
      <Me />
      <ul>
        {userIds.map((userId, index) => (
          <List key={userId} userId={userId} index={index} />
        ))}
      </ul>
    </>
  );
}

const trpcClient = trpc.createClient({ links: [httpBatchLink({ url: "/trpc" })] });
(window as unknown as { convoy: typeof convoy }).convoy = convoy;
createRoot(document.getElementById("root")!).render(
  <trpc.Provider client={trpcClient} queryClient={queryClient}>
    <QueryClientProvider client={queryClient}>
      <ConvoyProvider client={convoy} queryClient={queryClient} queryKeyPrefix={["convoy"]}>
        {mode === "writer" ? <Me /> : <App />}
      </ConvoyProvider>
    </QueryClientProvider>
  </trpc.Provider>,
);
