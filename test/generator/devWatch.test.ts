import { renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import type { FunctionReference } from "../../runtime/functions/functionReference.js";
import { CLI_TEST_TIMEOUT_MS, createLinkedProject, startLinkedCli } from "../support/linkedProject.js";

/** Version `max` of the schema: notes may carry n up to `max`. */
const schema = (max: number) => `import { defineSchema, defineTable } from "convoy";
import { z } from "zod";
export const schema = defineSchema({ notes: defineTable({ n: z.number().max(${max}) }) });
`;

const NOTES = `import { z } from "zod";
import { mutation } from "../_generated/server";
export const add = mutation({ args: { n: z.number() }, handler: (ctx, args) => ctx.db.insert("notes", args) });
`;

const add = { path: "notes.add", kind: "mutation" } as FunctionReference<"mutation", { n: number }>;

describe("convoy dev watches convoy/", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let root: string;
  afterAll(() => root && rmSync(root, { recursive: true, force: true }));

  it("sees every save of schema.ts that replaces the file (temp file + rename), not only the first", async () => {
    root = createLinkedProject({ "convoy/schema.ts": schema(0), "convoy/functions/notes.ts": NOTES });
    const dev = startLinkedCli(root, ["dev", "--port", "0", "--no-typecheck"]);
    try {
      const url = (await dev.waitFor(/Convoy dev server on (http:\/\/\S+) /))[1]!;
      await dev.waitFor(/Watching convoy for changes/);
      const client = createConvoyClient({ url, mutationRetryMs: 0 });
      await expect(client.mutation(add, { n: 1 })).rejects.toThrow();
      for (const version of [1, 2, 3]) {
        // As editors and sed -i save: write a temporary file, then rename it over schema.ts.
        const temporary = join(root, "convoy", `.schema.ts.${version}.tmp`);
        writeFileSync(temporary, schema(version));
        renameSync(temporary, join(root, "convoy/schema.ts"));
        await expect
          .poll(
            () =>
              client.mutation(add, { n: version }).then(
                () => "stored",
                (error: Error) => error.message,
              ),
            {
              timeout: 20_000,
              interval: 300,
            },
          )
          .toBe("stored");
        // The new schema still forbids what it should.
        await expect(client.mutation(add, { n: version + 1 })).rejects.toThrow();
      }
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  });
});
