import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import { createUserProject, packConvoy, runCli, startCli, typecheckProject } from "../support/cliProject.js";

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), "convoy-migrate-cli-"));
let root: string;
let schemaFile: string;
let relationalSchema: string;

beforeAll(async () => {
  root = await createUserProject(await packConvoy(scratch));
  schemaFile = join(root, "convoy/schema.ts");
  relationalSchema = readFileSync(schemaFile, "utf8");
  // The app as it was before projects said .relational().
  writeFileSync(schemaFile, relationalSchema.replace(/\s*\.relational\(\)/, ""));
}, 300_000);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  if (root) rmSync(root, { recursive: true, force: true });
});

const ref = (path: string, kind: "query" | "mutation") => ({ path, kind }) as never;

/** A report a user would run over the promoted columns, joined with a table of their own. */
const REPORT = `import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { count, eq } from "drizzle-orm";
import { pgTable, text } from "drizzle-orm/pg-core";
import { projects, users } from "../convoy/_generated/drizzle";

// The user's own table, beside Convoy's.
const plans = pgTable("plans", { userId: text("user_id").notNull(), tier: text("tier").notNull() });

const client = new PGlite(process.argv[2]);
const db = drizzle(client);
await db.execute("CREATE TABLE IF NOT EXISTS plans (user_id text NOT NULL, tier text NOT NULL)");
const [first] = await db.select({ id: users._id }).from(users).limit(1);
await db.execute(\`INSERT INTO plans VALUES ('\${first!.id}', 'pro')\`);
const rows = await db
  .select({ tier: plans.tier, projects: count(projects._id) })
  .from(projects)
  .innerJoin(plans, eq(plans.userId, projects.userId))
  .groupBy(plans.tier);
const names: string[] = (await db.select({ name: projects.name }).from(projects)).map((row) => row.name).sort();
console.log(JSON.stringify({ rows, names }));
await client.close();
`;

describe("convoy migrate, installed from the packed package, on the embedded database", () => {
  it("promotes a table of a running app's data: plan file, dry run, apply, status, drizzle over the columns, rollback", async () => {
    const generated = await runCli(root, ["generate", "--no-typecheck"]);
    expect(generated.code, generated.stderr).toBe(0);

    // Data written through the app while projects is JSONB.
    const server = startCli(root, ["serve", "--port", "0"]);
    const url = (await server.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
    const client = createConvoyClient({ url });
    const userId = await client.mutation(ref("users.createUser", "mutation"), { name: "Ada" } as never);
    for (const name of ["alpha", "beta", "gamma"]) {
      await client.mutation(ref("projects.createProject", "mutation"), { userId, name } as never);
    }
    const before = await client.query(ref("projects.listProjects", "query"), { userId } as never);
    expect(await server.stop()).toBe(0);

    // The schema now says .relational(): generate says a migration is pending and changes nothing.
    writeFileSync(schemaFile, relationalSchema);
    const pending = await runCli(root, ["generate", "--no-typecheck"]);
    expect(pending.code, pending.stderr).toBe(0);
    expect(pending.stdout).toContain(
      "Table projects is declared relational but stored jsonb: serving it as jsonb. Run `convoy migrate`",
    );

    const dry = await runCli(root, ["migrate", "--dry-run"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(readdirSync(join(root, "convoy/migrations"))).toEqual(["0001_projects_to_relational.sql"]);
    expect(dry.stdout).toContain(
      "Plan convoy/migrations/0001_projects_to_relational.sql: projects jsonb -> relational, about 3 row(s)",
    );
    expect(dry.stdout).toContain("-- convoy:step backfill");
    expect(dry.stdout).toContain("review and commit, then run convoy migrate to apply");

    const applied = await runCli(root, ["migrate"]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/projects: backfill done in [\d.]+ s/);
    expect(applied.stdout).toContain("Applied 0001_projects_to_relational. Commit convoy/migrations/ with the app.");
    const status = await runCli(root, ["migrate", "--status"]);
    expect(status.stdout).toMatch(
      /0001_projects_to_relational: projects jsonb -> relational: done .* \(3 \/ ~3 rows backfilled\)/,
    );
    expect(status.stdout).toContain("Every table is stored in the layout its schema declares.");

    // The app answers the same.
    const after = startCli(root, ["serve", "--port", "0"]);
    const afterUrl = (await after.waitFor(/Convoy listening on (http:\/\/\S+) /))[1]!;
    expect(
      await createConvoyClient({ url: afterUrl }).query(ref("projects.listProjects", "query"), { userId } as never),
    ).toEqual(before);
    expect(await after.stop()).toBe(0);

    // drizzle-orm selects the typed columns and joins them with the user's own table.
    writeFileSync(join(root, "client/report.ts"), REPORT);
    const checked = await typecheckProject(root);
    expect(checked.output).toBe("");
    await run(
      join(root, "node_modules/.bin/esbuild"),
      [
        "client/report.ts",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--packages=external",
        "--outfile=client/report.mjs",
      ],
      { cwd: root },
    );
    const report = await run(process.execPath, ["client/report.mjs", join(root, ".convoy/pgdata")], { cwd: root });
    expect(JSON.parse(report.stdout)).toEqual({
      rows: [{ tier: "pro", projects: 3 }],
      names: ["alpha", "beta", "gamma"],
    });

    // Back to JSONB, and not promoted again by itself.
    const back = await runCli(root, ["migrate", "--rollback", "projects"]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain("projects is back to JSONB (convoy/migrations/0002_projects_to_jsonb.sql)");
    expect(existsSync(join(root, "convoy/migrations/0002_projects_to_jsonb.sql"))).toBe(true);
    const held = await runCli(root, ["migrate"]);
    expect(held.stdout).toMatch(/Table projects left as it is: rolled back to jsonb by 0002_projects_to_jsonb/);
  }, 300_000);
});
