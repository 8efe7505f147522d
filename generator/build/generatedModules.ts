import { basename, dirname, resolve } from "node:path";
import type { Plugin } from "esbuild";

/** Sources of `_generated/<name>` modules, by name (`server`, `api`), that the bundle takes from memory. */
export type GeneratedSources = Readonly<Record<string, string>>;

const NAMESPACE = "convoy-generated";

/**
 * An esbuild plugin that serves imports of `<generatedDir>/<name>` (with or without
 * `.js` / `.ts`) from `sources`, so function modules that import `../_generated/server`
 * or `../_generated/api` bundle before those files exist (a fresh clone, `convoy serve`
 * before `convoy generate`). `used` collects the names the bundle imported.
 */
export function generatedModulesPlugin(generatedDir: string, sources: GeneratedSources, used: Set<string>): Plugin {
  return {
    name: "convoy-generated-modules",
    setup(build) {
      build.onResolve({ filter: /_generated\/[^/]+$/ }, (args) => {
        const path = resolve(args.resolveDir, args.path);
        const name = basename(path).replace(/\.(js|ts|mjs|mts)$/, "");
        if (dirname(path) !== generatedDir || sources[name] === undefined) return undefined;
        return { path: resolve(generatedDir, name), namespace: NAMESPACE, pluginData: name };
      });
      // Packages stay external, as they are for the app's own files.
      build.onResolve({ filter: /^[^./]/, namespace: NAMESPACE }, (args) => ({ path: args.path, external: true }));
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const name = args.pluginData as string;
        used.add(name);
        return { contents: sources[name], loader: "ts", resolveDir: generatedDir };
      });
    },
  };
}

/**
 * What `_generated/api` is in the first bundle, before the functions are known: every
 * property path is a reference (`api.notes.list.path` is `"notes.list"`). The app is
 * bundled again with the real references when a module imported it.
 */
export const API_PLACEHOLDER = `const reference = (path) =>
  new Proxy({}, {
    get(_target, key) {
      if (typeof key !== "string") return undefined;
      if (key === "path") return path.join(".");
      if (key === "kind") return "query";
      return reference([...path, key]);
    },
  });
export const api = reference([]);
export const internal = reference([]);
`;
