import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildApp } from "../../generator/generate.js";
import { findProject } from "../../generator/project.js";
import { startServer, type RunningServer } from "../../generator/serve.js";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { pgliteFactory, postgresFactory, uniqueSchemaName } from "../support/testDatabases.js";
import { BEARER_AUTH, COOKIE_AUTH, createAuthProject, repoRoot } from "./authProject.js";
import { callApi, exchange } from "./exchange.js";
import { trpcClient } from "./liveClients.js";
import { startSecurityServer } from "./securityServer.js";

const ALICE = { authorization: "Bearer token-alice" };
const EXPIRED = { authorization: "Bearer token-expired" };
const CRASH = { authorization: "Bearer token-crash" };
const REFUSAL = { code: "UNAUTHORIZED", message: "Sign in again: this token is unknown or expired" };

/** A tRPC client of the auth project: the same links; its router type is not generated here. */
const trpc = (url: string, headers: Record<string, string>): any => trpcClient(url, headers);

describe("convoy/auth.ts, bundled and served by the generator (convoy serve / dev)", () => {
  let root: string;
  let server: RunningServer;
  const logs: string[] = [];

  beforeAll(async () => {
    root = createAuthProject(BEARER_AUTH);
    const built = await buildApp(findProject(root), { write: false });
    expect(built.auth).toEqual(expect.any(Function));
    const database = await pgliteFactory.open();
    await syncSchema(database.driver, built.schema, { schemaName: database.schemaName });
    server = await startServer({
      driver: database.driver,
      app: built,
      port: 0,
      host: "127.0.0.1",
      dev: false,
      schemaName: database.schemaName,
      log: (message) => logs.push(message),
    });
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("the hook's identity is ctx.auth on every endpoint; no credentials is anonymous", async () => {
    expect((await callApi(server.url, "query", "notes.whoami", {})).json).toEqual({ value: null });
    expect((await callApi(server.url, "query", "notes.whoami", {}, ALICE)).json).toEqual({
      value: { subject: "alice", name: "Alice" },
    });
    expect(await trpc(server.url, ALICE).notes.whoami.query()).toEqual({ subject: "alice", name: "Alice" });
    const stream = await exchange(`${server.url}/api/subscribe?path=notes.whoami`, { headers: ALICE }, (events) =>
      events.some((event) => event.event === "result"),
    );
    expect(stream.events.find((event) => event.event === "result")?.data).toEqual({
      id: "0",
      value: { subject: "alice", name: "Alice" },
    });
    const received: unknown[] = [];
    const subscription = trpc(server.url, ALICE).live.notes.whoami.subscribe(undefined, {
      onData: (value: unknown) => received.push(value),
    });
    await expect.poll(() => received, { timeout: 10_000 }).toEqual([{ subject: "alice", name: "Alice" }]);
    subscription.unsubscribe();
  });

  it('a hook that throws ConvoyError("UNAUTHORIZED") answers 401 with its message everywhere; nothing runs', async () => {
    for (const kind of ["query", "mutation"] as const) {
      const answer = await callApi(
        server.url,
        kind,
        kind === "query" ? "notes.mine" : "notes.add",
        { title: "x" },
        EXPIRED,
      );
      expect(answer.status).toBe(401);
      expect(answer.json.error).toEqual(REFUSAL);
    }
    const error = await trpc(server.url, EXPIRED)
      .notes.add.mutate({ title: "x" })
      .then(
        () => null,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<any>).data?.httpStatus).toBe(401);
    expect((error as TRPCClientError<any>).message).toBe(REFUSAL.message);
    const stream = await exchange(`${server.url}/api/subscribe?path=notes.mine`, { headers: EXPIRED });
    expect(stream.status).toBe(401);
    expect(stream.json.error).toEqual(REFUSAL);
    const subscription = await exchange(`${server.url}/trpc/live.notes.mine?input=%7B%7D`, { headers: EXPIRED });
    expect(subscription.status).toBe(401);
    expect(subscription.json.error.message).toBe(REFUSAL.message);
    // A stream opened anonymously cannot be changed with a refused token.
    const open = await exchange(`${server.url}/api/subscribe`, {}, (events) => events.length > 0);
    const streamId = open.events[0]!.data.streamId as string;
    const update = await exchange(`${server.url}/api/subscribe/${streamId}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...EXPIRED },
      body: JSON.stringify({ add: [{ id: "a", path: "notes.mine" }] }),
    });
    expect(update.status).toBe(401);
    expect((await callApi(server.url, "query", "notes.mine", {}, ALICE)).json).toEqual({ value: [] });
  });

  it("an unexpected throw answers a generic 500 that leaks nothing, and is logged on the server", async () => {
    for (const answer of [
      await callApi(server.url, "mutation", "notes.add", { title: "x" }, CRASH),
      await exchange(`${server.url}/api/subscribe?path=notes.mine`, { headers: CRASH }),
    ]) {
      expect(answer.status).toBe(500);
      expect(answer.json.error).toEqual({ code: "INTERNAL_SERVER_ERROR", message: "Internal server error" });
    }
    const viaTrpc = await exchange(`${server.url}/trpc/notes.whoami`, { headers: CRASH });
    expect(viaTrpc.status).toBe(500);
    expect(viaTrpc.json.error.message).toBe("Internal server error");
    for (const text of [viaTrpc.text]) expect(text).not.toMatch(/hunter2|token store/);
    expect(logs.join("\n")).toContain("token store unreachable");
    expect((await callApi(server.url, "query", "notes.mine", {}, ALICE)).json).toEqual({ value: [] });
  });

  it("convoy dev swaps the hook with each build: a new auth.ts, then none", async () => {
    writeFileSync(join(root, "convoy/auth.ts"), COOKIE_AUTH);
    let built = await buildApp(findProject(root), { write: false });
    server.setApp(built.functions, built.schema, built.auth);
    expect((await callApi(server.url, "query", "notes.whoami", {}, { cookie: "session=s1" })).json).toEqual({
      value: { subject: "cookie-s1" },
    });
    expect((await callApi(server.url, "query", "notes.whoami", {}, ALICE)).json).toEqual({ value: null });

    rmSync(join(root, "convoy/auth.ts"));
    built = await buildApp(findProject(root), { write: false });
    expect(built.auth).toBeUndefined();
    server.setApp(built.functions, built.schema, built.auth);
    expect((await callApi(server.url, "query", "notes.whoami", {}, { cookie: "session=s1" })).json).toEqual({
      value: null,
    });
    const refused = await callApi(server.url, "mutation", "notes.add", { title: "x" });
    expect(refused.json.error).toEqual({ code: "UNAUTHORIZED", message: "Sign in to add notes" });
  });

  it("an auth file without a function as its default export, or two auth files, fail the build clearly", async () => {
    const project = createAuthProject("export const auth = () => null;\n");
    try {
      await expect(buildApp(findProject(project), { write: false })).rejects.toThrow(
        /convoy\/auth\.ts must export a function by default: export default defineAuth/,
      );
      writeFileSync(join(project, "convoy/auth.ts"), "export default 42;\n");
      await expect(buildApp(findProject(project), { write: false })).rejects.toThrow(
        /must export a function by default/,
      );
      writeFileSync(join(project, "convoy/auth.ts"), BEARER_AUTH);
      writeFileSync(join(project, "convoy/auth.js"), "export default () => null;\n");
      await expect(buildApp(findProject(project), { write: false })).rejects.toThrow(
        /Both auth\.ts and auth\.js are in .*: keep one auth file/,
      );
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});

describe("an auth hook that returns something other than an identity", () => {
  it("is a server bug: a generic 500 for the caller, and a clear report for the operator", async () => {
    const convoy = await startSecurityServer(pgliteFactory, { auth: () => ({ name: "no subject" }) as never });
    try {
      const answer = await callApi(convoy.url, "query", "notes.mine", {});
      expect(answer.status).toBe(500);
      expect(answer.json.error).toEqual({ code: "INTERNAL_SERVER_ERROR", message: "Internal server error" });
      expect(String(convoy.unexpected[0])).toMatch(/The auth hook returned an object without a string subject/);
    } finally {
      await convoy.close();
    }
  });
});

describe.skipIf(postgresFactory.unavailable !== null)(
  "convoy serve, the real CLI from source, with convoy/auth.ts",
  () => {
    let root: string;
    let child: ChildProcess;
    let url: string;
    let output = "";
    const schemaName = uniqueSchemaName();

    const runCli = (args: string[]): ChildProcess => {
      const tsx = import.meta.resolve("tsx");
      const spawned = spawn(process.execPath, ["--import", tsx, join(repoRoot, "generator/cli/bin.ts"), ...args], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: inject("postgresUrl")! },
      });
      spawned.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      spawned.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      return spawned;
    };

    beforeAll(async () => {
      root = createAuthProject(BEARER_AUTH);
      child = runCli([
        "serve",
        "--port",
        "0",
        "--schema-name",
        schemaName,
        "--cors-origin",
        "https://app.example",
        "--cors-origin",
        "https://admin.example:8443",
        "--trust-proxy",
        "loopback",
      ]);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const match = /Convoy listening on (http:\/\/\S+) /.exec(output);
        if (match) {
          url = match[1]!;
          break;
        }
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`convoy serve did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }, 90_000);
    afterAll(async () => {
      if (child && child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      const database = await postgresFactory.open();
      await database.driver.exec(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
      await database.dispose();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    it("reads identities with the project's hook, refuses with its 401, and allows the --cors-origin origins", async () => {
      expect((await callApi(url, "query", "notes.whoami", {}, ALICE)).json).toEqual({
        value: { subject: "alice", name: "Alice" },
      });
      const refused = await callApi(url, "mutation", "notes.add", { title: "x" }, EXPIRED);
      expect(refused.status).toBe(401);
      expect(refused.json.error).toEqual(REFUSAL);
      const crashed = await callApi(url, "query", "notes.whoami", {}, CRASH);
      expect(crashed.json.error).toEqual({ code: "INTERNAL_SERVER_ERROR", message: "Internal server error" });
      expect(output).toContain("token store unreachable");

      for (const origin of ["https://app.example", "https://admin.example:8443"]) {
        const allowed = await exchange(`${url}/api/health`, { headers: { origin } });
        expect(allowed.headers.get("access-control-allow-origin")).toBe(origin);
      }
      const other = await exchange(`${url}/api/health`, { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    });

    it("with --trust-proxy, anonymous clients behind a proxy get a stream limit each", async () => {
      const opened: AbortController[] = [];
      const open = async (forwardedFor: string) => {
        const controller = new AbortController();
        opened.push(controller);
        const response = await fetch(`${url}/api/subscribe?path=notes.mine`, {
          headers: { "x-forwarded-for": forwardedFor },
          signal: controller.signal,
        });
        return response.status;
      };
      try {
        const first: number[] = [];
        for (let i = 0; i < 64; i++) first.push(await open("203.0.113.1"));
        expect(first.every((status) => status === 200)).toBe(true);
        expect(await open("203.0.113.1")).toBe(429);
        // Another visitor behind the same proxy is another client.
        expect(await open("203.0.113.2")).toBe(200);
      } finally {
        for (const controller of opened) controller.abort();
      }
    });

    it("refuses a --trust-proxy it cannot read", async () => {
      const bad = runCli(["serve", "--trust-proxy", "every$one"]);
      const [code] = (await once(bad, "exit")) as [number];
      expect(code).toBe(1);
      expect(output).toContain("--trust-proxy every$one: give the number of proxies in front of Convoy");
    });

    it("refuses a --cors-origin that is not an origin, before opening the database", async () => {
      const bad = runCli(["serve", "--cors-origin", "https://app.example/"]);
      const [code] = (await once(bad, "exit")) as [number];
      expect(code).toBe(1);
      expect(output).toContain("--cors-origin https://app.example/: give an origin such as https://app.example.com");
    });
  },
);
