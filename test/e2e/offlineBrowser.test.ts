// Offline-ready in real Chromium (issue 14): a page with TanStack's persister and
// convoy/client's outbox goes offline, is reloaded (from its service worker), shows the
// last results with its pending mutations on top (each once), takes new mutations
// optimistically, and once online converges to the server's state, each mutation
// applied once and in call order, a refused one rolled back and reported.
import { once } from "node:events";
import type { Server } from "node:http";
import express from "express";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";
import { repoRoot } from "../support/cliProject.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { bundleReactPage } from "../support/reactPageBundle.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const skip = skipWithoutChromium("offline", "The browser offline test");

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

const HTML = `<!doctype html><meta charset="utf-8"><title>offline</title><div id="root"></div><script src="/app.js"></script>`;
/** Serves the page and its script from a cache, so that they load offline; everything else goes to the network. */
const SERVICE_WORKER = `
self.addEventListener("install", (event) => {
  event.waitUntil(caches.open("page").then((cache) => cache.addAll(["/page", "/app.js"])).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  const { pathname } = new URL(event.request.url);
  if (pathname === "/page" || pathname === "/app.js") event.respondWith(caches.match(pathname));
});`;

describe.skipIf(skip)("offline-ready in Chromium: persister, outbox and optimistic updates", () => {
  let started: TestServer<typeof liveTestFunctions>;
  let server: Server;
  let browser: Browser;
  let url: string;
  let writer: ConvoyClient;

  beforeAll(async () => {
    started = await startTestServer(pgliteFactory, liveTestFunctions, { listen: false });
    const script = await bundleReactPage(`${repoRoot}/test/e2e/offlinePages/app.tsx`);
    const app = express();
    app.get("/page", (_request, response) => void response.type("html").send(HTML));
    app.get("/app.js", (_request, response) => void response.type("js").send(script));
    app.get("/sw.js", (_request, response) => void response.type("js").send(SERVICE_WORKER));
    app.use(started.convoy.handler);
    server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    writer = createConvoyClient({ url });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    writer?.close();
    await browser?.close();
    await started?.convoy.close({ timeoutMs: 1000 });
    server?.closeAllConnections();
    server?.close();
    await started?.database.dispose();
  });

  const shown = (page: Page) => page.getByTestId("names").textContent();
  const status = (page: Page) => page.getByTestId("status").textContent();
  /** The names TanStack's persister last saved for the user's list, or null. */
  const persistedNames = (page: Page) =>
    page.evaluate(() => {
      const text = localStorage.getItem("REACT_QUERY_OFFLINE_CACHE");
      const queries = text
        ? (JSON.parse(text) as { clientState: { queries: { queryKey: unknown[]; state: { data: unknown } }[] } })
            .clientState.queries
        : [];
      const list = queries.find((query) => JSON.stringify(query.queryKey[0]) === '["projects","byUser"]');
      return list ? (list.state.data as string[]).join(",") : null;
    });
  const outbox = async (page: Page) =>
    JSON.parse((await page.evaluate(() => localStorage.getItem("convoy:outbox"))) ?? "[]") as { path: string }[];
  const call = (page: Page, fn: "add" | "addAt", name: string) =>
    page.evaluate(({ fn, name }) => (window as unknown as Record<string, (name: string) => void>)[fn]!(name), {
      fn,
      name,
    });

  it("reloaded offline: cached results with pending mutations on top; online: the server's state, each mutation once, in order", async () => {
    const userId = await writer.mutation(api.users.add, { name: "Ada" });
    await writer.mutation(api.projects.add, { userId, name: "a" });
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${url}/page?user=${userId}`);
    await expect.poll(() => shown(page), { timeout: 20_000 }).toBe("a");
    await page.evaluate(() => navigator.serviceWorker.ready);
    await expect.poll(() => persistedNames(page), { timeout: 10_000 }).toBe("a");

    // Offline: two mutations show at once; the second will be refused (an empty name).
    await context.setOffline(true);
    await call(page, "add", "b");
    await call(page, "addAt", "");
    await expect.poll(() => shown(page)).toBe("a,b,(empty)");
    // The persister saves what the page shows (optimistic values included)...
    await expect.poll(() => persistedNames(page), { timeout: 10_000 }).toBe("a,b,");
    expect((await outbox(page)).map((entry) => entry.path)).toEqual(["projects.add", "projects.addAt"]);

    // ...but a reload offline shows each pending mutation once, over the server's last result.
    await page.reload();
    await expect.poll(() => shown(page), { timeout: 10_000 }).toBe("a,b,(empty)");
    expect(await status(page)).toMatch(/^success /);
    await call(page, "add", "c");
    await expect.poll(() => shown(page)).toBe("a,b,(empty),c");
    // Still offline a while later: no error, no spinner, nothing reached the server.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await shown(page)).toBe("a,b,(empty),c");
    expect(await status(page)).toMatch(/^success /);
    expect(await writer.query(api.projects.byUser, { userId })).toEqual(["a"]);

    // Online: the stream and the outbox reconnect by themselves; the page converges.
    await context.setOffline(false);
    await expect.poll(() => shown(page), { timeout: 30_000 }).toBe("a,b,c");
    expect(await writer.query(api.projects.byUser, { userId })).toEqual(["a", "b", "c"]);
    await expect.poll(() => outbox(page), { timeout: 10_000 }).toEqual([]);
    const errors = await page.evaluate(
      () => (window as unknown as { outboxErrors: { entry: { path: string }; code: string }[] }).outboxErrors,
    );
    expect(errors.map(({ entry, code }) => [entry.path, code])).toEqual([["projects.addAt", "BAD_REQUEST"]]);
    // Nothing optimistic is left to persist: the saved list is the server's.
    await expect.poll(() => persistedNames(page), { timeout: 10_000 }).toBe("a,b,c");

    // A reload online shows the same and sends nothing again.
    await page.reload();
    await expect.poll(() => shown(page), { timeout: 10_000 }).toBe("a,b,c");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await writer.query(api.projects.byUser, { userId })).toEqual(["a", "b", "c"]);
    await context.close();
  }, 120_000);
});
