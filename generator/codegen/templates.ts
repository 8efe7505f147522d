import type { SchemaDefinition } from "../../runtime/schema/defineSchema.js";
import type { TableDefinition } from "../../runtime/schema/defineTable.js";
import { hasForeignKey, relationalColumns, type ColumnSpec } from "../../runtime/schema/relationalColumns.js";
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

export const { query, mutation, action, internalQuery, internalMutation, internalAction } =
  functionBuilders<Schema>();

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

/**
 * `_generated/api.js`: the references, as plain JavaScript so a Node script can import
 * them too; imports no server code, so browsers can use it. Typed by {@link apiTypesTemplate}.
 */
export function apiTemplate(functions: readonly FunctionInfo[]): string {
  const kinds = (visibility: FunctionInfo["visibility"]) =>
    printTree(
      treeOf(
        functions.filter((fn) => fn.visibility === visibility),
        (fn) => JSON.stringify(fn.kind),
      ),
    );
  return `${GENERATED_HEADER}
import { functionReferences } from "convoy";

/** References to the public functions, e.g. \`api.projects.listProjects\`. */
export const api = functionReferences(${kinds("public")});

/** References to the internal functions, callable from the server only. */
export const internal = functionReferences(${kinds("internal")});
`;
}

/** `_generated/api.d.ts`: the types of `api.js`, taken from the functions. */
export function apiTypesTemplate(): string {
  return `${GENERATED_HEADER}
import type { ApiFromFunctions } from "convoy";
import type { functions } from "./functions.js";

type Functions = typeof functions;

/** References to the public functions, e.g. \`api.projects.listProjects\`. */
export declare const api: ApiFromFunctions<Functions>;

/** References to the internal functions, callable from the server only. */
export declare const internal: ApiFromFunctions<Functions, "internal">;
`;
}

/** `_generated/router.ts`: the tRPC router of the public functions. */
export function routerTemplate(): string {
  return `${GENERATED_HEADER}
import { convoyTRPC, createConvoyRouter } from "convoy/server";
import { functions } from "./functions.js";

/**
 * The app's functions as a tRPC router: queries are tRPC queries, mutations and
 * actions tRPC mutations, and \`live.<module>.<query>\` a subscription to each query's live result.
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

/** The drizzle-orm builder of a relational column's type. */
const DRIZZLE_COLUMN: Record<ColumnSpec["type"], string> = {
  text: "text",
  "double precision": "doublePrecision",
  boolean: "boolean",
  jsonb: "jsonb",
};

/** One table's drizzle definition: `doc` for a JSONB table, one typed column per field for a relational one. */
function drizzleTable(table: string, definition: TableDefinition): string {
  const system = [
    `  _id: text("_id").primaryKey().$type<Id<"${table}">>(),`,
    `  _creationTime: doublePrecision("_creation_time").notNull(),`,
  ];
  const fields =
    definition.layout === "relational"
      ? relationalColumns(table, definition.validator.shape, definition.relationalOptions).map((spec) => {
          const field = JSON.stringify(spec.field);
          const key = /^[A-Za-z_$][\w$]*$/.test(spec.field) ? spec.field : field;
          // Plain text, numbers and booleans type themselves; ids, enums and JSON take the field's type.
          const type =
            spec.references !== undefined
              ? `.$type<Id<"${spec.references}">>()`
              : spec.type === "jsonb" || spec.allowed !== undefined
                ? `.$type<NonNullable<Fields<"${table}">[${field}]>>()`
                : "";
          const notNull = spec.nullMeans === "never" ? ".notNull()" : "";
          // Typed as AnyPgColumn so tables that reference each other (or themselves) type-check.
          const references = hasForeignKey(spec) ? `.references((): AnyPgColumn => ${spec.references}._id)` : "";
          return `  ${key}: ${DRIZZLE_COLUMN[spec.type]}("${spec.column}")${type}${notNull}${references},`;
        })
      : [`  doc: jsonb("doc").$type<Fields<"${table}">>().notNull(),`];
  return `export const ${table} = convoySchema.table("${table}", {
${[...system, ...fields].join("\n")}
});`;
}

/**
 * `_generated/drizzle.ts`: drizzle-orm definitions of the Convoy tables, typed from the
 * schema, in the layout each table declares: `doc` for JSONB tables, typed columns for
 * relational ones (those exist once `convoy migrate` has moved the table).
 */
export function drizzleTemplate(schema: SchemaDefinition, schemaName: string): string {
  const tables = Object.keys(schema.tables).sort();
  const definitions = tables.map((table) => drizzleTable(table, schema.tables[table]!));
  // Import what the definitions use, and nothing else.
  const body = definitions.join("\n\n");
  const builders = ["boolean", "doublePrecision", "jsonb", "pgSchema", "text"].filter(
    (name) => name === "pgSchema" || new RegExp(`\\b${name}\\(`).test(body),
  );
  if (body.includes("AnyPgColumn")) builders.push("type AnyPgColumn");
  return `${GENERATED_HEADER}
import { ${builders.join(", ")} } from "drizzle-orm/pg-core";
import type { Id } from "convoy";
import type { DataModel } from "./server.js";

/** A table's user fields, as the documents hold them. */
type Fields<TTable extends keyof DataModel> = Omit<DataModel[TTable]["document"], "_id" | "_creationTime">;

/** The Postgres schema holding Convoy's tables. */
export const convoySchema = pgSchema("${schemaName}");

${body}
`;
}
