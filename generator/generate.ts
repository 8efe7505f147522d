import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DEFAULT_SCHEMA_NAME } from "../runtime/store/documentStore.js";
import { bundleAndLoad, bundleAndLoadHttp } from "./build/bundle.js";
import { discoverModules } from "./build/discoverModules.js";
import { readHttpRouter } from "./build/httpRoutesFile.js";
import { readApp, type LoadedApp } from "./build/readApp.js";
import {
  apiBootstrapTemplate,
  apiTemplate,
  drizzleTemplate,
  functionsTemplate,
  httpTemplate,
  routerTemplate,
  serverTemplate,
} from "./codegen/templates.js";
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
}

function writeIfChanged(path: string, content: string, changed: string[]): void {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return;
  writeFileSync(path, content);
  changed.push(path);
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
 * Bundles the app's schema and functions, loads them, and (unless `write: false`)
 * writes `_generated/`: `server.ts` first (function modules import it), then
 * `functions.ts`, `api.ts`, `router.ts`, `http.ts` and, when the project has
 * drizzle-orm, `drizzle.ts`; then loads `convoy/http.ts` if there is one. Files are
 * rewritten only when their content changes.
 */
export async function buildApp(project: ConvoyProject, options: BuildOptions = {}): Promise<BuiltApp> {
  const write = options.write ?? true;
  const changedFiles: string[] = [];
  const out = project.generatedDir;
  if (write) {
    mkdirSync(out, { recursive: true });
    writeIfChanged(join(out, "server.ts"), serverTemplate(), changedFiles);
    // Modules may import `api` / `internal`: give them one until the typed file is written.
    if (!existsSync(join(out, "api.ts"))) writeFileSync(join(out, "api.ts"), apiBootstrapTemplate());
  }
  const modules = discoverModules(project.dir);
  const app = readApp(await bundleAndLoad(project, modules), modules);
  if (write) {
    writeIfChanged(join(out, "functions.ts"), functionsTemplate(app.infos), changedFiles);
    writeIfChanged(join(out, "api.ts"), apiTemplate(app.infos), changedFiles);
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
  // convoy/http.ts imports _generated/api, so it loads once that is written.
  const http = readHttpRouter(await bundleAndLoadHttp(project));
  return { ...app, ...(http ? { http } : {}), changedFiles };
}
