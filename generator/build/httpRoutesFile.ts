import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConvoyError } from "../../runtime/errors.js";
import { isHttpRouter, type HttpRouter } from "../../runtime/http/httpRouter.js";

const HTTP_FILES = ["http.ts", "http.mts", "http.js", "http.mjs"];

/** The app's HTTP routes file in the functions folder (`convoy/http.ts`), or null when there is none. */
export function findHttpFile(dir: string): string | null {
  const found = HTTP_FILES.map((name) => join(dir, name)).filter((file) => existsSync(file));
  if (found.length > 1) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Both ${found.map((file) => file.slice(dir.length + 1)).join(" and ")} are in ${dir}: keep one HTTP routes file`,
    });
  }
  return found[0] ?? null;
}

/** The router a bundled `convoy/http.ts` exports by default; undefined when the app has no such file. */
export function readHttpRouter(httpModule: Record<string, unknown> | undefined): HttpRouter | undefined {
  if (httpModule === undefined) return undefined;
  const router = httpModule.default;
  if (!isHttpRouter(router)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message:
        "convoy/http.ts must export its router by default: const http = httpRouter(); http.route({ ... }); export default http. See docs/http.md",
    });
  }
  return router;
}
