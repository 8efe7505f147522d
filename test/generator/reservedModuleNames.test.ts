import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FunctionInfo } from "../../generator/codegen/functionTree.js";
import { functionsTemplate } from "../../generator/codegen/templates.js";
import { CLI_TEST_TIMEOUT_MS, createLinkedProject, runLinkedCli } from "../support/linkedProject.js";

const RESERVED = ["delete", "new", "class", "default", "export"];

const SCHEMA = `import { defineSchema, defineTable } from "convoy";
import { z } from "zod";
export const schema = defineSchema({ notes: defineTable({ title: z.string() }) });
`;

const moduleOf = (name: string) => `import { z } from "zod";
import { mutation, query } from "../_generated/server";
export const x = query({ handler: async () => "${name}" });
export const put = mutation({ args: { title: z.string() }, handler: (ctx, args) => ctx.db.insert("notes", args) });
`;

const CLIENT = `import { createConvoyClient } from "convoy/client";
import { api } from "../convoy/_generated/api";
export async function demo() {
  const client = createConvoyClient({ url: "http://127.0.0.1:1" });
  const text: string = await client.query(api.delete.x, {});
  await client.mutation(api.new.put, { title: "t" });
  await client.query(api.class.x, {});
  await client.query(api.default.x, {});
  await client.query(api.export.x, {});
  // @ts-expect-error title must be a string
  await client.mutation(api.export.put, { title: 1 });
  return text;
}
`;

describe(
  "function modules named by reserved words (functions/delete.ts, new.ts, ...)",
  { timeout: CLI_TEST_TIMEOUT_MS },
  () => {
    const roots: string[] = [];
    afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

    it("functions.ts imports them under safe aliases, keeping api.delete.x", () => {
      const infos: FunctionInfo[] = RESERVED.map((name) => ({
        modulePath: name,
        exportName: "x",
        kind: "query",
        visibility: "public",
      }));
      const text = functionsTemplate(infos);
      expect(text).toMatchSnapshot();
      expect(text).toContain('import * as delete$ from "../functions/delete.js";');
      expect(text).toContain("delete: {\n    x: delete$.x,");
      expect(text).not.toMatch(/import \* as (delete|new|class|default|export) /);
    });

    it("convoy generate accepts them; the generated code and a client type-check", async () => {
      const files: Record<string, string> = { "convoy/schema.ts": SCHEMA, "client/app.ts": CLIENT };
      for (const name of RESERVED) files[`convoy/functions/${name}.ts`] = moduleOf(name);
      const root = createLinkedProject(files);
      roots.push(root);
      const generated = await runLinkedCli(root, ["generate"]);
      expect(generated.stderr).toBe("");
      expect(generated.code).toBe(0);
      expect(generated.stdout).toContain("10 function(s), 10 public, 1 table(s)");
      expect(readFileSync(join(root, "convoy/_generated/functions.ts"), "utf8")).toContain("new: {");
    });
  },
);
