import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/cliProject.js";

describe("browser bundle", () => {
  it("convoy, convoy/client and convoy/react bundle for the browser without any server-side module", async () => {
    const result = await build({
      stdin: {
        contents: [
          'export * from "./runtime/index.ts";',
          'export { createConvoyClient } from "./runtime/client.ts";',
          'export * from "./react/index.ts";',
        ].join("\n"),
        resolveDir: repoRoot,
        loader: "ts",
      },
      bundle: true,
      platform: "browser",
      // The app brings these (peer dependencies).
      external: ["react", "react/jsx-runtime", "@tanstack/react-query"],
      format: "esm",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes("runtime/client/convoyClient.ts"))).toBe(true);
    expect(inputs.some((input) => input.includes("react/useQuery.ts"))).toBe(true);
    for (const forbidden of [
      "node_modules/pg/",
      "@electric-sql/pglite",
      "node_modules/express/",
      "node_modules/esbuild/",
      "@trpc/server",
    ]) {
      expect(inputs.filter((input) => input.includes(forbidden))).toEqual([]);
    }
    expect(inputs.filter((input) => /runtime\/(store|drivers|server)\//.test(input))).toEqual([]);
  });
});
