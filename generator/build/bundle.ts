import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Message } from "esbuild";
import { ConvoyError } from "../../runtime/errors.js";
import type { ConvoyProject } from "../project.js";
import { findAuthFile } from "./authHook.js";
import { findCronsFile } from "./cronsFile.js";
import { findHttpFile } from "./httpRoutesFile.js";
import type { FunctionModule } from "./discoverModules.js";
import { generatedModulesPlugin, type GeneratedSources } from "./generatedModules.js";

/** What a bundle exports: the schema module, each function module by index, and the auth module if any. */
export interface LoadedBundle {
  schemaModule: Record<string, unknown>;
  modules: Record<string, unknown>[];
  /** `convoy/auth.ts`, when the app has one. */
  authModule?: Record<string, unknown>;
  /** `convoy/crons.ts`, when the app has one. */
  cronsModule?: Record<string, unknown>;
  /** The `_generated/` modules the app imported (served from `generated`). */
  generatedImports: Set<string>;
}

let buildNumber = 0;

function formatMessage(project: ConvoyProject, message: Message): string {
  const location = message.location;
  if (!location) return message.text;
  const file = relative(project.root, join(project.root, location.file));
  return `${file}:${location.line}:${location.column + 1}: ${message.text}\n    ${location.lineText}`;
}

/**
 * Bundles `schema.ts`, every function module and `auth.ts` (if present) with esbuild into one ES module under
 * `.convoy/build/`, packages left external (so the app's `convoy` and `zod` are the
 * ones used), and imports it. Syntax and resolution errors come back as one
 * `ConvoyError` listing `file:line:column: message` for each. Imports of the `_generated/`
 * modules named in `generated` are served from memory, so they need not exist on disk.
 */
export async function bundleAndLoad(
  project: ConvoyProject,
  modules: readonly FunctionModule[],
  generated: GeneratedSources = {},
): Promise<LoadedBundle> {
  const authFile = findAuthFile(project.dir);
  const cronsFile = findCronsFile(project.dir);
  const entry = [
    `export * as schemaModule from ${JSON.stringify(join(project.dir, "schema.ts"))};`,
    ...modules.map((module, i) => `export * as m${i} from ${JSON.stringify(module.file)};`),
    ...(authFile === null ? [] : [`export * as authModule from ${JSON.stringify(authFile)};`]),
    ...(cronsFile === null ? [] : [`export * as cronsModule from ${JSON.stringify(cronsFile)};`]),
  ].join("\n");
  const generatedImports = new Set<string>();
  const loaded = (await bundleEntry(project, entry, "functions", generated, generatedImports)) as Record<
    string,
    Record<string, unknown>
  >;
  return {
    schemaModule: loaded.schemaModule!,
    modules: modules.map((_, i) => loaded[`m${i}`]!),
    ...(loaded.authModule ? { authModule: loaded.authModule } : {}),
    ...(loaded.cronsModule ? { cronsModule: loaded.cronsModule } : {}),
    generatedImports,
  };
}

/**
 * Bundles and imports `convoy/http.ts` on its own, once the functions are known (it
 * imports `_generated/api`, given in `generated`); undefined when the app has no such file.
 */
export async function bundleAndLoadHttp(
  project: ConvoyProject,
  generated: GeneratedSources = {},
): Promise<Record<string, unknown> | undefined> {
  const httpFile = findHttpFile(project.dir);
  if (httpFile === null) return undefined;
  const entry = `export * as httpModule from ${JSON.stringify(httpFile)};`;
  const loaded = await bundleEntry(project, entry, "http", generated, new Set());
  return loaded.httpModule as Record<string, unknown>;
}

/** Bundles `entry` to `.convoy/build/<name>-<pid>-<n>.mjs` and imports it; `used` collects the `generated` modules it imported. */
async function bundleEntry(
  project: ConvoyProject,
  entry: string,
  name: string,
  generated: GeneratedSources,
  used: Set<string>,
): Promise<Record<string, unknown>> {
  const outDir = join(project.stateDir, "build");
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${name}-${process.pid}-${++buildNumber}.mjs`);
  try {
    await build({
      stdin: { contents: entry, resolveDir: project.root, loader: "ts", sourcefile: "convoy-entry.ts" },
      absWorkingDir: project.root,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      sourcemap: "inline",
      outfile,
      logLevel: "silent",
      plugins: [generatedModulesPlugin(project.generatedDir, generated, used)],
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors) throw error;
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Build failed:\n${errors.map((message) => formatMessage(project, message)).join("\n")}`,
      data: { errors: errors.map((message) => formatMessage(project, message)) },
    });
  }
  // Older builds of this process are no longer needed once a new one is written.
  for (const file of readdirSync(outDir)) {
    if (file.startsWith(`${name}-${process.pid}-`) && join(outDir, file) !== outfile) {
      rmSync(join(outDir, file), { force: true });
    }
  }
  try {
    return (await import(pathToFileURL(outfile).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Loading convoy/ failed: ${(error as Error).stack ?? String(error)}`,
      cause: error,
    });
  }
}
