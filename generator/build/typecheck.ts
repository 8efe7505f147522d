import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { ConvoyProject } from "../project.js";

/** A type error in the user's code, as `file:line:column: message`. */
export type TypeErrorLine = string;

/** The project's own TypeScript compiler, if it has one and a tsconfig.json. */
function findTsc(project: ConvoyProject): string | null {
  if (!existsSync(join(project.root, "tsconfig.json"))) return null;
  try {
    return createRequire(join(project.root, "package.json")).resolve("typescript/bin/tsc");
  } catch {
    return null;
  }
}

/**
 * Type-checks the project with its own `tsc --noEmit` and returns the errors in files
 * under the functions folder. Returns null when the project has no TypeScript or no
 * tsconfig.json (then only syntax is checked, by the bundler).
 */
export function typecheck(project: ConvoyProject): Promise<TypeErrorLine[] | null> {
  const tsc = findTsc(project);
  if (tsc === null) return Promise.resolve(null);
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [tsc, "--noEmit", "--pretty", "false", "-p", project.root],
      { cwd: project.root, maxBuffer: 16 * 1024 * 1024 },
      (_error, stdout) => {
        const errors: TypeErrorLine[] = [];
        for (const line of stdout.split("\n")) {
          const match = /^(.+?)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(line.trim());
          if (!match) continue;
          const file = isAbsolute(match[1]!) ? match[1]! : resolve(project.root, match[1]!);
          if (!file.startsWith(project.dir)) continue;
          errors.push(`${relative(project.root, file)}:${match[2]}:${match[3]}: ${match[4]}`);
        }
        resolvePromise(errors);
      },
    );
  });
}
