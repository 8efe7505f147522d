// Three `convoy serve` processes on one PostgreSQL behind a real nginx configured with
// docs/deploy/nginx.conf: streams spread over the instances, every client sees every
// change made through any instance, and clients of a killed or restarted instance move
// to the others through nginx by themselves.
import { once } from "node:events";
import { rmSync } from "node:fs";
import { EventSource } from "eventsource";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { FunctionReference } from "../../runtime/functions/functionReference.js";
import { faultApp } from "../support/faultApp.js";
import {
  callFunction,
  createServedProject,
  freePort,
  startServe,
  stopProcess,
  type ServeProcess,
} from "../support/servedProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { failTimeoutMs, nginxUnavailable, startNginx, type NginxProcess } from "./nginxProcess.js";

const databaseUrl = inject("postgresUrl");
const unavailable = databaseUrl === null ? "Postgres is not reachable" : nginxUnavailable();

const ref = (path: string) => ({ path, kind: "query" }) as FunctionReference<"query", any, any>;
const addNote = { path: "notes.add", kind: "mutation" } as FunctionReference<"mutation", any, any>;

/** A convoy/client through nginx, the instances its streams were opened on, and what it watches. */
interface TestClient {
  client: ConvoyClient;
  /** `127.0.0.1:<port>` of each stream nginx opened for it, in order. */
  upstreams: string[];
  topics: string[];
  latest: Map<string, unknown>;
}

function openClient(url: string, topics: string[]): TestClient {
  const upstreams: string[] = [];
  const latest = new Map<string, unknown>();
  const client = createConvoyClient({
    url,
    EventSource,
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      const target = input instanceof Request ? input.url : input.toString();
      if (target.includes("/api/subscribe?")) upstreams.push(response.headers.get("x-convoy-upstream") ?? "");
      return response;
    },
  });
  for (const topic of topics) client.watch(ref("notes.list"), { topic }, (value) => latest.set(topic, value));
  return { client, upstreams, topics, latest };
}

describe.skipIf(unavailable !== null)("three instances behind nginx", () => {
  const schemaName = uniqueSchemaName();
  let root: string;
  const ports: number[] = [];
  const servers: ServeProcess[] = [];
  let nginx: NginxProcess;
  const clients: TestClient[] = [];
  const written: string[] = [];

  const start = (index: number) =>
    startServe(root, { databaseUrl: databaseUrl!, schemaName, port: ports[index]! }).then((server) => {
      servers[index] = server;
    });

  beforeAll(async () => {
    root = await createServedProject(faultApp);
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    // The first syncs the schema; the others start together.
    await start(0);
    await Promise.all([start(1), start(2)]);
    nginx = await startNginx(ports, await freePort());
  }, 300_000);

  afterAll(async () => {
    for (const { client } of clients) client.close();
    await nginx?.stop();
    for (const server of servers) if (server) await stopProcess(server);
    const admin = new pg.Client({ connectionString: databaseUrl! });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
    await admin.end();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Every client holds every note written so far, on every topic it watches. */
  async function expectAllDelivered(timeout = 20_000): Promise<void> {
    await expect
      .poll(
        () =>
          clients.every(({ topics, latest }) =>
            topics.every((topic) => JSON.stringify(latest.get(topic)) === JSON.stringify(written)),
          ),
        { timeout },
      )
      .toBe(true);
  }

  /** Waits until nginx sends requests to a restarted instance again, as a rolling restart must. */
  const backInRotation = () => new Promise((resolve) => setTimeout(resolve, failTimeoutMs() + 500));

  async function write(url: string, text: string): Promise<void> {
    // Both topics get each note, so the two-watch client checks both.
    for (const topic of ["main", "side"]) {
      expect(await callFunction(url, "mutation", "notes.add", { topic, text })).toMatchObject({ status: 200 });
    }
    written.push(text);
  }

  it("spreads streams over the instances and delivers every change, made through nginx or any instance, to every client", async () => {
    for (let i = 0; i < 6; i++) clients.push(openClient(nginx.url, ["main"]));
    // Two watches on one stream: the second is added with a POST that nginx may send
    // to another instance, which answers 404; the client then reopens with both.
    clients.push(openClient(nginx.url, ["main", "side"]));
    await expectAllDelivered();
    const instances = new Set(clients.map(({ upstreams }) => upstreams.at(-1)));
    expect(instances.size).toBeGreaterThanOrEqual(2);

    for (let i = 0; i < 3; i++) {
      await write(nginx.url, `via nginx ${i}`);
      await write(servers[i]!.url, `via instance ${i}`);
    }
    await expectAllDelivered();
  });

  it("a killed instance's clients reconnect through nginx to the others and keep receiving changes", async () => {
    const onInstance = (port: number) => clients.filter(({ upstreams }) => upstreams.at(-1)?.endsWith(`:${port}`));
    const victim = [0, 1, 2].sort((a, b) => onInstance(ports[b]!).length - onInstance(ports[a]!).length)[0]!;
    const moved = onInstance(ports[victim]!);
    expect(moved.length).toBeGreaterThan(0);

    const killed = servers[victim]!.child;
    const exited = once(killed, "exit");
    killed.kill("SIGKILL");
    // Until the process is gone its port may still complete connections, whose POSTs nginx
    // then answers 502 (it does not resend a request it may have delivered).
    await exited;
    // Writes through nginx keep working: it skips the dead instance.
    for (let i = 0; i < 3; i++) await write(nginx.url, `after the kill ${i}`);
    await write(servers[(victim + 1) % 3]!.url, "direct after the kill");
    await expectAllDelivered();
    for (const { upstreams } of moved) expect(upstreams.at(-1)).not.toMatch(new RegExp(`:${ports[victim]}$`));
    await start(victim);
    await backInRotation();
  });

  /**
   * A write through convoy/client during a rolling restart. A connection an instance had
   * queued but not yet accepted when it closed its socket is reset, and nginx answers
   * 502 without resending the POST (it cannot know whether it ran). The client sends the
   * mutation again with the same id, so a note is never written twice nor lost.
   */
  let resent = 0;
  let writer: ConvoyClient | undefined;
  async function writeThroughClient(text: string): Promise<void> {
    writer ??= createConvoyClient({
      url: nginx.url,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (response.status !== 200) resent++;
        return response;
      },
    });
    for (const topic of ["main", "side"]) await writer.mutation(addNote, { topic, text });
    written.push(text);
  }

  it("a rolling restart (SIGTERM, start again, one instance at a time) loses no change and runs none twice", async () => {
    let writing = true;
    let count = 0;
    const writer = (async () => {
      while (writing) await writeThroughClient(`rolling ${count++}`);
    })().then(
      () => null,
      (error: Error) => error,
    );
    for (let i = 0; i < 3; i++) {
      const stopped = await stopProcess(servers[i]!);
      expect(stopped).toBe(0);
      expect(servers[i]!.output()).toMatch(/Shut down: \d+ request\(s\) in flight finished/);
      await start(i);
      await backInRotation();
    }
    writing = false;
    const failed = await writer;
    if (failed)
      console.error(
        nginx
          .errors()
          .split("\n")
          .filter((line) => /error|warn/.test(line))
          .slice(-10)
          .join("\n"),
      );
    expect(failed).toBeNull();
    expect(count).toBeGreaterThan(3);
    if (resent > 0) console.warn(`[nginx] ${resent} answer(s) other than 200 during the restart; sent again`);
    // expectAllDelivered compares with `written` exactly: a note written twice fails it.
    await expectAllDelivered();
  });
});
