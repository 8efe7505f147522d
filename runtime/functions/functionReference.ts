import type { z } from "zod";
import type { AnyConvoyFunction, ConvoyFunction, FunctionKind, FunctionVisibility } from "./defineFunction.js";

declare const referenceTypes: unique symbol;

/**
 * A typed handle on a function, such as `api.projects.listProjects`: its path and
 * kind at run time, its argument and return types at compile time.
 */
export interface FunctionReference<
  TKind extends FunctionKind = FunctionKind,
  TArgs = any,
  TReturn = any,
  TVisibility extends FunctionVisibility = "public",
> {
  /** The module path and export name joined by dots, e.g. `"projects.listProjects"` (also its tRPC path). */
  readonly path: string;
  readonly kind: TKind;
  /** @internal Type carriers only; never set at run time. */
  readonly [referenceTypes]?: { args: TArgs; returns: TReturn; visibility: TVisibility };
}

/** Any public function reference. */
export type AnyFunctionReference = FunctionReference<FunctionKind, any, any, FunctionVisibility>;

/** The arguments a reference takes (what the client sends: zod input). */
export type FunctionArgs<TRef extends AnyFunctionReference> =
  TRef extends FunctionReference<any, infer TArgs, any, any> ? TArgs : never;

/** What calling a reference resolves to. */
export type FunctionReturnType<TRef extends AnyFunctionReference> =
  TRef extends FunctionReference<any, any, infer TReturn, any> ? TReturn : never;

/** The reference type of a function definition. */
export type ReferenceOf<TFunction> =
  TFunction extends ConvoyFunction<infer TKind, infer TVisibility, infer TArgs, infer TReturn>
    ? FunctionReference<TKind, z.input<z.ZodObject<TArgs>>, Awaited<TReturn>, TVisibility>
    : never;

/** A tree of functions: what the generated `convoy/_generated/functions.ts` exports. */
export interface FunctionTree {
  [name: string]: AnyConvoyFunction | FunctionTree;
}

/**
 * References to every function of `TVisibility` in a function tree, keeping the tree's
 * shape: `{ projects: { listProjects } }` becomes `api.projects.listProjects`.
 */
export type ApiFromFunctions<TTree, TVisibility extends FunctionVisibility = "public"> = {
  [
    K in keyof TTree as TTree[K] extends AnyConvoyFunction
      ? TTree[K] extends ConvoyFunction<any, TVisibility, any, any>
        ? K
        : never
      : keyof ApiFromFunctions<TTree[K], TVisibility> extends never
        ? never
        : K
  ]: TTree[K] extends AnyConvoyFunction ? ReferenceOf<TTree[K]> : ApiFromFunctions<TTree[K], TVisibility>;
};

/** The shape `functionReferences` takes: the function tree with each function's kind. */
export interface ReferenceTree {
  [name: string]: FunctionKind | ReferenceTree;
}

/**
 * Builds the `api` object from a tree of function kinds, typed from the functions.
 * Generated code calls it; it imports nothing server-side, so browsers can use it.
 *
 * @example
 * ```ts
 * export const api = functionReferences<ApiFromFunctions<typeof functions>>({ projects: { listProjects: "query" } });
 * ```
 */
export function functionReferences<TApi>(tree: ReferenceTree, prefix: readonly string[] = []): TApi {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(tree)) {
    const path = [...prefix, name];
    out[name] =
      typeof value === "string"
        ? Object.freeze({ path: path.join("."), kind: value })
        : functionReferences(value, path);
  }
  return Object.freeze(out) as TApi;
}
