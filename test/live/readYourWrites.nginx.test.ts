// Two `convoy serve` processes on one Postgres behind a real nginx configured with
// docs/deploy/nginx.conf: nginx spreads requests round robin, so a client's mutations
// and its stream often reach different instances.
import { rmSync } from "node:fs";
import pg from "pg";
import { inject } from "vitest";
import { faultApp } from "../support/faultApp.js";
import { createServedProject, freePort, startServe, stopProcess, type ServeProcess } from "../support/servedProject.js";
import { uniqueSchemaName } from "../support/testDatabases.js";
import { nginxUnavailable, startNginx, type NginxProcess } from "../deploy/nginxProcess.js";
import { describeReadYourWritesSuite } from "./readYourWritesSuite.js";

const databaseUrl = inject("postgresUrl");

/** `tallyFunctions` of readYourWritesSuite.ts, as a file of the served project (same names, same behaviour). */
const tally = `import { z } from "zod";
import { mutation, query } from "../_generated/server";

export const increment = mutation({
  args: { name: z.string() },
  handler: async (ctx, args) => {
    const counter = await ctx.db
      .query("counters")
      .withIndex("by_name", (q) => q.eq("name", args.name))
      .unique();
    if (counter === null) {
      await ctx.db.insert("counters", { name: args.name, value: 1 });
      return 1;
    }
    await ctx.db.patch(counter._id, { value: counter.value + 1 });
    return counter.value + 1;
  },
});

export const get = query({
  args: { name: z.string() },
  handler: async (ctx, args) =>
    (
      await ctx.db
        .query("counters")
        .withIndex("by_name", (q) => q.eq("name", args.name))
        .unique()
    )?.value ?? 0,
});

export const total = query({
  handler: async (ctx) =>
    (await ctx.db.query("counters").fullTableScan().collect()).reduce((sum, row) => sum + row.value, 0),
});
`;

describeReadYourWritesSuite({
  name: "two convoy serve instances behind nginx",
  unavailable: databaseUrl === null ? "Postgres is not reachable" : nginxUnavailable(),
  async start() {
    const schemaName = uniqueSchemaName();
    const root = await createServedProject({ ...faultApp, "functions/tally.ts": tally });
    const instances: ServeProcess[] = [];
    let nginx: NginxProcess | undefined;
    const close = async () => {
      await nginx?.stop();
      for (const instance of instances) await stopProcess(instance);
      const admin = new pg.Client({ connectionString: databaseUrl! });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
      await admin.end();
      rmSync(root, { recursive: true, force: true });
    };
    try {
      const ports = [await freePort(), await freePort()];
      // The first syncs the schema.
      for (const port of ports) instances.push(await startServe(root, { databaseUrl: databaseUrl!, schemaName, port }));
      nginx = await startNginx(ports, await freePort());
      return { url: nginx.url, balanced: true, close };
    } catch (error) {
      await close();
      throw error;
    }
  },
});
