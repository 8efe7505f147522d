import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConvoyError } from "../../runtime/errors.js";
import type { AuthHook } from "../../runtime/functions/auth.js";

const AUTH_FILES = ["auth.ts", "auth.mts", "auth.js", "auth.mjs"];

/** The auth hook's file in the functions folder (`convoy/auth.ts`), or null when there is none. */
export function findAuthFile(dir: string): string | null {
  const found = AUTH_FILES.map((name) => join(dir, name)).filter((file) => existsSync(file));
  if (found.length > 1) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Both ${found.map((file) => file.slice(dir.length + 1)).join(" and ")} are in ${dir}: keep one auth file`,
    });
  }
  return found[0] ?? null;
}

/**
 * The auth hook a bundled `convoy/auth.ts` exports by default, checked to be a function;
 * undefined when the app has no auth file.
 */
export function readAuthHook(authModule: Record<string, unknown> | undefined): AuthHook | undefined {
  if (authModule === undefined) return undefined;
  const hook = authModule.default;
  if (typeof hook !== "function") {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message:
        "convoy/auth.ts must export a function by default: export default defineAuth((request) => ({ subject: ... }) or null). See docs/auth.md",
    });
  }
  return hook as AuthHook;
}
