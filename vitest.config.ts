import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/**/*.test.ts",
      "test/**/*.test.tsx",
      "runtime/**/*.test.ts",
      "generator/**/*.test.ts",
      // The example app's own tests, written with convoy/test (globalSetup generates its convoy/_generated).
      "examples/*/tests/**/*.test.ts",
    ],
    // Restarting PostgreSQL would break every other test: vitest.restart.config.ts runs it alone.
    exclude: ["test/restart/**", "**/node_modules/**"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite instances are large; two workers fit the machine's two cores.
    maxWorkers: 2,
    typecheck: { enabled: false },
  },
});
