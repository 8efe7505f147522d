/**
 * Delivery to a live tRPC hook beside a convoy/react hook, in headless Chromium: a host
 * app with Convoy merged into its tRPC router (test/e2e/hostPages), one page on tRPC's
 * own `trpc.convoy.projects.byUser.useQuery` (kept live by the ConvoyProvider, no
 * subscription written) and one on `convoy/react`'s `useQuery`, each showing 10 users'
 * lists. This process adds a project to one of the users at a time (POST /api/mutation)
 * and measures, per page, the time from sending the mutation to the name being in that
 * page's DOM (a MutationObserver in the page stamps it).
 *
 *   node --import tsx bench/trpcHooks.bench.ts
 *
 * Env: BENCH_CHANGES (measured changes, default 100), BENCH_WARMUP (default 10). A fresh
 * embedded database (PGlite) in a temporary folder.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express from "express";
import type { Page } from "playwright-core";
import { syncSchema } from "../generator/sync/syncSchema.js";
import { openDatabase } from "../runtime/drivers/openDatabase.js";
import { createConvoyServer } from "../runtime/server/convoyServer.js";
import { repoRoot } from "../test/e2e/exampleHarness.js";
import { createHostContext, createHostRouter, type HostContext } from "../test/e2e/hostPages/hostRouter.js";
import { launchChromium } from "../test/support/chromium.js";
import { liveTestFunctions } from "../test/support/liveTestApp.js";
import { bundleReactPage } from "../test/support/reactPageBundle.js";
import { testSchema } from "../test/support/testSchema.js";
import { formatTable, latencyRow } from "./harness.js";
import { clockOffset, now } from "./pageClock.js";

const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const LISTS = 10;

/** Stamps, in the page, the first time each project name is shown in a list. */
async function stampNames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seen: Record<string, number> }).seen = seen;
    new MutationObserver(() => {
      const stamp = performance.timeOrigin + performance.now();
      for (const item of Array.from(document.querySelectorAll("li"))) {
        for (const name of (item.textContent ?? "").split(",")) seen[name] ??= stamp;
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

async function call(url: string, kind: "query" | "mutation", path: string, args: unknown): Promise<any> {
  const response = await fetch(`${url}/api/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: "user=bench" },
    body: JSON.stringify({ path, args }),
  });
  const body = (await response.json()) as { value?: unknown; error?: { message: string } };
  if (!response.ok) throw new Error(`${path}: ${body.error?.message ?? response.status}`);
  return body.value;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "convoy-bench-trpc-hooks-"));
  const driver = await openDatabase({ dataDir });
  await syncSchema(driver, testSchema);
  const convoy = await createConvoyServer({
    driver,
    schema: testSchema,
    functions: liveTestFunctions,
    context: createHostContext,
    auth: (ctx: HostContext) => (ctx.user ? { subject: ctx.user.id } : null),
  });
  const script = await bundleReactPage(join(repoRoot, "test/e2e/hostPages/app.tsx"), { minify: true });
  const app = express();
  app.get(
    "/",
    (_request, response) =>
      void response
        .type("html")
        .send('<!doctype html><meta charset="utf-8"><div id="root"></div><script src="/app.js"></script>'),
  );
  app.get("/app.js", (_request, response) => void response.type("js").send(script));
  app.use("/trpc", createExpressMiddleware({ router: createHostRouter(convoy), createContext: createHostContext }));
  app.use(convoy.handler);
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await launchChromium();
  try {
    const users: string[] = [];
    for (let i = 0; i < LISTS; i++) users.push(await call(url, "mutation", "users.add", { name: `u${i}` }));
    const pages: Record<"tRPC useQuery" | "convoy/react useQuery", Page> = {} as never;
    for (const [label, mode] of [
      ["tRPC useQuery", "trpc"],
      ["convoy/react useQuery", "convoy"],
    ] as const) {
      const context = await browser.newContext();
      await context.addCookies([{ name: "user", value: "bench", url }]);
      const page = await context.newPage();
      await page.goto(`${url}/?mode=${mode}&users=${users.join(",")}`);
      await page.waitForFunction(
        (n) => document.querySelectorAll("li").length === n && !document.body.textContent?.includes("loading"),
        LISTS,
      );
      await stampNames(page);
      pages[label] = page;
    }
    const offsets = Object.fromEntries(
      await Promise.all(
        Object.entries(pages).map(async ([label, page]) => [label, (await clockOffset(page, 20)).offset] as const),
      ),
    );
    const delays: Record<string, number[]> = Object.fromEntries(Object.keys(pages).map((label) => [label, []]));
    for (let i = 0; i < WARMUP + CHANGES; i++) {
      const name = `c${i}`;
      const sent = now();
      await call(url, "mutation", "projects.add", { userId: users[i % LISTS], name });
      for (const [label, page] of Object.entries(pages)) {
        const shown = await (
          await page.waitForFunction(
            (key) => (window as unknown as { seen: Record<string, number> }).seen[key] ?? 0,
            name,
            {
              timeout: 10_000,
            },
          )
        ).jsonValue();
        if (i >= WARMUP) delays[label]!.push(shown - offsets[label]! - sent);
      }
    }
    console.log(
      `\n${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}, Chromium ${browser.version()}, ` +
        `${CHANGES} changes after ${WARMUP} unmeasured, one at a time; ${LISTS} live lists per page, both pages open`,
    );
    console.log(
      formatTable(
        ["hook (mutation sent -> change in the DOM)", "changes", "p50 ms", "p99 ms", "max ms"],
        Object.entries(delays).map(([label, values]) => latencyRow(label, values)),
        1,
      ),
    );
  } finally {
    await browser.close();
    await convoy.close({ timeoutMs: 1000 });
    server.closeAllConnections();
    server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
