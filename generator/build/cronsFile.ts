import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConvoyError } from "../../runtime/errors.js";
import { isCrons, type Crons } from "../../runtime/scheduler/cronJobs.js";

const CRONS_FILES = ["crons.ts", "crons.mts", "crons.js", "crons.mjs"];

/** The cron jobs' file in the functions folder (`convoy/crons.ts`), or null when there is none. */
export function findCronsFile(dir: string): string | null {
  const found = CRONS_FILES.map((name) => join(dir, name)).filter((file) => existsSync(file));
  if (found.length > 1) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Both ${found.map((file) => file.slice(dir.length + 1)).join(" and ")} are in ${dir}: keep one crons file`,
    });
  }
  return found[0] ?? null;
}

/** The default export of a bundled `convoy/crons.ts`, checked to be `cronJobs()`; undefined without that file. */
export function readCrons(cronsModule: Record<string, unknown> | undefined): Crons | undefined {
  if (cronsModule === undefined) return undefined;
  const crons = cronsModule.default;
  if (!isCrons(crons)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message:
        'convoy/crons.ts must export its cron jobs by default: const crons = cronJobs(); ...; export default crons (import { cronJobs } from "convoy/server"). See docs/crons.md',
    });
  }
  return crons;
}
