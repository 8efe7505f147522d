import { openDatabase } from "../../runtime/drivers/openDatabase.js";
import type { Driver } from "../../runtime/drivers/driver.js";
import { ConvoyError, isConvoyError } from "../../runtime/errors.js";
import { typecheck } from "../build/typecheck.js";
import { buildApp, type BuiltApp } from "../generate.js";
import { findProject, loadDotEnv, shownPath, type ConvoyProject } from "../project.js";
import { startServer, type RunningServer } from "../serve.js";
import { resolveStaticDir } from "../staticFiles.js";
import { syncSchema } from "../sync/syncSchema.js";
import { describePendingLayouts } from "./migrateCommand.js";
import { checkMaxStreamsPerClient, type ServeOptions } from "./options.js";
import { exitOnSignals, shutdownTimeoutMs } from "./shutdown.js";
import { watchSources } from "./watchSources.js";

/** Where the CLI prints. */
export interface Output {
  log: (message: string) => void;
  error: (message: string) => void;
}

async function open(project: ConvoyProject, options: ServeOptions, out: Output): Promise<Driver> {
  const driver = await openDatabase({
    databaseUrl: options.databaseUrl,
    listenUrl: options.listenUrl ?? process.env.CONVOY_LISTEN_URL,
    dataDir: options.dataDir ?? project.stateDir,
    onProgress: (message) => out.log(message),
  });
  out.log(`Database: ${driver.description}`);
  return driver;
}

/** Builds, type-checks and syncs; throws a ConvoyError that says what to fix. */
async function buildAndSync(
  project: ConvoyProject,
  driver: Driver,
  options: ServeOptions,
  out: Output,
  write: boolean,
): Promise<BuiltApp> {
  const built = await buildApp(project, { write, ...(options.schemaName ? { schemaName: options.schemaName } : {}) });
  for (const file of built.changedFiles) out.log(`Wrote ${shownPath(project, file)}`);
  for (const file of built.removedFiles) out.log(`Removed ${shownPath(project, file)} (no longer generated)`);
  if (write && options.typecheck) {
    const errors = await typecheck(project);
    if (errors && errors.length > 0) {
      throw new ConvoyError({ code: "BAD_REQUEST", message: `Type errors:\n${errors.join("\n")}`, data: { errors } });
    }
  }
  const report = await syncSchema(driver, built.schema, {
    ...(options.schemaName ? { schemaName: options.schemaName } : {}),
    onProgress: (message) => out.log(message),
  });
  if (report.orphanedTables.length > 0) {
    out.log(`Tables no longer in the schema (data kept): ${report.orphanedTables.join(", ")}`);
  }
  for (const line of describePendingLayouts(report)) out.log(line);
  return built;
}

function describeFunctions(built: BuiltApp): string {
  const publicCount = built.infos.filter((info) => info.visibility === "public").length;
  return `${built.infos.length} function(s), ${publicCount} public, ${Object.keys(built.schema.tables).length} table(s)`;
}

/** `convoy generate`. */
export async function generateCommand(options: ServeOptions, out: Output): Promise<void> {
  const project = findProject(process.cwd(), options.dir);
  const driver = await open(project, options, out);
  try {
    const built = await buildAndSync(project, driver, options, out, true);
    out.log(`Generated ${shownPath(project, project.generatedDir)}: ${describeFunctions(built)}`);
  } finally {
    await driver.close();
  }
}

/** `convoy serve`. */
export async function serveCommand(options: ServeOptions, out: Output): Promise<void> {
  const project = findProject(process.cwd(), options.dir);
  const timeoutMs = shutdownTimeoutMs();
  const served = staticOf(options, out);
  const serving = servingOf(options);
  const driver = await open(project, options, out);
  let server: RunningServer;
  try {
    const built = await buildAndSync(project, driver, { ...options, typecheck: false }, out, false);
    server = await startServer({
      driver,
      app: built,
      port: options.port,
      host: options.host,
      dev: false,
      log: out.error,
      ...serving,
      ...served,
    });
    out.log(`Serving ${describeFunctions(built)}`);
  } catch (error) {
    await driver.close();
    throw error;
  }
  out.log(`Convoy listening on ${server.url} (tRPC at ${server.url}/trpc)`);
  exitOnSignals((drainMs) => server.close({ timeoutMs: drainMs }), out, timeoutMs);
}

/** The server's options from the command line and, for what it does not set, the environment (checked before the database opens). */
function servingOf(options: ServeOptions): {
  schemaName?: string;
  corsOrigins?: string[];
  trustProxy?: number | string;
  maxStreamsPerClient?: number;
} {
  const maxStreams =
    options.maxStreamsPerClient ??
    checkMaxStreamsPerClient(process.env.CONVOY_MAX_STREAMS_PER_CLIENT, "CONVOY_MAX_STREAMS_PER_CLIENT");
  return {
    ...(maxStreams !== undefined ? { maxStreamsPerClient: maxStreams } : {}),
    ...(options.schemaName ? { schemaName: options.schemaName } : {}),
    ...(options.corsOrigins.length > 0 ? { corsOrigins: options.corsOrigins } : {}),
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
  };
}

/** `--static`, checked before the database opens; prints what it serves. */
function staticOf(options: ServeOptions, out: Output): { staticDir?: string } {
  if (options.staticDir === undefined) return {};
  const staticDir = resolveStaticDir(options.staticDir);
  out.log(`Web app: ${staticDir}`);
  return { staticDir };
}

/** `convoy dev` (and `convoy-dev`). */
export async function devCommand(options: ServeOptions, out: Output): Promise<void> {
  const project = findProject(process.cwd(), options.dir);
  const timeoutMs = shutdownTimeoutMs();
  const served = options.once ? {} : staticOf(options, out);
  const serving = options.once ? {} : servingOf(options);
  const driver = await open(project, options, out);
  if (options.once) {
    try {
      const built = await buildAndSync(project, driver, options, out, true);
      out.log(`Generated ${shownPath(project, project.generatedDir)}: ${describeFunctions(built)}`);
    } finally {
      await driver.close();
    }
    return;
  }

  let server: RunningServer | undefined;
  let running: Promise<void> = Promise.resolve();
  let pending = false;

  const rebuild = async () => {
    try {
      const built = await buildAndSync(project, driver, options, out, true);
      if (server === undefined) {
        server = await startServer({
          driver,
          app: built,
          port: options.port,
          host: options.host,
          dev: true,
          log: out.error,
          ...serving,
          ...served,
        });
        out.log(`Convoy dev server on ${server.url} (tRPC at ${server.url}/trpc): ${describeFunctions(built)}`);
      } else {
        server.setApp(built.functions, built.schema, built.auth, built.http);
        out.log(`Reloaded: ${describeFunctions(built)}`);
      }
    } catch (error) {
      if (!isConvoyError(error)) throw error;
      if (error.code === "CONFLICT" && server === undefined) throw error;
      out.error(`${error.message}\n${server ? "Still serving the last good build. " : ""}Waiting for changes...`);
    }
  };

  const schedule = () => {
    if (pending) return;
    pending = true;
    running = running.then(async () => {
      await new Promise((resolve) => setTimeout(resolve, 80));
      pending = false;
      await rebuild();
    });
  };

  await rebuild();
  const stopWatching = await watchSources(project.dir, schedule);
  out.log(`Watching ${shownPath(project, project.dir)} for changes`);
  exitOnSignals(
    async (drainMs) => {
      await stopWatching();
      await running.catch(() => {});
      if (server) return server.close({ timeoutMs: drainMs });
      await driver.close();
      return undefined;
    },
    out,
    timeoutMs,
  );
}

/** Loads `.env` before anything reads the environment. */
export function prepareEnvironment(): void {
  loadDotEnv(process.cwd());
}
