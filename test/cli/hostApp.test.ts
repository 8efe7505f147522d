// Convoy inside an existing express + tRPC app, from the packed package in a new
// project, as docs/trpc.md shows it: the host's own initTRPC.context<...>(), its own
// procedure, Convoy merged under `convoy`, one auth for every route.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import type { AnyTRPCRouter } from "@trpc/server";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import { createUserProject, packConvoy, runCli, typecheckProject } from "../support/cliProject.js";

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "convoy-host-test-"));
let root: string;
let host: ChildProcessWithoutNullStreams | undefined;
let url: string;

/** The host server, as docs/trpc.md shows it (the user's file, in TypeScript). */
const HOST_SERVER = `import express from "express";
import { initTRPC } from "@trpc/server";
import { createExpressMiddleware, type CreateExpressContextOptions } from "@trpc/server/adapters/express";
import { createConvoyServer } from "convoy/server";
import { schema } from "../convoy/schema";
import { functions } from "../convoy/_generated/functions";

// Your app's context: who is signed in (a header here; a session cookie or a token in yours).
const createContext = ({ req }: CreateExpressContextOptions) => {
  const id = req.headers["x-user"];
  return { user: typeof id === "string" ? { id, name: id.toUpperCase() } : null };
};
const t = initTRPC.context<typeof createContext>().create();

const convoy = await createConvoyServer({
  schema,
  functions,
  context: createContext, // Convoy's own endpoints and streams read the same context
  auth: (ctx) => (ctx.user ? { subject: ctx.user.id, name: ctx.user.name } : null),
});

export const appRouter = t.router({
  hello: t.procedure.query(({ ctx }) => \`hello \${ctx.user?.name ?? "stranger"}\`),
  convoy: convoy.router(t), // queries, mutations, and live.* subscriptions
});
export type AppRouter = typeof appRouter;

const app = express();
app.use("/trpc", createExpressMiddleware({ router: appRouter, createContext }));
app.use(convoy.handler); // /api/query, /api/mutation, /api/subscribe, /api/health
const server = app.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () =>
  console.log(\`host listening on http://127.0.0.1:\${(server.address() as { port: number }).port}\`),
);
process.on("SIGTERM", () => void convoy.close().then(() => server.close()));
`;

/** Who is calling, as Convoy functions see it. */
const WHOAMI = `import { query } from "../_generated/server";

export const me = query({ handler: (ctx) => ctx.auth });
`;

/** A typed client of the host: results typed from the functions through the host's router. */
const HOST_CLIENT = `import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import type { Id } from "convoy";
import type { AppRouter } from "../server/host";

export async function demo(url: string, userId: Id<"users">) {
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === "subscription",
        true: httpSubscriptionLink({ url: url + "/trpc" }),
        false: httpBatchLink({ url: url + "/trpc" }),
      }),
    ],
  });
  const greeting: string = await trpc.hello.query();
  const list = await trpc.convoy.projects.listProjects.query({ userId });
  const name: string = list[0]!.name;
  // @ts-expect-error userId must be an id of users
  await trpc.convoy.projects.listProjects.query({ userId: 1 });
  const me = await trpc.convoy.whoami.me.query();
  const subject: string | undefined = me?.subject;
  trpc.convoy.live.projects.listProjects.subscribe({ userId }, { onData: (projects) => projects.map((p) => p.name) });
  return { greeting, name, subject };
}
`;

/** A plain Node 20 script on the packed convoy/client: no EventSource passed, none installed. */
const IDENTITY_SCRIPT = `import { createConvoyClient } from "convoy/client";

const client = createConvoyClient({ url: process.argv[2], headers: { "x-user": "alice" } });
const me = { kind: "query", path: "whoami.me" };
const called = await client.query(me, {});
const watched = await new Promise((resolve, reject) => {
  setTimeout(() => reject(new Error("no live result in 10 s")), 10_000).unref();
  client.watch(me, {}, resolve, reject);
});
client.close();
console.log(JSON.stringify({ called, watched }));
`;

beforeAll(async () => {
  root = await createUserProject(await packConvoy(scratch));
  writeFileSync(join(root, "identity.mjs"), IDENTITY_SCRIPT);
  writeFileSync(join(root, "convoy/functions/whoami.ts"), WHOAMI);
  mkdirSync(join(root, "server"));
  writeFileSync(join(root, "server/host.ts"), HOST_SERVER);
  writeFileSync(join(root, "client/host.ts"), HOST_CLIENT);
  const generated = await runCli(root, ["generate", "--no-typecheck"]);
  expect(generated.code, generated.stderr).toBe(0);
  // The user bundles their server as they would for production (esbuild comes with convoy;
  // express too, as convoy's dependency).
  await run(
    join(root, "node_modules/.bin/esbuild"),
    ["server/host.ts", "--bundle", "--platform=node", "--format=esm", "--packages=external", "--outfile=host.mjs"],
    { cwd: root },
  );
  const environment: NodeJS.ProcessEnv = { ...process.env, PORT: "0" };
  delete environment.DATABASE_URL;
  const child = spawn(process.execPath, ["host.mjs"], { cwd: root, env: environment });
  host = child;
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      const match = /host listening on (http:\/\/\S+)/.exec(output);
      if (match) return resolve(match[1]!);
      if (child.exitCode !== null) return reject(new Error(`the host exited (${child.exitCode}):\n${output}`));
      if (Date.now() - started > 60_000) return reject(new Error(`the host did not start in 60 s:\n${output}`));
      setTimeout(check, 50);
    };
    check();
  });
}, 300_000);
afterAll(async () => {
  if (host && host.exitCode === null) {
    const exited = new Promise((resolve) => host!.once("exit", resolve));
    host.kill("SIGTERM");
    await exited;
  }
  rmSync(scratch, { recursive: true, force: true });
  if (root) rmSync(root, { recursive: true, force: true });
});

const ref = (path: string, kind: "query" | "mutation") => ({ path, kind }) as any;

describe("Convoy merged into a host's express + tRPC app, from the packed package", () => {
  it("type-checks: the host's router gives typed Convoy results and subscriptions", async () => {
    const checked = await typecheckProject(root);
    expect(checked.output).toBe("");
    expect(checked.code).toBe(0);
  });

  it("tRPC (httpBatchLink + httpSubscriptionLink) through the host's /trpc: results, the host's user as ctx.auth, live updates; convoy/client sees the same identity", async () => {
    const headers = { "x-user": "alice" };
    // The test's own @trpc/client, on the host's router by path.
    const trpc = createTRPCClient<AnyTRPCRouter>({
      links: [
        splitLink({
          condition: (operation) => operation.type === "subscription",
          true: httpSubscriptionLink({
            url: `${url}/trpc`,
            EventSource,
            eventSourceOptions: {
              fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
            },
          }),
          false: httpBatchLink({ url: `${url}/trpc`, headers }),
        }),
      ],
    }) as any;
    expect(await trpc.hello.query()).toBe("hello ALICE");
    const alice = { subject: "alice", name: "ALICE" };
    expect(await trpc.convoy.whoami.me.query()).toEqual(alice);
    const userId = await trpc.convoy.users.createUser.mutate({ name: "Ada" });

    // Live through the host's /trpc: the subscription yields the current list, then each change.
    const seen: string[][] = [];
    const me: unknown[] = [];
    const subscription = trpc.convoy.live.projects.listProjects.subscribe(
      { userId },
      { onData: (projects: { name: string }[]) => seen.push(projects.map((project) => project.name)) },
    );
    const meSubscription = trpc.convoy.live.whoami.me.subscribe(undefined, {
      onData: (value: unknown) => me.push(value),
    });
    await expect.poll(() => [seen, me], { timeout: 10_000 }).toEqual([[[]], [alice]]);
    await trpc.convoy.projects.createProject.mutate({ userId, name: "via tRPC" });
    await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toEqual(["via tRPC"]);

    // convoy/client on the same host's Convoy endpoints: the same identity for calls and streams.
    const client = createConvoyClient({ url, headers });
    expect(await client.query(ref("whoami.me", "query"), {})).toEqual(alice);
    const watched: unknown[] = [];
    const stop = client.watch(ref("whoami.me", "query"), {}, (value) => watched.push(value));
    await expect.poll(() => watched, { timeout: 10_000 }).toEqual([alice]);
    await client.mutation(ref("projects.createProject", "mutation"), { userId, name: "via convoy/client" });
    await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toEqual(["via convoy/client", "via tRPC"]);
    // The packed convoy/client in a plain Node script: calls and a live watch, same identity.
    const script = await run(process.execPath, ["identity.mjs", url], { cwd: root });
    expect(JSON.parse(script.stdout)).toEqual({ called: alice, watched: alice });
    // Anonymous callers are anonymous on every route.
    expect(await createConvoyClient({ url }).query(ref("whoami.me", "query"), {})).toBeNull();

    stop();
    client.close();
    subscription.unsubscribe();
    meSubscription.unsubscribe();
  });
});
