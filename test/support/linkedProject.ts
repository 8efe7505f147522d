import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  cliEnvironment,
  observeProcess,
  repoRoot,
  runToCompletion,
  writeUserTsconfig,
  type CliProcess,
  type CompletedRun,
} from "./cliProject.js";

/** The CLI as built to dist/ (globalSetup rebuilds it when a source is newer). */
const cli = join(repoRoot, "dist/generator/cli/bin.js");

/** A test that runs the CLI (a new embedded database, tsc) can take a minute on a loaded 2-core machine. */
export const CLI_TEST_TIMEOUT_MS = 120_000;

/** Packages the user's code may import, linked from the repository's node_modules. */
const LINKED = ["zod", "typescript", "@types/node", "drizzle-orm", "@trpc/server", "@trpc/client"];

/**
 * A fresh user project without `npm install`: `node_modules/convoy` links to this
 * repository (its built dist/), the other packages to the repository's copies. No
 * `_generated/` exists until a command writes it. Fast enough for many small tests;
 * the packed-package tests (test/cli) cover what `npm install` adds.
 */
export function createLinkedProject(files: Record<string, string>, options: { tsconfig?: boolean } = {}): string {
  const root = mkdtempSync(join(tmpdir(), "convoy-linked-project-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "user-app", private: true, type: "module" }));
  mkdirSync(join(root, "node_modules/@types"), { recursive: true });
  mkdirSync(join(root, "node_modules/@trpc"), { recursive: true });
  symlinkSync(repoRoot, join(root, "node_modules/convoy"), "dir");
  for (const name of LINKED) symlinkSync(join(repoRoot, "node_modules", name), join(root, "node_modules", name), "dir");
  if (options.tsconfig ?? true) writeUserTsconfig(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Runs the built CLI in `root` to completion. */
export function runLinkedCli(root: string, args: string[], env: Record<string, string> = {}): Promise<CompletedRun> {
  return runToCompletion(process.execPath, [cli, ...args], root, env);
}

/** Starts the built CLI in `root` (serve, dev) and collects what it prints. */
export function startLinkedCli(root: string, args: string[], env: Record<string, string> = {}): CliProcess {
  return observeProcess(spawn(process.execPath, [cli, ...args], { cwd: root, env: cliEnvironment(env) }));
}
