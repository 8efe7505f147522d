/**
 * Change to DOM in a real browser: the example app (examples/users-projects), served by
 * the real CLI, open in headless Chromium on a user's projects; this process makes
 * changes through the HTTP API (`POST /api/mutation`) one at a time and measures, for
 * each, the time from sending the mutation, and from its commit response, to the
 * change showing in the page's DOM (seen by a MutationObserver in the page). The page's
 * stream reader also stamps when each pushed result arrives, before the app handles it, to
 * split the time between the server's push and the page's update.
 *
 *   npm run bench:browser          (node --import tsx bench/browser.bench.ts)
 *
 * Env: BENCH_CHANGES (measured changes, default 100), BENCH_WARMUP (unmeasured first
 * changes, default 10). Uses /usr/bin/chromium and a fresh embedded database in a
 * temporary folder.
 *
 * Clocks: the page stamps `performance.timeOrigin + performance.now()`; this process
 * converts it to its own clock with an offset measured before and after the run (the
 * round trip with the smallest time bounds its error, printed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { buildExample, startExampleServer } from "../test/e2e/exampleHarness.js";
import { launchChromium } from "../test/support/chromium.js";
import { ensurePackageBuilt } from "../test/support/packageBuild.js";
import { formatTable, latencyRow } from "./harness.js";
import { clockOffset, now } from "./pageClock.js";

const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);

const fmt = (value: number) => value.toFixed(1);

/** Stamps, in the page, the first time each project name is in the DOM. */
async function watchProjectNames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, number> = {};
    (window as unknown as { seen: Record<string, number> }).seen = seen;
    new MutationObserver(() => {
      const stamp = performance.timeOrigin + performance.now();
      for (const element of Array.from(document.querySelectorAll('[data-testid="project-name"]'))) {
        const name = element.textContent ?? "";
        if (seen[name] === undefined) seen[name] = stamp;
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

/**
 * Before the app loads: every live stream the page reads (convoy/client reads
 * `GET /api/subscribe` with fetch) stamps, ahead of the app, when a transition with a result holding each
 * project name first arrives.
 */
async function stampStreamResults(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const arrived: Record<string, number> = {};
    (window as unknown as { arrived: Record<string, number> }).arrived = arrived;
    const nativeFetch = window.fetch.bind(window);
    window.fetch = async (input, init) => {
      const response = await nativeFetch(input, init);
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if (!url.includes("/api/subscribe?") || response.body === null) return response;
      const [forApp, forStamps] = response.body.tee();
      void (async () => {
        const reader = forStamps.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) !== -1) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.startsWith("event: transition\n")) continue;
            // Inline, not a named helper: tsx would wrap a helper in a __name() the page lacks.
            const at = performance.timeOrigin + performance.now();
            const { results } = JSON.parse(event.slice(event.indexOf("data: ") + 6)) as {
              results: { value?: unknown }[];
            };
            for (const { value } of results) {
              if (!Array.isArray(value)) continue;
              for (const item of value as { name?: string }[]) {
                if (typeof item.name === "string" && arrived[item.name] === undefined) arrived[item.name] = at;
              }
            }
          }
        }
      })();
      return new Response(forApp, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    };
  });
}

async function mutation(url: string, path: string, args: unknown): Promise<string> {
  const response = await fetch(`${url}/api/mutation`, { method: "POST", body: JSON.stringify({ path, args }) });
  const body = (await response.json()) as { value?: string; error?: { message: string } };
  if (!response.ok) throw new Error(`${path}: ${body.error?.message ?? response.status}`);
  return body.value!;
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "convoy-bench-browser-"));
  const webDir = join(scratch, "web");
  const dataDir = join(scratch, "data");
  await ensurePackageBuilt((message) => console.log(message));
  await buildExample({ outDir: webDir, dataDir });
  const server = await startExampleServer({ webDir, dataDir, port: 0 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await stampStreamResults(page);
    await page.goto(server.url);
    const owner = await mutation(server.url, "users.createUser", { name: "Bench" });
    await page.getByTestId("user-item").filter({ hasText: "Bench" }).click();
    await page.getByText("No projects yet.").waitFor();
    await watchProjectNames(page);

    const clockBefore = await clockOffset(page, 30);
    const fromSend: number[] = [];
    const fromCommit: number[] = [];
    const commit: number[] = [];
    const toEvent: number[] = [];
    const eventToDom: number[] = [];
    for (let i = 0; i < WARMUP + CHANGES; i++) {
      const name = `project ${i}`;
      const sent = now();
      await mutation(server.url, "projects.createProject", { userId: owner, name });
      const committed = now();
      // Both stamps are set in the page; wait until both are there, then read them.
      const stamps = await page.waitForFunction(
        (key) => {
          const { seen, arrived } = window as unknown as Record<"seen" | "arrived", Record<string, number>>;
          return seen[key] !== undefined && arrived[key] !== undefined
            ? { shown: seen[key], arrived: arrived[key] }
            : null;
        },
        name,
        { timeout: 10_000 },
      );
      const { shown, arrived } = (await stamps.jsonValue())!;
      if (i < WARMUP) continue;
      const shownHere = shown - clockBefore.offset;
      fromSend.push(shownHere - sent);
      fromCommit.push(shownHere - committed);
      commit.push(committed - sent);
      toEvent.push(arrived - clockBefore.offset - committed);
      eventToDom.push(shown - arrived);
    }
    const clockAfter = await clockOffset(page, 30);

    console.log(
      `\n${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), Node ${process.version}, Chromium ${browser.version()}, ` +
        `${CHANGES} changes after ${WARMUP} unmeasured, one at a time`,
    );
    console.log(
      `clock offset page - node: ${fmt(clockBefore.offset)} ms ± ${clockBefore.error.toFixed(2)} before, ` +
        `${fmt(clockAfter.offset)} ms ± ${clockAfter.error.toFixed(2)} after\n`,
    );
    console.log(
      formatTable(
        ["interval", "changes", "p50 ms", "p99 ms", "max ms"],
        [
          latencyRow("mutation sent -> commit response", commit),
          latencyRow("mutation sent -> change in the DOM", fromSend),
          latencyRow("commit response -> change in the DOM", fromCommit),
          latencyRow("commit response -> result event in the page", toEvent),
          latencyRow("result event -> change in the DOM", eventToDom),
        ],
        1,
      ),
    );
  } finally {
    await browser.close();
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
