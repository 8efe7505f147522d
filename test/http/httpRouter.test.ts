// httpRouter(): route validation, matching order, and reading convoy/http.ts's export.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findHttpFile, readHttpRouter } from "../../generator/build/httpRoutesFile.js";
import { httpAction, httpRouter } from "../../runtime/index.js";

const ok = httpAction(() => new Response("ok"));
const other = httpAction(() => new Response("other"));

describe("httpRouter", () => {
  it("matches an exact path before a prefix, and the longest prefix first", () => {
    const http = httpRouter();
    http.route({ pathPrefix: "/files/", method: "GET", handler: other });
    http.route({ pathPrefix: "/files/private/", method: "GET", handler: ok });
    http.route({ path: "/files/index", method: "GET", handler: ok });
    expect(http.lookup("GET", "/files/a.txt")).toEqual({ handler: other });
    expect(http.lookup("GET", "/files/private/a.txt")).toEqual({ handler: ok });
    expect(http.lookup("GET", "/files/index")).toEqual({ handler: ok });
    expect(http.lookup("GET", "/file")).toBeNull();
    expect(http.lookup("POST", "/files/a")).toEqual({ handler: null, allowed: ["GET"] });
    expect(http.describe()).toEqual(["GET /files/index", "GET /files/*", "GET /files/private/*"]);
  });

  it("refuses bad routes with messages that say what to write", () => {
    const http = httpRouter();
    expect(() => http.route({ path: "webhook", method: "POST", handler: ok })).toThrow('must start with "/"');
    expect(() => http.route({ pathPrefix: "/files", method: "GET", handler: ok })).toThrow('must end with "/"');
    expect(() => http.route({ path: "/a", method: "TRACE" as never, handler: ok })).toThrow("is not one of GET");
    expect(() => http.route({ path: "/a", method: "GET", handler: (() => new Response()) as never })).toThrow(
      "handler must be made by httpAction",
    );
    expect(() => http.route({ method: "GET", handler: ok } as never)).toThrow("exactly one of path");
    http.route({ path: "/a", method: "GET", handler: ok });
    expect(() => http.route({ path: "/a", method: "GET", handler: other })).toThrow("GET /a is defined twice");
    expect(() => httpAction("nope" as never)).toThrow("pass a function");
  });
});

describe("convoy/http.ts", () => {
  it("must export a router by default, from one file", () => {
    expect(readHttpRouter(undefined)).toBeUndefined();
    const router = httpRouter();
    expect(readHttpRouter({ default: router })).toBe(router);
    expect(() => readHttpRouter({ http: router })).toThrow("must export its router by default");
    const dir = mkdtempSync(join(tmpdir(), "convoy-http-file-"));
    try {
      expect(findHttpFile(dir)).toBeNull();
      writeFileSync(join(dir, "http.ts"), "");
      expect(findHttpFile(dir)).toBe(join(dir, "http.ts"));
      writeFileSync(join(dir, "http.js"), "");
      expect(() => findHttpFile(dir)).toThrow("keep one HTTP routes file");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
