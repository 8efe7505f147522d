// Builds examples/users-projects and runs it with the real CLI, for the browser test and bench.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, "../..");
export const exampleDir = join(repoRoot, "examples/users-projects");
const cli = join(repoRoot, "dist/generator/cli/bin.js");

async function runNode(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`node ${args.join(" ")} failed: ${failed.message}\n${failed.stdout ?? ""}${failed.stderr ?? ""}`);
  }
}

/**
 * The example's build as from a fresh clone: `convoy generate` (writes convoy/_generated/,
 * syncs `dataDir`'s database), then `vite build` into `outDir`.
 */
export async function buildExample(options: { outDir: string; dataDir: string }): Promise<void> {
  await runNode([cli, "generate", "--no-typecheck", "--data-dir", options.dataDir], exampleDir);
  await runNode(
    [
      join(repoRoot, "node_modules/vite/bin/vite.js"),
      "build",
      "--outDir",
      options.outDir,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    exampleDir,
  );
}

/** Runs the CLI in the example's folder to completion. */
export async function runCli(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd: exampleDir });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: (failed.stdout ?? "") + (failed.stderr ?? "") };
  }
}

/** Type-checks the example (its functions, its React app, its Vite config) with its tsconfig. */
export async function typecheckExample(): Promise<string> {
  return runNode([join(repoRoot, "node_modules/typescript/bin/tsc"), "-p", exampleDir], repoRoot);
}

/** A `convoy serve --static` process. */
export interface ExampleServer {
  url: string;
  port: number;
  child: ChildProcessWithoutNullStreams;
  output(): string;
  /** Ends the process with `signal` (SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `convoy serve --static <webDir>` on `port` (0: a free one) and waits until it listens. */
export async function startExampleServer(options: {
  webDir: string;
  dataDir: string;
  port: number;
}): Promise<ExampleServer> {
  const args = [
    cli,
    "serve",
    "--static",
    options.webDir,
    "--data-dir",
    options.dataDir,
    "--port",
    String(options.port),
  ];
  const environment = { ...process.env };
  delete environment.DATABASE_URL;
  const child = spawn(process.execPath, args, { cwd: exampleDir, env: environment });
  let text = "";
  child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const url = await new Promise<string>((resolvePromise, reject) => {
    const started = Date.now();
    const check = () => {
      const match = /Convoy listening on (http:\/\/\S+) /.exec(text);
      if (match) return resolvePromise(match[1]!);
      if (child.exitCode !== null) return reject(new Error(`convoy serve exited (${child.exitCode}):\n${text}`));
      if (Date.now() - started > 60_000) return reject(new Error(`convoy serve did not start in 60 s:\n${text}`));
      setTimeout(check, 25);
    };
    check();
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => text,
    stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolvePromise) => {
        child.once("exit", () => resolvePromise());
        child.kill(signal);
      });
    },
  };
}
