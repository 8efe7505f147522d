import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DEFAULT_SCHEMA_NAME } from "../runtime/store/documentStore.js";
import { bundleAndLoad, bundleAndLoadHttp } from "./build/bundle.js";
import { discoverModules } from "./build/discoverModules.js";
import { API_PLACEHOLDER } from "./build/generatedModules.js";
import { readHttpRouter } from "./build/httpRoutesFile.js";
import { readApp, type LoadedApp } from "./build/readApp.js";
import {
  apiTemplate,
  apiTypesTemplate,
  drizzleTemplate,
  functionsTemplate,
  httpTemplate,
  routerTemplate,
  serverTemplate,
} from "./codegen/templates.js";
import { GENERATED_HEADER } from "./codegen/header.js";
import type { ConvoyProject } from "./project.js";

/** Options of {@link buildApp}. */
export interface BuildOptions {
  /** Write `_generated/` (generate, dev) or only load the functions (serve). @default true */
  write?: boolean;
  schemaName?: string;
}

/** A loaded app and the generated files that changed. */
export interface BuiltApp extends LoadedApp {
  changedFiles: string[];
  /** Files an older Convoy generated that this one no longer does (`api.ts`, now `api.js` + `api.d.ts`). */
  removedFiles: string[];
}

function writeIfChanged(path: string, content: string, changed: string[]): void {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return;
  writeFileSync(path, content);
  changed.push(path);
}

/** Removes a file an older Convoy generated (its header says so); a user's own file stays. */
function removeGenerated(path: string, removed: string[]): void {
  if (!existsSync(path) || !readFileSync(path, "utf8").startsWith(GENERATED_HEADER)) return;
  rmSync(path);
  removed.push(path);
}

function hasPackage(project: ConvoyProject, name: string): boolean {
  const require = createRequire(join(project.root, "package.json"));
  for (const specifier of [name, `${name}/package.json`]) {
    try {
      require.resolve(specifier);
      return true;
    } catch {
      // Not resolvable this way; try the next.
    }
  }
  return false;
}

/**
 * `_generated/package.json`, written when the project's own `package.json` does not say
 * `"type": "module"` (npm init writes `"commonjs"`): `api.js` is an ES module either way.
 * Not written otherwise: a folder with a package.json of its own is a package scope of
 * its own, which ends a package's imports of itself (the repo's example imports "convoy").
 */
const GENERATED_PACKAGE_JSON = `${JSON.stringify({ type: "module" }, null, 2)}\n`;

/** The `type` of the package.json nearest above `dir` (Node's rule for a `.js` file's format). */
function packageTypeAbove(dir: string): unknown {
  for (let at = dirname(dir); ; at = dirname(at)) {
    const manifest = join(at, "package.json");
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: unknown }).type;
      } catch {
        return undefined;
      }
    }
    if (dirname(at) === at) return undefined;
  }
}

/** Writes `_generated/package.json` when `api.js` needs it to be an ES module, else removes ours. */
function writeModuleScope(out: string, changed: string[], removed: string[]): void {
  const path = join(out, "package.json");
  if (packageTypeAbove(out) !== "module") return writeIfChanged(path, GENERATED_PACKAGE_JSON, changed);
  if (existsSync(path) && readFileSync(path, "utf8") === GENERATED_PACKAGE_JSON) {
    rmSync(path);
    removed.push(path);
  }
}

/**
 * Bundles the app's schema and functions and loads them; `_generated/server` and
 * `_generated/api` come from memory, so a fresh clone (or `convoy serve` before
 * `convoy generate`) builds. A first bundle finds the functions; when a module imports
 * `api`, a second one gives it the real references. Unless `write: false`, writes
 * `_generated/`: `server.ts`, `functions.ts`, `api.js` + `api.d.ts` (and a `package.json` saying
 * `"type": "module"` when the project's does not), `router.ts`, `http.ts` and, when
 * the project has drizzle-orm, `drizzle.ts`; then loads `convoy/http.ts` if there is one
 * (with the real `api`, from memory too). Files are rewritten only when their content changes.
 */
export async function buildApp(project: ConvoyProject, options: BuildOptions = {}): Promise<BuiltApp> {
  const write = options.write ?? true;
  const changedFiles: string[] = [];
  const removedFiles: string[] = [];
  const out = project.generatedDir;
  const modules = discoverModules(project.dir);
  const server = serverTemplate();
  const first = await bundleAndLoad(project, modules, { server, api: API_PLACEHOLDER });
  let app = readApp(first, modules);
  if (first.generatedImports.has("api")) {
    app = readApp(await bundleAndLoad(project, modules, { server, api: apiTemplate(app.infos) }), modules);
  }
  if (write) {
    mkdirSync(out, { recursive: true });
    writeIfChanged(join(out, "server.ts"), server, changedFiles);
    writeIfChanged(join(out, "functions.ts"), functionsTemplate(app.infos), changedFiles);
    writeModuleScope(out, changedFiles, removedFiles);
    writeIfChanged(join(out, "api.js"), apiTemplate(app.infos), changedFiles);
    writeIfChanged(join(out, "api.d.ts"), apiTypesTemplate(), changedFiles);
    removeGenerated(join(out, "api.ts"), removedFiles);
    writeIfChanged(join(out, "router.ts"), routerTemplate(), changedFiles);
    writeIfChanged(join(out, "http.ts"), httpTemplate(), changedFiles);
    if (hasPackage(project, "drizzle-orm")) {
      writeIfChanged(
        join(out, "drizzle.ts"),
        drizzleTemplate(app.schema, options.schemaName ?? DEFAULT_SCHEMA_NAME),
        changedFiles,
      );
    }
  }
  // convoy/http.ts imports _generated/api: it loads once the functions are known.
  const http = readHttpRouter(await bundleAndLoadHttp(project, { server, api: apiTemplate(app.infos) }));
  return { ...app, ...(http ? { http } : {}), changedFiles, removedFiles };
}
