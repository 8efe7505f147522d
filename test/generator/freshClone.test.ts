import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import type { FunctionReference } from "../../runtime/functions/functionReference.js";
import { CLI_TEST_TIMEOUT_MS, createLinkedProject, runLinkedCli, startLinkedCli } from "../support/linkedProject.js";

const SCHEMA = `import { defineSchema, defineTable } from "convoy";
import { z } from "zod";
export const schema = defineSchema({ notes: defineTable({ title: z.string() }) });
`;

/** A module that uses api as Convex apps do: at the top level and inside a handler. */
const NOTES = `import { z } from "zod";
import { api } from "../_generated/api";
import { mutation, query } from "../_generated/server";

const listRef = api.notes.list;

export const list = query({ handler: (ctx) => ctx.db.query("notes").collect() });
export const add = mutation({ args: { title: z.string() }, handler: (ctx, args) => ctx.db.insert("notes", args) });
// As with Convex, a handler whose result comes from api annotates its return type (else it is circular).
export const whereIs = query({
  handler: (): { path: string; kind: string } => ({ path: listRef.path, kind: api.notes.add.kind }),
});
`;

/** A clone of an app: the sources, no convoy/_generated/ and no .convoy/. */
const freshClone = () => createLinkedProject({ "convoy/schema.ts": SCHEMA, "convoy/functions/notes.ts": NOTES });

describe("a fresh clone, before any convoy/_generated/ exists", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

  for (const command of [["generate"], ["dev", "--once", "--no-typecheck"]]) {
    it(`convoy ${command.join(" ")} works when a function imports ../_generated/api`, async () => {
      const root = freshClone();
      roots.push(root);
      expect(existsSync(join(root, "convoy/_generated"))).toBe(false);
      const result = await runLinkedCli(root, command);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("3 function(s), 3 public, 1 table(s)");
      expect(existsSync(join(root, "convoy/_generated/server.ts"))).toBe(true);
    });
  }

  it("convoy serve builds what it needs in memory, writes nothing to the source tree, and serves", async () => {
    const root = freshClone();
    roots.push(root);
    const server = startLinkedCli(root, ["serve", "--port", "0"]);
    try {
      const url = (await server.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
      const client = createConvoyClient({ url });
      const ref = <TKind extends "query" | "mutation">(path: string, kind: TKind): FunctionReference<TKind> => ({
        path,
        kind,
      });
      await client.mutation(ref("notes.add", "mutation"), { title: "first" });
      expect(await client.query(ref("notes.list", "query"), {})).toMatchObject([{ title: "first" }]);
      // The real references, not the first pass's placeholder (whose kind is always "query").
      expect(await client.query(ref("notes.whereIs", "query"), {})).toEqual({ path: "notes.list", kind: "mutation" });
      expect(existsSync(join(root, "convoy/_generated"))).toBe(false);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
