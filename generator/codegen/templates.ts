import { GENERATED_HEADER, importPathOf, moduleIdentifier } from "./header.js";
import { printTree, treeOf, type FunctionInfo } from "./functionTree.js";

/** `_generated/server.ts`: the function builders typed for the app's schema. */
export function serverTemplate(): string {
  return `${GENERATED_HEADER}
import { functionBuilders, type DataModelFromSchema, type SchemaDefinition } from "convoy";
import type * as schemaModule from "../schema.js";

/** The app's schema: the \`schema\` export of convoy/schema.ts (or its default export). */
export type Schema = typeof schemaModule extends { schema: infer TSchema extends SchemaDefinition }
  ? TSchema
  : typeof schemaModule extends { default: infer TSchema extends SchemaDefinition }
    ? TSchema
    : never;
export type DataModel = DataModelFromSchema<Schema>;

export const { query, mutation, internalQuery, internalMutation } = functionBuilders<Schema>();

declare module "convoy" {
  interface Register {
    schema: Schema;
  }
}

export type { Doc, Id } from "convoy";
`;
}

/** `_generated/functions.ts`: every function, nested by module; server side only. */
export function functionsTemplate(functions: readonly FunctionInfo[]): string {
  const modules = [...new Set(functions.map((fn) => fn.modulePath))].sort();
  const imports = modules.map((path) => `import * as ${moduleIdentifier(path)} from "${importPathOf(path)}";`);
  const tree = treeOf(functions, (fn) => `${moduleIdentifier(fn.modulePath)}.${fn.exportName}`);
  return `${GENERATED_HEADER}
${imports.join("\n")}${imports.length ? "\n" : ""}
/** Every function of the app, nested as \`api\` is. Import it on the server only. */
export const functions = ${printTree(tree)};
`;
}

/** `_generated/api.ts`: typed references; imports no server code, so browsers can use it. */
export function apiTemplate(functions: readonly FunctionInfo[]): string {
  const kinds = (visibility: FunctionInfo["visibility"]) =>
    printTree(
      treeOf(
        functions.filter((fn) => fn.visibility === visibility),
        (fn) => JSON.stringify(fn.kind),
      ),
    );
  return `${GENERATED_HEADER}
import { functionReferences, type ApiFromFunctions } from "convoy";
import type { functions } from "./functions.js";

type Functions = typeof functions;

/** References to the public functions, e.g. \`api.projects.listProjects\`. */
export const api = functionReferences<ApiFromFunctions<Functions>>(${kinds("public")});

/** References to the internal functions, callable from the server only. */
export const internal = functionReferences<ApiFromFunctions<Functions, "internal">>(${kinds("internal")});
`;
}

/** `_generated/router.ts`: the tRPC router of the public functions. */
export function routerTemplate(): string {
  return `${GENERATED_HEADER}
import { convoyTRPC, createConvoyRouter } from "convoy/server";
import { functions } from "./functions.js";

/**
 * The app's functions as a tRPC router: queries are tRPC queries, mutations tRPC
 * mutations, and \`live.<module>.<query>\` a subscription to each query's live result.
 * \`convoy serve\` serves it at /trpc. To merge it into your own tRPC app,
 * call \`createConvoyRouter(t, functions, { runtime, auth })\` with your \`t\`.
 */
export const convoyRouter = createConvoyRouter(convoyTRPC, functions);
export type AppRouter = typeof convoyRouter;
export { functions };
`;
}

/** `_generated/http.ts`: the HTTP client bindings for this app. */
export function httpTemplate(): string {
  return `${GENERATED_HEADER}
import { createConvoyClient, type ConvoyClient, type ConvoyClientOptions } from "convoy/client";

export { api, internal } from "./api.js";

/** A client of this app's HTTP endpoints (\`/api/query\`, \`/api/mutation\`). */
export function createClient(options?: ConvoyClientOptions): ConvoyClient {
  return createConvoyClient(options);
}
`;
}

/** `_generated/drizzle.ts`: drizzle-orm definitions of the Convoy tables, typed from the schema. */
export function drizzleTemplate(tables: readonly string[], schemaName: string): string {
  const definitions = [...tables].sort().map(
    (table) => `export const ${table} = convoySchema.table("${table}", {
  _id: text("_id").primaryKey().$type<Id<"${table}">>(),
  _creationTime: doublePrecision("_creation_time").notNull(),
  doc: jsonb("doc").$type<Fields<"${table}">>().notNull(),
});`,
  );
  return `${GENERATED_HEADER}
import { doublePrecision, jsonb, pgSchema, text } from "drizzle-orm/pg-core";
import type { Id } from "convoy";
import type { DataModel } from "./server.js";

/** A table's user fields, as stored in its \`doc\` JSONB column. */
type Fields<TTable extends keyof DataModel> = Omit<DataModel[TTable]["document"], "_id" | "_creationTime">;

/** The Postgres schema holding Convoy's tables. */
export const convoySchema = pgSchema("${schemaName}");

${definitions.join("\n\n")}
`;
}
