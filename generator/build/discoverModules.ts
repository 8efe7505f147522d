import { readdirSync, statSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { ConvoyError } from "../../runtime/errors.js";

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;
const SKIPPED = /\.(d\.ts|test\.tsx?|spec\.tsx?|test-d\.ts)$/;

/** One module under `functions/`: its path without extension, and its file. */
export interface FunctionModule {
  modulePath: string;
  file: string;
}

/**
 * Every module under `<dir>/functions`, sorted. Each path segment must be an
 * identifier (it becomes a key of `api`), and a module cannot share its name with a folder.
 */
export function discoverModules(dir: string): FunctionModule[] {
  const root = join(dir, "functions");
  if (!existsSync(root)) return [];
  const modules: FunctionModule[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder).sort()) {
      if (entry.startsWith(".") || entry === "node_modules") continue;
      const path = join(folder, entry);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      if (!SOURCE.test(entry) || SKIPPED.test(entry)) continue;
      const modulePath = relative(root, path).replace(SOURCE, "").split(sep).join("/");
      const bad = modulePath.split("/").find((segment) => !SEGMENT.test(segment));
      if (bad !== undefined) {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `${relative(dir, path)}: "${bad}" cannot be part of a function path; rename it to letters, digits and "_" (it becomes api.${modulePath.replace(/\//g, ".")})`,
        });
      }
      modules.push({ modulePath, file: path });
    }
  };
  walk(root);
  const reserved = modules.find((module) => module.modulePath.split("/")[0] === "live");
  if (reserved !== undefined) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `functions/${reserved.modulePath}: "live" is reserved at the top level (the tRPC router's live.* subscriptions); rename it`,
    });
  }
  const paths = new Set(modules.map((module) => module.modulePath));
  for (const module of modules) {
    if ([...paths].some((other) => other.startsWith(`${module.modulePath}/`))) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `functions/${module.modulePath} is both a module and a folder; rename one of them`,
      });
    }
    if (paths.size !== new Set([...paths].map((path) => path.toLowerCase())).size) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: "Two function modules differ only in letter case; rename one",
      });
    }
  }
  return modules;
}
