import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { generateExampleCode } from "./exampleCode.js";
import { ensurePackageBuilt } from "./packageBuild.js";

export const DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

declare module "vitest" {
  export interface ProvidedContext {
    /** Path of a dumped, empty PGlite data directory: loading it is ~10x faster than initdb. */
    pgliteTemplate: string;
    /** URL of a reachable Postgres for tests, or null with the reason in `postgresUnavailable`. */
    postgresUrl: string | null;
    postgresUnavailable: string;
  }
}

async function probePostgres(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await ensurePackageBuilt((message) => console.log(`[convoy tests] ${message}`));
  await generateExampleCode();
  const db = await PGlite.create();
  const template = join(tmpdir(), `convoy-pglite-template-${process.pid}.tar`);
  await writeFile(template, Buffer.from(await (await db.dumpDataDir("none")).arrayBuffer()));
  await db.close();
  project.provide("pgliteTemplate", template);

  const url = process.env.CONVOY_TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const problem = await probePostgres(url);
  if (problem !== null && process.env.CI === "true") {
    throw new Error(`CI=true but Postgres at ${url} is not reachable (${problem}); .ci/run must start it`);
  }
  if (problem !== null) {
    console.warn(`\n[convoy tests] Postgres tests are SKIPPED: ${url} is not reachable (${problem}).\n`);
  }
  project.provide("postgresUrl", problem === null ? url : null);
  project.provide("postgresUnavailable", problem ?? "");
}
