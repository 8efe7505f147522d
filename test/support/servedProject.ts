// Projects served by the installed `convoy` CLI, for fault and deployment tests that run
// several server processes. Packing and installing the package takes ~45 s, so one
// install is shared by every test file of a run: it lives in the temp folder under a
// hash of the package's sources, built once (behind a lock) and reused while the
// sources are unchanged. Each project links its node_modules to it.
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { serverTemplate } from "../../generator/codegen/templates.js";
import { createUserProject, packConvoy, repoRoot, startCli, type CliProcess } from "./cliProject.js";

const CACHE_PREFIX = "convoy-installed-";
const LOCK_STALE_MS = 10 * 60_000;
const CACHE_KEEP_MS = 30 * 60_000;

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sourceFiles(path);
    return /\.(ts|tsx|json)$/.test(entry.name) && !/\.test(-d)?\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** A hash of everything that goes into the packed package. */
function sourcesHash(): string {
  const hash = createHash("sha256");
  const files = [
    join(repoRoot, "package.json"),
    join(repoRoot, "tsconfig.json"),
    join(repoRoot, "tsconfig.build.json"),
    ...["runtime", "generator", "react"].flatMap((folder) => sourceFiles(join(repoRoot, folder))),
  ].sort();
  for (const file of files) hash.update(relative(repoRoot, file)).update("\0").update(readFileSync(file));
  return hash.digest("hex").slice(0, 16);
}

function removeOldInstalls(keep: string): void {
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (!name.startsWith(CACHE_PREFIX) || path === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > CACHE_KEEP_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another run removed it first.
    }
  }
}

/**
 * The root of a project that installed the packed package of the current sources
 * (its `node_modules` holds `convoy` and its peers). Built on first use in a run.
 */
export async function installedConvoy(): Promise<string> {
  const cache = join(tmpdir(), `${CACHE_PREFIX}${sourcesHash()}`);
  const project = join(cache, "project");
  const ready = join(cache, "ready");
  const lock = join(cache, "lock");
  mkdirSync(cache, { recursive: true });
  for (;;) {
    if (existsSync(ready)) {
      // In use: other runs' clean-up keeps it.
      utimesSync(cache, new Date(), new Date());
      return project;
    }
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is installing: wait for it, or take over a lock it left behind.
      if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    try {
      rmSync(project, { recursive: true, force: true });
      renameSync(await createUserProject(await packConvoy(cache)), project);
      writeFileSync(ready, "");
      removeOldInstalls(cache);
      return project;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/**
 * A new project folder whose `convoy/` holds `files` (paths relative to `convoy/`,
 * e.g. `schema.ts`, `functions/items.ts`) and `_generated/server.ts`, using the shared
 * install. Remove it with `rmSync(root, { recursive: true })`.
 */
export async function createServedProject(files: Record<string, string>): Promise<string> {
  const installed = await installedConvoy();
  const root = mkdtempSync(join(tmpdir(), "convoy-served-"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "served-app", private: true, type: "module" }));
  symlinkSync(join(installed, "node_modules"), join(root, "node_modules"), "dir");
  for (const [path, text] of Object.entries({ ...files, "_generated/server.ts": serverTemplate() })) {
    mkdirSync(dirname(join(root, "convoy", path)), { recursive: true });
    writeFileSync(join(root, "convoy", path), text);
  }
  return root;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** A running `convoy serve` and its base URL. */
export interface ServeProcess extends CliProcess {
  url: string;
}

/**
 * Starts `convoy serve` in `root` on Postgres (`databaseUrl`, Convoy's tables in
 * `schemaName`) and waits until it listens. `port` 0 picks a free port.
 */
export async function startServe(
  root: string,
  options: { databaseUrl: string; schemaName: string; port?: number; args?: string[]; env?: Record<string, string> },
): Promise<ServeProcess> {
  const cli = startCli(
    root,
    ["serve", "--port", String(options.port ?? 0), "--schema-name", options.schemaName, ...(options.args ?? [])],
    { DATABASE_URL: options.databaseUrl, ...options.env },
  );
  const url = (await cli.waitFor(/Convoy listening on (http:\/\/\S+) /, 90_000))[1]!;
  return { ...cli, url };
}

/** A function call's HTTP answer. */
export interface CallAnswer {
  status: number;
  body: { value?: unknown; error?: { code: string; message: string } };
}

/** `POST /api/<kind>` with `{ path, args }`; rejects when the server cannot be reached. */
export async function callFunction(
  url: string,
  kind: "query" | "mutation",
  path: string,
  args: unknown = {},
): Promise<CallAnswer> {
  const response = await fetch(`${url}/api/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path, args }),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as CallAnswer["body"] };
  } catch {
    throw new Error(`${kind} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
}

/** Stops a CLI process if it still runs: SIGTERM, then SIGKILL after `graceMs`. Resolves with its exit code or signal. */
export async function stopProcess(cli: CliProcess, graceMs = 15_000): Promise<number | string | null> {
  const { child } = cli;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
  const exit = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const [code, signal] = await exit;
  clearTimeout(timer);
  return code ?? signal;
}
