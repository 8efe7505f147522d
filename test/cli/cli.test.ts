import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import { ConvoyError } from "../../runtime/errors.js";
import type { AnyTRPCRouter } from "@trpc/server";
import {
  createUserProject,
  packConvoy,
  runCli,
  startCli,
  typecheckProject,
  type CliProcess,
} from "../support/cliProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";

const scratch = mkdtempSync(join(tmpdir(), "convoy-cli-test-"));
const execFileAsync = promisify(execFile);
let root: string;

beforeAll(async () => {
  root = await createUserProject(await packConvoy(scratch));
}, 300_000);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  if (root) rmSync(root, { recursive: true, force: true });
});

const ref = (path: string, kind: "query" | "mutation") => ({ path, kind }) as never;
const WEBHOOK_SECRET = "cli-webhook-secret";

const CLIENT_APP = `import { createConvoyClient } from "convoy/client";
import type { Id } from "convoy";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { api } from "../convoy/_generated/api";
import type { AppRouter } from "../convoy/_generated/router";
import { projects } from "../convoy/_generated/drizzle";

export async function demo(url: string) {
  const client = createConvoyClient({ url });
  const userId: Id<"users"> = await client.mutation(api.users.createUser, { name: "Ada" });
  const projectId: Id<"projects"> = await client.mutation(api.projects.createProject, { userId, name: "x" });
  const list = await client.query(api.projects.listProjects, { userId });
  const name: string = list[0]!.name;
  // @ts-expect-error userId must be an id of users
  await client.query(api.projects.listProjects, { userId: projectId });
  // @ts-expect-error a query is not a mutation
  await client.mutation(api.projects.listProjects, { userId });
  const trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: url + "/trpc" })] });
  const viaTrpc = await trpc.projects.listProjects.query({ userId });
  const created: number = viaTrpc[0]!.createdAt;
  // @ts-expect-error name must be a string
  await trpc.users.createUser.mutate({ name: 1 });
  // projects is relational: drizzle sees its typed columns.
  const row: { name: string; userId: Id<"users">; createdAt: number } = null as unknown as typeof projects.$inferSelect;
  return { name, created, row };
}
`;

describe("convoy CLI, installed from the packed package", () => {
  it("prints complete help for every command and rejects unknown commands and options", async () => {
    const main = await runCli(root, ["--help"]);
    expect(main.code).toBe(0);
    for (const command of ["dev", "generate", "serve"]) expect(main.stdout).toContain(command);
    for (const command of ["dev", "generate", "serve"]) {
      const help = await runCli(root, [command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: convoy ${command}`);
      expect(help.stdout).toContain("--database-url");
    }
    const devAlias = await runCli(root, ["help", "dev"]);
    expect(devAlias.stdout).toContain("--once");
    const unknown = await runCli(root, ["deploy"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown command "deploy"');
    const badOption = await runCli(root, ["serve", "--once"]);
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toContain("convoy serve does not take --once");
    const badPort = await runCli(root, ["serve", "--port", "abc"]);
    expect(badPort.stderr).toContain("--port abc: give a port number");
  });

  it("generate writes small deterministic files that type-check under the user's tsc --strict", async () => {
    const first = await runCli(root, ["generate"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Creating the embedded database/);
    expect(first.stdout).toContain("Generated convoy/_generated: 10 function(s), 8 public, 2 table(s)");
    const files = readdirSync(join(root, "convoy/_generated")).sort();
    expect(files).toEqual(["api.d.ts", "api.js", "drizzle.ts", "functions.ts", "http.ts", "router.ts", "server.ts"]);
    const snapshot = files.map((file) => readFileSync(join(root, "convoy/_generated", file), "utf8"));
    for (const text of snapshot) expect(text.length).toBeLessThan(4000);

    const second = await runCli(root, ["generate"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).not.toContain("Wrote ");
    expect(files.map((file) => readFileSync(join(root, "convoy/_generated", file), "utf8"))).toEqual(snapshot);

    writeFileSync(join(root, "client/app.ts"), CLIENT_APP);
    const checked = await typecheckProject(root);
    expect(checked.output).toBe("");
    expect(checked.code).toBe(0);

    // A project whose package.json says "commonjs" (npm init's default): generate gives
    // _generated/ a package.json of its own, so import and require both load api.js.
    const manifest = readFileSync(join(root, "package.json"), "utf8");
    const scope = join(root, "convoy/_generated/package.json");
    writeFileSync(join(root, "package.json"), manifest.replace('"type": "module"', '"type": "commonjs"'));
    try {
      expect((await runCli(root, ["generate", "--no-typecheck"])).code).toBe(0);
      expect(JSON.parse(readFileSync(scope, "utf8"))).toEqual({ type: "module" });
      for (const load of [
        "import('./convoy/_generated/api.js')",
        "Promise.resolve(require('./convoy/_generated/api.js'))",
      ]) {
        const script = `${load}.then(({ api }) => console.log(api.users.createUser.path))`;
        const { stdout } = await execFileAsync(process.execPath, ["-e", script], { cwd: root });
        expect(stdout.trim(), load).toBe("users.createUser");
      }
    } finally {
      writeFileSync(join(root, "package.json"), manifest);
    }
    // Back to "module": the folder's own package.json goes.
    expect((await runCli(root, ["generate", "--no-typecheck"])).code).toBe(0);
    expect(existsSync(scope)).toBe(false);
  }, 120_000);

  const drivers = [
    {
      name: "pglite",
      unavailable: null as string | null,
      env: {} as Record<string, string>,
      dotEnv: null as string | null,
      args: [] as string[],
    },
    {
      // DATABASE_URL comes from the project's .env, as a user would set it.
      name: "postgres",
      unavailable: inject("postgresUrl") === null ? "Postgres not reachable" : null,
      env: {},
      dotEnv: `DATABASE_URL=${inject("postgresUrl") ?? ""}\n`,
      args: ["--schema-name", uniqueSchemaName()],
    },
  ];

  for (const driver of drivers) {
    describe.skipIf(driver.unavailable !== null)(`serve on ${driver.name}`, () => {
      let server: CliProcess;
      let url: string;
      beforeAll(async () => {
        if (driver.dotEnv) writeFileSync(join(root, ".env"), driver.dotEnv);
        server = startCli(root, ["serve", "--port", "0", ...driver.args], {
          ...driver.env,
          PROJECTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
        });
        url = (await server.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
      });
      afterAll(async () => {
        expect(await server.stop()).toBe(0);
        if (driver.dotEnv) {
          rmSync(join(root, ".env"));
          const client = new pg.Client({ connectionString: inject("postgresUrl")! });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${driver.args[1]}" CASCADE`);
          await client.end();
        }
      });

      it("says where it listens and which database it uses; health answers", async () => {
        expect(server.output()).toContain(
          driver.name === "pglite" ? "Database: embedded PGlite" : "Database: Postgres at",
        );
        const health = (await (await fetch(`${url}/api/health`)).json()) as { ok: boolean; database: string };
        expect(health).toMatchObject({ ok: true, database: driver.name });
      });

      it("runs the spec's createProject and listProjects over HTTP and tRPC", async () => {
        const client = createConvoyClient({ url });
        const userId = await client.mutation(ref("users.createUser", "mutation"), { name: "Ada" } as never);
        const projectId = await client.mutation(ref("projects.createProject", "mutation"), {
          userId,
          name: "My App",
        } as never);
        expect(projectId).toMatch(/^projects_/);
        const listed = (await client.query(ref("projects.listProjects", "query"), { userId } as never)) as {
          _id: string;
          name: string;
        }[];
        expect(listed).toEqual([expect.objectContaining({ _id: projectId, name: "My App", userId })]);

        const trpc = createTRPCClient<AnyTRPCRouter>({ links: [httpBatchLink({ url: `${url}/trpc` })] }) as any;
        const viaTrpc = await trpc.projects.listProjects.query({ userId });
        expect(viaTrpc).toEqual(listed);
        const second = await trpc.projects.createProject.mutate({ userId, name: "Second" });
        expect(second).toMatch(/^projects_/);
      });

      it("serves convoy/http.ts under /http: a signed webhook's raw bytes arrive intact", async () => {
        const client = createConvoyClient({ url });
        const userId = (await client.mutation(ref("users.createUser", "mutation"), {
          name: "Hook",
        } as never)) as string;
        // CRLF, tabs, trailing spaces and bytes that are not UTF-8 inside the name: any
        // decoding or re-encoding on the way would break the signature.
        const body = Buffer.concat([
          Buffer.from(`{\r\n\t"userId" : "${userId}",\r\n\t"name": "Caf`),
          Buffer.from([0xff, 0xfe, 0xc3]),
          Buffer.from(` é"  }  \n`),
        ]);
        const signature = `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
        const created = await fetch(`${url}/http/webhooks/projects`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-webhook-signature": signature },
          body,
        });
        expect(created.status, await created.clone().text()).toBe(201);
        const { projectId } = (await created.json()) as { projectId: string };
        const listed = (await client.query(ref("projects.listProjects", "query"), { userId } as never)) as {
          _id: string;
          name: string;
        }[];
        expect(listed).toEqual([expect.objectContaining({ _id: projectId, name: `Caf\ufffd\ufffd\ufffd é` })]);

        const forged = await fetch(`${url}/http/webhooks/projects`, {
          method: "POST",
          headers: { "x-webhook-signature": signature },
          body: Buffer.concat([body, Buffer.from(" ")]),
        });
        expect(forged.status).toBe(401);
        expect((await fetch(`${url}/http/webhooks/projects`)).status).toBe(405);
        expect((await fetch(`${url}/http/nope`)).status).toBe(404);
      });

      it("rejects bad input with 4xx and writes nothing", async () => {
        const client = createConvoyClient({ url });
        const before = (await client.query(ref("users.listUsers", "query"), {} as never)) as unknown[];
        const error = await client
          .mutation(ref("projects.createProject", "mutation"), { userId: "users_nope", name: 1 } as never)
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ConvoyError);
        expect((error as ConvoyError).code).toBe("BAD_REQUEST");
        expect((error as ConvoyError).data).toMatchObject({
          issues: expect.arrayContaining([expect.objectContaining({ path: ["name"] })]),
        });
        const tooLarge = await fetch(`${url}/api/mutation`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ path: "users.createUser", args: { name: "x".repeat(2_000_000) } }),
        });
        expect(tooLarge.status).toBe(413);
        expect(await client.query(ref("users.listUsers", "query"), {} as never)).toEqual(before);
      });
    });
  }

  it("dev reloads on change, and a syntax or type error keeps the last good build serving", async () => {
    const usersFile = join(root, "convoy/functions/users.ts");
    const original = readFileSync(usersFile, "utf8");
    const dev = startCli(root, ["dev", "--port", "0"]);
    try {
      const url = (await dev.waitFor(/Convoy dev server on (http:\/\/\S+) /))[1]!;
      const client = createConvoyClient({ url });
      await dev.waitFor(/Watching convoy/);

      writeFileSync(
        usersFile,
        `${original}\nexport const broken = query({ handler: async (ctx) => { return ctx.db. } });\n`,
      );
      const syntax = await dev.waitFor(
        /(convoy\/functions\/users\.ts:\d+:\d+): .*\n[\s\S]*Still serving the last good build/,
      );
      expect(syntax[1]).toBe(`convoy/functions/users.ts:${original.split("\n").length + 1}:72`);
      expect(await client.query(ref("users.listUsers", "query"), {} as never)).toEqual(expect.any(Array));

      writeFileSync(
        usersFile,
        `${original}\nexport const typo = query({ handler: async (ctx) => ctx.db.query("userz").collect() });\n`,
      );
      await dev.waitFor(/Type errors:\nconvoy\/functions\/users\.ts:\d+:\d+: TS\d+/);
      const typoCall = await client.query(ref("users.typo", "query"), {} as never).catch((caught: unknown) => caught);
      expect((typoCall as ConvoyError).code).toBe("NOT_FOUND");

      writeFileSync(
        usersFile,
        `${original}\nexport const countUsers = query({ handler: async (ctx) => (await ctx.db.query("users").collect()).length });\n`,
      );
      await dev.waitFor(/Reloaded: 11 function\(s\)/);
      expect(await client.query(ref("users.countUsers", "query"), {} as never)).toEqual(expect.any(Number));
      expect(readFileSync(join(root, "convoy/_generated/api.js"), "utf8")).toContain("countUsers");
    } finally {
      writeFileSync(usersFile, original);
      expect(await dev.stop()).toBe(0);
    }
    const once = await runCli(root, ["dev", "--once"]);
    expect(once.code, once.stderr).toBe(0);
    expect(readFileSync(join(root, "convoy/_generated/api.js"), "utf8")).not.toContain("countUsers");
  }, 120_000);
});
