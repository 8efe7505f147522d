import { defineConfig } from "vitest/config";

/** Tests that restart the machine's PostgreSQL: run alone, after the main suite. */
export default defineConfig({
  test: {
    include: ["test/restart/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
