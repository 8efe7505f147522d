import { existsSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { ConvoyError } from "../runtime/errors.js";

/** Where a user's Convoy code and state live. */
export interface ConvoyProject {
  /** The project root (where `package.json` and `node_modules` are). */
  root: string;
  /** The functions folder, `convoy/` or `src/convoy/`. */
  dir: string;
  /** `<dir>/_generated`. */
  generatedDir: string;
  /** `.convoy/` under the root: the embedded database and build output. */
  stateDir: string;
}

/**
 * Finds the functions folder: `--dir` if given, else `convoy/`, else `src/convoy/`,
 * whichever holds a `schema.ts`.
 */
export function findProject(root: string, dirOption?: string): ConvoyProject {
  const absoluteRoot = resolve(root);
  const candidates = dirOption ? [dirOption] : ["convoy", join("src", "convoy")];
  const dir = candidates
    .map((candidate) => resolve(absoluteRoot, candidate))
    .find((path) => existsSync(join(path, "schema.ts")));
  if (dir === undefined) {
    const looked = candidates.map((candidate) => join(candidate, "schema.ts")).join(" or ");
    throw new ConvoyError({
      code: "NOT_FOUND",
      message: `No ${looked} under ${absoluteRoot}. Create convoy/schema.ts (export const schema = defineSchema({...})), or pass --dir`,
    });
  }
  return { root: absoluteRoot, dir, generatedDir: join(dir, "_generated"), stateDir: join(absoluteRoot, ".convoy") };
}

/** A path for messages: relative to the project root. */
export function shownPath(project: ConvoyProject, path: string): string {
  return relative(project.root, path) || ".";
}

/** Loads `.env` of the project root into `process.env`, never overriding what is set. */
export function loadDotEnv(root: string): boolean {
  const file = join(root, ".env");
  if (!existsSync(file)) return false;
  process.loadEnvFile(file);
  return true;
}
