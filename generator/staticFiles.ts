import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import express, { type Express } from "express";
import { ConvoyError } from "../runtime/errors.js";

/**
 * Checks a `--static` folder before anything starts: it must be a folder holding an
 * `index.html` (a built web app, e.g. Vite's `dist/`). Returns its absolute path.
 */
export function resolveStaticDir(dir: string, cwd: string = process.cwd()): string {
  const absolute = resolve(cwd, dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new ConvoyError({
      code: "NOT_FOUND",
      message: `--static ${dir}: no such folder (${absolute}). Build your web app first (e.g. "vite build"), or fix the path`,
    });
  }
  if (!existsSync(join(absolute, "index.html"))) {
    throw new ConvoyError({
      code: "NOT_FOUND",
      message: `--static ${dir}: ${join(absolute, "index.html")} is missing. Point --static at a built web app's folder`,
    });
  }
  return absolute;
}

const API_PATH = /^\/(api|trpc)(\/|$)/;

/**
 * Serves a built single-page app from `dir` after Convoy's own routes: its files, and
 * `index.html` for any other GET or HEAD outside `/api` and `/trpc` whose last path
 * segment has no extension (client-side routes). Missing files stay 404s.
 */
export function serveStaticFiles(app: Express, dir: string): void {
  app.use(express.static(dir, { index: "index.html", setHeaders: noCacheForHtml }));
  app.use((request, response, next) => {
    if (request.method !== "GET" && request.method !== "HEAD") return next();
    if (API_PATH.test(request.path) || /\.[^/]*$/.test(request.path)) return next();
    response.sendFile("index.html", { root: dir, headers: { "Cache-Control": "no-cache" } }, (error) => {
      if (error && !response.headersSent) response.status(404).type("text").send("Not found");
    });
  });
}

/** The page must be revalidated so a new build's hashed assets are picked up. */
function noCacheForHtml(response: express.Response, path: string): void {
  if (path.endsWith(".html")) response.setHeader("Cache-Control", "no-cache");
}
