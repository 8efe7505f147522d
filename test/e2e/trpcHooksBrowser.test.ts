// A host app with Convoy merged into its tRPC router, in real Chromium over HTTP/1.1: a
// page on tRPC's own React hooks (no subscription written) and a page on convoy/react,
// each with 10 live queries, updated from a third page. All of a page's watches travel
// on one Convoy stream (GET /api/subscribe), so the browser's 6 connections per origin
// never stall a query.
import { once } from "node:events";
import type { Server } from "node:http";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express from "express";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { createHostContext, createHostRouter, type HostContext } from "./hostPages/hostRouter.js";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";
import { repoRoot } from "../support/cliProject.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { bundleReactPage } from "../support/reactPageBundle.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

const skip = skipWithoutChromium("trpc hooks", "The browser test");

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

const HTML = `<!doctype html><meta charset="utf-8"><title>host</title><div id="root"></div><script src="/app.js"></script>`;

describe.skipIf(skip)("tRPC's own hooks and convoy/react, live in Chromium", () => {
  let started: TestServer<typeof liveTestFunctions>;
  let server: Server;
  let browser: Browser;
  let url: string;
  /** Requests that reached the host, by kind. */
  const requests = { trpcQueries: 0, trpcSubscriptions: 0, convoyQueries: 0 };

  beforeAll(async () => {
    started = await startTestServer(pgliteFactory, liveTestFunctions, {
      listen: false,
      // One auth: the host's context, for its tRPC and Convoy's endpoints and streams alike.
      context: createHostContext,
      auth: (ctx: HostContext) => (ctx.user ? { subject: ctx.user.id } : null),
    });
    const script = await bundleReactPage(`${repoRoot}/test/e2e/hostPages/app.tsx`);
    const app = express();
    app.use((request, _response, next) => {
      if (request.path.startsWith("/trpc/convoy.live.")) requests.trpcSubscriptions++;
      else if (request.path.startsWith("/trpc/") && request.path.includes("convoy.")) requests.trpcQueries++;
      else if (request.path === "/api/query") requests.convoyQueries++;
      next();
    });
    app.get("/", (_request, response) => void response.type("html").send(HTML));
    app.get("/app.js", (_request, response) => void response.type("js").send(script));
    app.use(
      "/trpc",
      createExpressMiddleware({ router: createHostRouter(started.convoy), createContext: createHostContext }),
    );
    app.use(started.convoy.handler);
    server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await started?.convoy.close({ timeoutMs: 1000 });
    server?.closeAllConnections();
    server?.close();
    await started?.database.dispose();
  });

  async function openPage(query: string): Promise<Page> {
    const context = await browser.newContext();
    await context.addCookies([{ name: "user", value: "alice", url }]);
    const page = await context.newPage();
    await page.goto(`${url}/?${query}`);
    return page;
  }

  const lists = (page: Page) =>
    page.evaluate(() =>
      Array.from({ length: 10 }, (_, i) => document.querySelector(`[data-testid=list-${i}]`)?.textContent),
    );

  it("10 live queries per page, updated from another page, over one Convoy stream per page", async () => {
    const writer = createConvoyClient({ url });
    const users = await Promise.all(
      Array.from({ length: 10 }, (_, i) => writer.mutation(api.users.add, { name: `u${i}` })),
    );
    const pages = {
      trpc: await openPage(`mode=trpc&users=${users.join(",")}`),
      convoy: await openPage(`mode=convoy&users=${users.join(",")}`),
    };
    for (const page of Object.values(pages)) {
      await expect.poll(() => lists(page), { timeout: 20_000 }).toEqual(Array(10).fill("none"));
      // The host's user, from its own context.
      await expect.poll(() => page.getByTestId("me").textContent(), { timeout: 10_000 }).toBe("alice");
    }
    // Each page runs each query once, on its watch: no HTTP query, no tRPC subscription.
    expect(requests).toEqual({ trpcQueries: 0, trpcSubscriptions: 0, convoyQueries: 0 });
    expect(started.convoy.streams).toBe(2);
    // Both pages watch the same 10 queries as the same user: the server runs each once.
    expect(started.convoy.live.stats().watches).toBe(10);

    // Another page (the same user) changes every list.
    const writerPage = await openPage("mode=writer");
    await expect.poll(() => writerPage.getByTestId("me").textContent(), { timeout: 10_000 }).toBe("alice");
    await writerPage.evaluate(async (ids) => {
      const convoy = (window as unknown as { convoy: ReturnType<typeof createConvoyClient> }).convoy;
      for (const [i, userId] of ids.entries())
        await convoy.mutation({ kind: "mutation", path: "projects.add" } as never, { userId, name: `p${i}` } as never);
    }, users);
    const expected = users.map((_, i) => `p${i}`);
    for (const page of Object.values(pages))
      await expect.poll(() => lists(page), { timeout: 20_000 }).toEqual(expected);
    expect(requests).toEqual({ trpcQueries: 0, trpcSubscriptions: 0, convoyQueries: 0 });
    writer.close();
  });
});
