import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import type { FunctionReference } from "../../runtime/functions/functionReference.js";
import { cliEnvironment, observeProcess, packConvoy, repoRoot } from "../support/cliProject.js";
import { exchange } from "../security/exchange.js";
import { uniqueSchemaName } from "../support/testDatabases.js";

const run = promisify(execFile);
/** The bun binary of the `bun` devDependency (`npm ci` installs it). */
const bun = join(repoRoot, "node_modules/.bin/bun");

const createUser = { path: "users.createUser", kind: "mutation" } as FunctionReference<"mutation", { name: string }>;

describe(
  "the packed package on Bun (bun add, bunx convoy-dev, convoy serve on the Bun runtime)",
  { timeout: 120_000 },
  () => {
    const scratch = mkdtempSync(join(tmpdir(), "convoy-bun-test-"));
    const root = join(scratch, "app");
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));

    beforeAll(async () => {
      const tarball = await packConvoy(scratch);
      cpSync(join(repoRoot, "examples/users-projects/convoy"), join(root, "convoy"), {
        recursive: true,
        filter: (source) => !source.includes("_generated"),
      });
      writeFileSync(join(root, "package.json"), JSON.stringify({ name: "bun-app", private: true, type: "module" }));
      // The spec's install line, with the packed package in place of the registry's.
      await run(bun, ["add", tarball, "zod", "pg", "drizzle-orm"], { cwd: root, env: cliEnvironment({}) });
    }, 300_000);

    it("bunx convoy-dev --once generates", async () => {
      const { stdout } = await run(bun, ["x", "convoy-dev", "--once"], { cwd: root, env: cliEnvironment({}) });
      expect(stdout).toContain("Generated convoy/_generated: 10 function(s), 8 public, 2 table(s)");
      expect(existsSync(join(root, "convoy/_generated/api.js"))).toBe(true);
    });

    const drivers = [
      { name: "PGlite", unavailable: null as string | null, env: {} as Record<string, string>, schema: null },
      {
        name: "Postgres",
        unavailable: inject("postgresUrl") === null ? "Postgres not reachable" : null,
        env: { DATABASE_URL: inject("postgresUrl") ?? "" },
        schema: uniqueSchemaName(),
      },
    ];
    for (const driver of drivers) {
      it.skipIf(driver.unavailable !== null)(
        `convoy serve runs on the Bun runtime on ${driver.name}: a client call and a live update`,
        async () => {
          const args = ["--bun", "x", "convoy", "serve", "--port", "0"];
          if (driver.schema) args.push("--schema-name", driver.schema);
          const server = observeProcess(spawn(bun, args, { cwd: root, env: cliEnvironment(driver.env) }));
          try {
            const url = (await server.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
            // The serving process is Bun itself, not Node started by it.
            expect(readlinkSync(`/proc/${server.child.pid}/exe`)).toMatch(/bun/);
            const client = createConvoyClient({ url });
            let written: Promise<unknown> | undefined;
            const stream = await exchange(`${url}/api/subscribe?path=users.listUsers`, {}, (events) => {
              const results = events.filter((event) => event.event === "result");
              // Once the first result is in, write: the next result must carry the new user.
              if (results.length > 0) written ??= client.mutation(createUser, { name: `Ada on ${driver.name}` });
              return results.some((event) => JSON.stringify(event.data).includes(`Ada on ${driver.name}`));
            });
            expect(stream.status).toBe(200);
            expect(await written).toMatch(/^users_/);
            const last = stream.events.filter((event) => event.event === "result").pop();
            expect(JSON.stringify(last?.data)).toContain(`Ada on ${driver.name}`);
          } finally {
            expect(await server.stop()).toBe(0);
            if (driver.schema) {
              const db = new pg.Client({ connectionString: inject("postgresUrl")! });
              await db.connect();
              await db.query(`DROP SCHEMA IF EXISTS "${driver.schema}" CASCADE`);
              await db.end();
            }
          }
        },
      );
    }
  },
);
