import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { parseOptions } from "../../generator/cli/options.js";
import { CLI_TEST_TIMEOUT_MS, createLinkedProject, runLinkedCli, startLinkedCli } from "../support/linkedProject.js";

const SCHEMA = `import { defineSchema, defineTable } from "convoy";
import { z } from "zod";
export const schema = defineSchema({ notes: defineTable({ title: z.string() }) });
`;
const NOTES = `import { query } from "../_generated/server";
export const list = query({ handler: (ctx) => ctx.db.query("notes").collect() });
`;

describe("--max-streams-per-client and CONVOY_MAX_STREAMS_PER_CLIENT", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let root: string;
  afterAll(() => root && rmSync(root, { recursive: true, force: true }));

  it("parses the option for serve and dev", () => {
    for (const command of ["serve", "dev"]) {
      expect(parseOptions(command, ["--max-streams-per-client", "500"], ["max-streams-per-client"])).toMatchObject({
        maxStreamsPerClient: 500,
      });
    }
    expect(parseOptions("serve", [], ["max-streams-per-client"]).maxStreamsPerClient).toBeUndefined();
  });

  it("refuses bad values with a clear error, before opening the database", async () => {
    root = createLinkedProject({ "convoy/schema.ts": SCHEMA, "convoy/functions/notes.ts": NOTES });
    for (const bad of ["abc", "0", "-3", "2.5", "1e3", "100001"]) {
      const result = await runLinkedCli(root, ["serve", "--port", "0", `--max-streams-per-client=${bad}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`--max-streams-per-client ${bad}: give the number of live streams`);
    }
    const fromEnvironment = await runLinkedCli(root, ["dev", "--port", "0"], { CONVOY_MAX_STREAMS_PER_CLIENT: "lots" });
    expect(fromEnvironment.code).toBe(1);
    expect(fromEnvironment.stderr).toContain("CONVOY_MAX_STREAMS_PER_CLIENT lots: give the number of live streams");
    expect(fromEnvironment.stdout).not.toContain("Database:");
    const help = await runLinkedCli(root, ["serve", "--help"]);
    expect(help.stdout).toContain("--max-streams-per-client <n>");
  });

  it("serve applies the limit from the environment; the option wins over it", async () => {
    for (const { args, env, limit } of [
      { args: [], env: { CONVOY_MAX_STREAMS_PER_CLIENT: "2" }, limit: 2 },
      { args: ["--max-streams-per-client", "3"], env: { CONVOY_MAX_STREAMS_PER_CLIENT: "1" }, limit: 3 },
    ]) {
      const server = startLinkedCli(root, ["serve", "--port", "0", ...args], env);
      const aborts = new AbortController();
      try {
        const url = (await server.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
        const open = () => fetch(`${url}/api/subscribe?path=notes.list`, { signal: aborts.signal });
        for (let i = 0; i < limit; i++) expect((await open()).status).toBe(200);
        const refused = await open();
        expect(refused.status).toBe(429);
        expect(await refused.text()).toContain(`already has ${limit} live streams open`);
      } finally {
        aborts.abort();
        expect(await server.stop()).toBe(0);
      }
    }
  });
});
