import { ConvoyError } from "../../runtime/errors.js";
import { isConvoyFunction } from "../../runtime/functions/defineFunction.js";
import type { AuthHook } from "../../runtime/functions/auth.js";
import type { Crons } from "../../runtime/scheduler/cronJobs.js";
import { readCrons } from "./cronsFile.js";
import type { FunctionTree } from "../../runtime/functions/functionReference.js";
import type { HttpRouter } from "../../runtime/http/httpRouter.js";
import type { SchemaDefinition } from "../../runtime/schema/defineSchema.js";
import { TableDefinition } from "../../runtime/schema/defineTable.js";
import type { FunctionInfo } from "../codegen/functionTree.js";
import { readAuthHook } from "./authHook.js";
import type { LoadedBundle } from "./bundle.js";
import type { FunctionModule } from "./discoverModules.js";

/** The app as loaded: its schema, functions, auth hook and HTTP routes. */
export interface LoadedApp {
  schema: SchemaDefinition;
  functions: FunctionTree;
  infos: FunctionInfo[];
  /** The default export of `convoy/auth.ts`; absent when the app has none (every caller is anonymous). */
  auth?: AuthHook;
  /** The default export of `convoy/crons.ts`, when the app has cron jobs. */
  crons?: Crons;
  /** The default export of `convoy/http.ts`: routes served under `/http`; absent when the app has none. */
  http?: HttpRouter;
}

function isSchema(value: unknown): value is SchemaDefinition {
  const tables = (value as { tables?: unknown } | null)?.tables;
  return (
    typeof tables === "object" &&
    tables !== null &&
    Object.values(tables).every(
      (table) => table instanceof TableDefinition || (table as { validator?: unknown })?.validator,
    )
  );
}

/** Reads the schema, the functions and the auth hook out of a loaded bundle, with clear errors. */
export function readApp(bundle: LoadedBundle, modules: readonly FunctionModule[]): LoadedApp {
  const schema = bundle.schemaModule.schema ?? bundle.schemaModule.default;
  if (!isSchema(schema)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message:
        "convoy/schema.ts must export the schema: export const schema = defineSchema({ ... }) (or export default)",
    });
  }
  const functions: FunctionTree = {};
  const infos: FunctionInfo[] = [];
  modules.forEach((module, i) => {
    const exports = bundle.modules[i] ?? {};
    const found = Object.entries(exports).filter(([, value]) => isConvoyFunction(value));
    if (found.length === 0) return;
    let node = functions;
    for (const segment of module.modulePath.split("/")) node = (node[segment] ??= {}) as FunctionTree;
    for (const [exportName, fn] of found) {
      if (!isConvoyFunction(fn)) continue;
      if (exportName === "default") {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `functions/${module.modulePath}: export functions by name (export const list = query(...)), not as default`,
        });
      }
      node[exportName] = fn;
      infos.push({ modulePath: module.modulePath, exportName, kind: fn.kind, visibility: fn.visibility });
    }
  });
  const auth = readAuthHook(bundle.authModule);
  const crons = readCrons(bundle.cronsModule);
  return { schema, functions, infos, ...(auth ? { auth } : {}), ...(crons ? { crons } : {}) };
}
