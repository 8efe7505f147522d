import { join } from "node:path";
import { openDatabase } from "../../runtime/drivers/openDatabase.js";
import { DEFAULT_SCHEMA_NAME } from "../../runtime/store/documentStore.js";
import { buildApp } from "../generate.js";
import { migrate, migrationStatus, rollback, type MigrateOptions } from "../migrate/migrate.js";
import { findProject, shownPath, type ConvoyProject } from "../project.js";
import { syncSchema, type SyncReport } from "../sync/syncSchema.js";
import type { ServeOptions } from "./options.js";

/** Where the CLI prints. */
interface Output {
  log: (message: string) => void;
  error: (message: string) => void;
}

/** The options only `convoy migrate` takes. */
export interface MigrateCommandOptions {
  dryRun: boolean;
  status: boolean;
  rollback: string | undefined;
  tables: string[];
  wait: boolean;
  batchSize: number | undefined;
}

/** The folder of migration plans: `convoy/migrations/`. */
export function plansDirOf(project: ConvoyProject): string {
  return join(project.dir, "migrations");
}

/** The lines `convoy dev` / `serve` print for tables whose layout a migration has yet to change. */
export function describePendingLayouts(report: SyncReport): string[] {
  return report.pendingLayouts.map((pending) =>
    pending.migrating
      ? `Table ${pending.table} is being moved to ${pending.declared === pending.stored ? "another" : pending.declared} layout by convoy migrate (interrupted or running): serving it as ${pending.stored} meanwhile. \`convoy migrate --status\` shows its progress; \`convoy migrate\` resumes it.`
      : `Table ${pending.table} is declared ${pending.declared} but stored ${pending.stored}: serving it as ${pending.stored}. Run \`convoy migrate\` to move it online (docs/migrations.md).`,
  );
}

function formatStatus(rows: Awaited<ReturnType<typeof migrationStatus>>): string[] {
  if (rows.length === 0) return ["No migrations recorded in this database."];
  return rows.map((row) => {
    const rows = row.rowsEstimate === null ? `${row.rowsDone} rows` : `${row.rowsDone} / ~${row.rowsEstimate} rows`;
    const state =
      row.status === "running"
        ? row.active
          ? `RUNNING now, step "${row.step}" done, backfill ${rows}, last progress ${row.updatedAt.toISOString()}`
          : `INTERRUPTED after step "${row.step}" (backfill ${rows}, last progress ${row.updatedAt.toISOString()}): run convoy migrate to resume`
        : row.status === "done"
          ? `done ${row.finishedAt?.toISOString() ?? ""} (${rows} backfilled)`
          : `cancelled ${row.finishedAt?.toISOString() ?? ""}`;
    const error = row.lastError ? `\n      last error: ${row.lastError.split("\n")[0]}` : "";
    return `  ${row.plan}: ${row.table} ${row.from} -> ${row.to}: ${state}${error}`;
  });
}

/** `convoy migrate`: plan and apply layout migrations; `--status`, `--rollback <table>`, `--dry-run`. */
export async function migrateCommand(options: ServeOptions & MigrateCommandOptions, out: Output): Promise<void> {
  const project = findProject(process.cwd(), options.dir);
  const driver = await openDatabase({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir ?? project.stateDir,
    onProgress: (message) => out.log(message),
  });
  out.log(`Database: ${driver.description}`);
  try {
    const schemaName = options.schemaName ?? DEFAULT_SCHEMA_NAME;
    const built = await buildApp(project, { write: true, schemaName });
    const report = await syncSchema(driver, built.schema, { schemaName, onProgress: (message) => out.log(message) });
    if (options.status) {
      out.log("Migrations:");
      for (const line of formatStatus(await migrationStatus(driver, schemaName))) out.log(line);
      const pending = describePendingLayouts(report);
      if (pending.length > 0) for (const line of pending) out.log(line);
      else out.log("Every table is stored in the layout its schema declares.");
      return;
    }
    const plansDir = plansDirOf(project);
    const common: MigrateOptions = {
      driver,
      schema: built.schema,
      schemaName,
      plansDir,
      wait: options.wait,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      onProgress: (message) => out.log(message),
      onPlan: (plan, file, text) => {
        out.log(
          `Plan ${shownPath(project, file)}: ${plan.table} ${plan.from} -> ${plan.to}, about ${plan.rowsEstimate} row(s)`,
        );
        out.log(text);
      },
    };
    if (options.rollback !== undefined) {
      const outcome = await rollback({ ...common, table: options.rollback });
      out.log(
        outcome.kind === "nothing"
          ? outcome.message
          : outcome.kind === "cancelled"
            ? `Cancelled ${outcome.plan}: ${options.rollback} is JSONB, as before it started.`
            : `${options.rollback} is back to JSONB (${shownPath(project, outcome.file)}). Remove .relational() from its schema, or it stays JSONB until \`convoy migrate --table ${options.rollback}\`.`,
      );
      return;
    }
    const result = await migrate({ ...common, dryRun: options.dryRun, tables: options.tables });
    for (const held of result.held) out.log(`Table ${held.table} left as it is: ${held.reason}`);
    if (options.dryRun) {
      out.log(
        result.written.length > 0
          ? `Wrote ${result.written.map((file) => shownPath(project, file)).join(", ")}: review and commit, then run convoy migrate to apply.`
          : "Dry run: nothing applied.",
      );
    } else if (result.applied.length === 0 && result.written.length === 0) {
      out.log("Nothing to migrate: every table is stored in the layout its schema declares.");
    } else {
      out.log(
        `Applied ${result.applied.join(", ") || "nothing new"}. Commit ${shownPath(project, plansDir)}/ with the app.`,
      );
    }
  } finally {
    await driver.close();
  }
}
