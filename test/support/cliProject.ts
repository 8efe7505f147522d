import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, "../..");

/**
 * Packs the repository as npm would publish it; returns the tarball's path. dist/ is
 * already built (globalSetup), so `prepare` is not run again under other tests' feet.
 */
export async function packConvoy(into: string): Promise<string> {
  const { stdout } = await run("npm", ["pack", "--silent", "--ignore-scripts", "--pack-destination", into], {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
  });
  return join(into, stdout.trim().split("\n").pop()!);
}

/**
 * A new project that depends on the packed package, as a user's would, holding the
 * example's convoy/ folder. npm installs from its cache where it can.
 */
export async function createUserProject(tarball: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "convoy-user-project-"));
  const versions = JSON.parse(
    await (await import("node:fs/promises")).readFile(join(repoRoot, "package.json"), "utf8"),
  ) as {
    devDependencies: Record<string, string>;
  };
  writeFileSync(
    join(root, "package.json"),
    JSON.stringify(
      {
        name: "user-app",
        private: true,
        type: "module",
        dependencies: {
          convoy: `file:${tarball}`,
          zod: versions.devDependencies.zod,
          "@trpc/server": versions.devDependencies["@trpc/server"],
          "@trpc/client": versions.devDependencies["@trpc/client"],
          "drizzle-orm": versions.devDependencies["drizzle-orm"],
          typescript: versions.devDependencies.typescript,
          "@types/node": versions.devDependencies["@types/node"],
        },
      },
      null,
      2,
    ),
  );
  cpSync(join(repoRoot, "examples/users-projects/convoy"), join(root, "convoy"), {
    recursive: true,
    filter: (source) => !source.includes("_generated"),
  });
  writeUserTsconfig(root);
  mkdirSync(join(root, "client"));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  return root;
}

/** How a command run to completion ended: its exit code (0: success) and what it printed. */
export interface CompletedRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the installed `convoy` CLI to completion. */
export function runCli(root: string, args: string[], env: Record<string, string> = {}): Promise<CompletedRun> {
  return runToCompletion(join(root, "node_modules/.bin/convoy"), args, root, env);
}

/**
 * Runs `file` with `args` in `cwd` to completion, with the test process's environment as
 * {@link cliEnvironment} makes it; a failure is returned with its code, not thrown.
 */
export async function runToCompletion(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<CompletedRun> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd,
      env: cliEnvironment(env),
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : 1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

/** A long-running CLI process (serve, dev) and what it printed so far. */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Waits until the output matches, or fails after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
}

/** The test process's environment without DATABASE_URL, plus `env`. */
export function cliEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!("DATABASE_URL" in env)) delete base.DATABASE_URL;
  return base;
}

export function startCli(root: string, args: string[], env: Record<string, string> = {}): CliProcess {
  return observeProcess(spawn(join(root, "node_modules/.bin/convoy"), args, { cwd: root, env: cliEnvironment(env) }));
}

/** Collects what a started CLI process prints, to wait on it and stop it. */
export function observeProcess(child: ChildProcessWithoutNullStreams): CliProcess {
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return {
    child,
    output: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolvePromise, reject) => {
        const started = Date.now();
        const check = () => {
          const match = pattern.exec(text);
          if (match) return resolvePromise(match);
          if (child.exitCode !== null)
            return reject(new Error(`CLI exited (${child.exitCode}) before ${pattern}:\n${text}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`Timed out waiting for ${pattern}:\n${text}`));
          setTimeout(check, 50);
        };
        check();
      });
    },
    stop() {
      // A child killed by a signal has no exit code, but it has exited all the same.
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolvePromise) => {
        child.once("exit", (code) => resolvePromise(code));
        child.kill("SIGTERM");
      });
    },
  };
}

/** Runs the project's own tsc; resolves with its output and exit code. */
export async function typecheckProject(root: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", root], {
      cwd: root,
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? 1, output: failed.stdout ?? "" };
  }
}

/** The strict tsconfig a user's project has: type-checks `convoy/` and `client/`. */
export function writeUserTsconfig(root: string): void {
  writeFileSync(
    join(root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        types: ["node"],
      },
      include: ["convoy/**/*.ts", "client/**/*.ts"],
    }),
  );
}
