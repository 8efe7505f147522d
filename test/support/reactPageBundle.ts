import { build } from "esbuild";

/**
 * Bundles a React page's entry point into one browser script (ESM, the automatic JSX
 * runtime, React's production build) and returns its text.
 */
export async function bundleReactPage(entryPoint: string, options: { minify?: boolean } = {}): Promise<string> {
  const bundle = await build({
    entryPoints: [entryPoint],
    bundle: true,
    minify: options.minify ?? false,
    platform: "browser",
    format: "esm",
    jsx: "automatic",
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    logLevel: "silent",
  });
  return bundle.outputFiles[0]!.text;
}
