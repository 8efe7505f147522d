import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_TEST_TIMEOUT_MS, createLinkedProject, runLinkedCli, startLinkedCli } from "../support/linkedProject.js";

const run = promisify(execFile);

const SCHEMA = `import { defineSchema, defineTable } from "convoy";
import { z } from "zod";
export const schema = defineSchema({ notes: defineTable({ title: z.string() }) });
`;

const NOTES = `import { z } from "zod";
import { mutation, query } from "../_generated/server";
export const list = query({ handler: (ctx) => ctx.db.query("notes").collect() });
export const add = mutation({ args: { title: z.string() }, handler: (ctx, args) => ctx.db.insert("notes", args) });
`;

/** A TypeScript client: the references keep their types. */
const CLIENT_TS = `import { createConvoyClient } from "convoy/client";
import type { Id } from "convoy";
import { api } from "../convoy/_generated/api";
import { createClient } from "../convoy/_generated/http";
export async function demo(url: string) {
  const client = createConvoyClient({ url });
  const id: Id<"notes"> = await client.mutation(api.notes.add, { title: "t" });
  const titles: string[] = (await client.query(api.notes.list, {})).map((note) => note.title);
  // @ts-expect-error title must be a string
  await client.mutation(api.notes.add, { title: 1 });
  // @ts-expect-error list is a query
  await createClient({ url }).mutation(api.notes.list, {});
  return { id, titles };
}
`;

/** A plain Node ESM script, no TypeScript anywhere. */
const SCRIPT_MJS = `import { createConvoyClient } from "convoy/client";
import { api } from "./convoy/_generated/api.js";

const client = createConvoyClient({ url: process.argv[2] });
await client.mutation(api.notes.add, { title: "from plain JavaScript" });
console.log(JSON.stringify(await client.query(api.notes.list, {})));
`;

describe("_generated/api from JavaScript and from TypeScript", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let root: string;
  afterAll(() => root && rmSync(root, { recursive: true, force: true }));

  it("a plain .mjs script imports api and calls a function; the TypeScript client still type-checks", async () => {
    root = createLinkedProject({
      "convoy/schema.ts": SCHEMA,
      "convoy/functions/notes.ts": NOTES,
      "client/app.ts": CLIENT_TS,
      "script.mjs": SCRIPT_MJS,
    });
    // The test runs tsc itself, over the client too.
    const generated = await runLinkedCli(root, ["generate", "--no-typecheck"]);
    expect(generated.stderr).toBe("");
    expect(generated.code).toBe(0);
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const checked = await run(process.execPath, [tsc, "-p", root]).catch((error: { stdout: string }) => error);
    expect(checked.stdout).toBe("");

    const server = startLinkedCli(root, ["serve", "--port", "0"]);
    try {
      const url = (await server.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
      const { stdout } = await run(process.execPath, ["script.mjs", url], { cwd: root });
      expect(JSON.parse(stdout)).toMatchObject([{ title: "from plain JavaScript" }]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
