import { createHash } from "node:crypto";
import { ConvoyError } from "../../runtime/errors.js";
import { STEPS, type MigrationPlan, type PlanHeader, type PlanStep, type StepName } from "./migrationPlan.js";

/** What each step does, as the plan file explains it to its reviewer. */
const STEP_NOTES: Record<StepName, string> = {
  check: "Read only: lists documents that do not fit the new shape. If any is found, nothing changes.",
  expand:
    "One transaction (lock_timeout, retried): the new columns (nullable, no default: no rewrite), the\n-- trigger that keeps both shapes equal, and the constraints NOT VALID.",
  backfill:
    "Repeated in batches ($1: the last _id done, $2: the batch size), each its own transaction with\n-- convoy.mutation = 'backfill' (not logged as changes); the progress is recorded after each batch.",
  validate: "Each statement alone (lock_timeout, retried): VALIDATE scans without blocking reads or writes.",
  index: "Outside a transaction: CREATE INDEX CONCURRENTLY does not block reads or writes.",
  switch: "One transaction: servers use the new layout from their next transaction.",
  contract:
    "One transaction (lock_timeout, retried): the change log reads the new shape; the old shape, its\n-- indexes and the trigger are dropped (no rewrite); the new indexes take their names.",
};

const PLAN_MARK = "-- convoy:plan ";
const STEP_MARK = "-- convoy:step ";

/** The plan as the reviewable `.sql` file `convoy migrate` writes. */
export function renderPlan(plan: MigrationPlan, writtenOn: Date): string {
  const header: PlanHeader & { rowsEstimate: number } = {
    version: plan.version,
    table: plan.table,
    from: plan.from,
    to: plan.to,
    schema: plan.schema,
    schemaHash: plan.schemaHash,
    rowsEstimate: plan.rowsEstimate,
  };
  const lines = [
    `-- Convoy migration plan ${plan.name}: table "${plan.table}" from ${plan.from} to ${plan.to}.`,
    `-- Written by \`convoy migrate\` on ${writtenOn.toISOString().slice(0, 10)}, when the table held about ${plan.rowsEstimate} row(s).`,
    "-- Review it and commit it with the app: `convoy migrate` applies it online, step by step,",
    "-- resuming where it stopped, and records its progress in _migrations (docs/migrations.md).",
    `${PLAN_MARK}${JSON.stringify(header)}`,
  ];
  for (const step of plan.steps) {
    lines.push("", `${STEP_MARK}${step.name}`, `-- ${STEP_NOTES[step.name]}`);
    for (const statement of step.statements) lines.push(`${statement};`);
  }
  return `${lines.join("\n")}\n`;
}

/** The plan file's identity for `_migrations`: a hash of its text. */
export function planHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function badPlan(file: string, reason: string): never {
  throw new ConvoyError({
    code: "BAD_REQUEST",
    message: `${file} is not a Convoy migration plan (${reason}). Plans are written by \`convoy migrate\`; delete the file and run it again if nothing of it was applied.`,
  });
}

/**
 * Splits SQL text into statements at top-level semicolons, skipping `--` comments and
 * keeping quoted text, quoted names and dollar-quoted bodies whole.
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = "";
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === "-" && text[i + 1] === "-") {
      const end = text.indexOf("\n", i);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    if (char === "'" || char === '"') {
      let end = i + 1;
      for (;;) {
        end = text.indexOf(char, end);
        if (end === -1) return [...statements, (current + text.slice(i)).trim()].filter(Boolean);
        if (text[end + 1] === char) end += 2;
        else break;
      }
      current += text.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (char === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(i, i + 64))?.[0];
      if (tag) {
        const end = text.indexOf(tag, i + tag.length);
        const stop = end === -1 ? text.length : end + tag.length;
        current += text.slice(i, stop);
        i = stop;
        continue;
      }
    }
    if (char === ";") {
      if (current.trim()) statements.push(current.trim());
      current = "";
      i++;
      continue;
    }
    current += char;
    i++;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}

/** Reads a plan file back: its header, and each step's statements as written (a reviewer's edits included). */
export function parsePlan(text: string, file: string, name: string): MigrationPlan {
  const headerLine = text.split("\n").find((line) => line.startsWith(PLAN_MARK));
  if (headerLine === undefined) badPlan(file, `no "${PLAN_MARK.trim()}" line`);
  let header: PlanHeader & { rowsEstimate?: number };
  try {
    header = JSON.parse(headerLine.slice(PLAN_MARK.length)) as PlanHeader & { rowsEstimate?: number };
  } catch {
    badPlan(file, "its convoy:plan line is not JSON");
  }
  if (header.version !== 1 || typeof header.table !== "string" || typeof header.schemaHash !== "string") {
    badPlan(file, "its convoy:plan line lacks the version, table or schemaHash");
  }
  const parts = text.split(new RegExp(`^${STEP_MARK}`, "m")).slice(1);
  const steps: PlanStep[] = parts.map((part) => {
    const newline = part.indexOf("\n");
    const stepName = (newline === -1 ? part : part.slice(0, newline)).trim();
    if (!(STEPS as readonly string[]).includes(stepName)) badPlan(file, `unknown step "${stepName}"`);
    return { name: stepName as StepName, statements: splitStatements(newline === -1 ? "" : part.slice(newline + 1)) };
  });
  const names = steps.map((step) => step.name).join(",");
  if (names !== STEPS.join(",")) badPlan(file, `its steps are ${names || "missing"}, not ${STEPS.join(", ")}`);
  return { ...header, name, steps, rowsEstimate: header.rowsEstimate ?? 0 };
}
