// convoy/client's localStorageOutbox in real Chromium: a mutation made while the server
// is out of reach survives a page reload and is applied once when the page comes back.
import { once } from "node:events";
import { createServer as createHttpServer, type Server } from "node:http";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyApp } from "../../runtime/server/expressApp.js";
import type { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { launchChromium, skipWithoutChromium } from "../support/chromium.js";
import { repoRoot } from "../support/cliProject.js";
import { FaultyProxy } from "../support/faultyProxy.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { pgliteFactory, type TestDatabase } from "../support/testDatabases.js";
import { openTestRuntime } from "../support/testRuntime.js";

const skip = skipWithoutChromium("outbox", "The browser outbox test");

/** The page: convoy/client with an outbox in localStorage, created on every load. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>outbox</title>
<script src="/client.js"></script>
<script>
  window.client = Convoy.createConvoyClient({ outbox: Convoy.localStorageOutbox(), mutationRetryMs: 500 });
</script>`;

describe.skipIf(skip)("localStorageOutbox in Chromium", () => {
  let database: TestDatabase;
  let runtime: ConvoyRuntime;
  let server: Server;
  let proxy: FaultyProxy;
  let browser: Browser;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    ({ database, runtime } = await openTestRuntime(pgliteFactory, liveTestFunctions));
    const { app } = createConvoyApp({ runtime, functions: liveTestFunctions });
    const bundle = await build({
      entryPoints: [`${repoRoot}/runtime/client.ts`],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "Convoy",
      write: false,
      logLevel: "silent",
    });
    const script = bundle.outputFiles[0]!.text;
    server = createHttpServer((request, response) => {
      if (request.url === "/page") response.writeHead(200, { "content-type": "text/html" }).end(PAGE);
      else if (request.url === "/client.js") response.writeHead(200, { "content-type": "text/javascript" }).end(script);
      else app(request, response);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    proxy = new FaultyProxy((server.address() as { port: number }).port);
    url = `http://127.0.0.1:${await proxy.listen()}`;
    browser = await launchChromium();
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    server?.closeAllConnections();
    server?.close();
    await database?.dispose();
  });

  const users = async () => (await runtime.store.query((db) => db.query("users").fullTableScan().collect())).length;
  const outboxText = () => page.evaluate(() => localStorage.getItem("convoy:outbox"));

  it("keeps a mutation made while the server is out of reach across a reload, then applies it once", async () => {
    await page.goto(`${url}/page`);
    const port = Number(new URL(url).port);
    await proxy.close();

    const code = await page.evaluate(() =>
      (window as unknown as { client: { mutation: (ref: unknown, args: unknown) => Promise<unknown> } }).client
        .mutation({ path: "users.add", kind: "mutation" }, { name: "Offline Ada" })
        .then(
          () => "applied",
          (error: { code: string }) => error.code,
        ),
    );
    expect(code).toBe("SERVICE_UNAVAILABLE");
    expect(JSON.parse((await outboxText())!)).toEqual([
      { path: "users.add", args: { name: "Offline Ada" }, mutationId: expect.any(String) },
    ]);
    expect(await users()).toBe(0);

    proxy = new FaultyProxy((server.address() as { port: number }).port);
    await proxy.listen(port);
    await page.reload();
    await expect.poll(outboxText, { timeout: 10_000 }).toBe("[]");
    expect(await users()).toBe(1);
    // Another reload finds nothing to send.
    await page.reload();
    await page.waitForFunction(() => "client" in window);
    expect(await users()).toBe(1);
  });
});
