// dist/ is what the packed package, the CLI tests and the example app run. It is built
// once, before the tests (globalSetup), so no test rewrites it while another reads it.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, "../..");
const cli = join(repoRoot, "dist/generator/cli/bin.js");

function newestChange(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return path.endsWith(".ts") || path.endsWith(".tsx") ? stat.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

/** Compiles the package to dist/ (what "convoy" resolves to) when a source is newer than the build. */
export async function ensurePackageBuilt(log: (message: string) => void = () => {}): Promise<void> {
  const built = join(repoRoot, "dist/react/index.js");
  const sources = Math.max(...["runtime", "generator", "react"].map((dir) => newestChange(join(repoRoot, dir))));
  if (existsSync(cli) && existsSync(built) && statSync(built).mtimeMs >= sources) return;
  log("dist/ is older than the sources: running tsc -p tsconfig.build.json");
  const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");
  try {
    await run(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    // tsc still emits on type errors; the type check proper is `npm run typecheck`'s job.
    log(`tsc reported errors (dist/ was written anyway):\n${(error as { stdout?: string }).stdout ?? String(error)}`);
  }
}
