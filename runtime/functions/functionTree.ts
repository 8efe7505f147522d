import { ConvoyError } from "../errors.js";
import { isConvoyFunction, type AnyConvoyFunction } from "./defineFunction.js";
import type { FunctionTree } from "./functionReference.js";

/** Every function of a tree by its dotted path, e.g. `projects.listProjects`. @internal */
export function flattenFunctions(tree: FunctionTree, prefix: readonly string[] = []): Map<string, AnyConvoyFunction> {
  const out = new Map<string, AnyConvoyFunction>();
  for (const [name, value] of Object.entries(tree)) {
    const path = [...prefix, name];
    if (isConvoyFunction(value)) {
      out.set(path.join("."), value);
    } else if (typeof value === "object" && value !== null) {
      for (const [childPath, fn] of flattenFunctions(value, path)) out.set(childPath, fn);
    } else {
      throw new ConvoyError({
        code: "INTERNAL_SERVER_ERROR",
        message: `${path.join(".")} is not a Convoy function or module; regenerate convoy/_generated`,
      });
    }
  }
  return out;
}
