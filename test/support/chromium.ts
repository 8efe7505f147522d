// The system Chromium, for the browser tests and benches: tests never download a browser.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium. */
export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Launches the system Chromium headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Whether a browser test skips: Chromium is missing outside CI (in CI the test runs, and
 * fails). When it skips, warns `[tag] <test> is SKIPPED`.
 */
export function skipWithoutChromium(tag: string, test: string): boolean {
  const skip = !existsSync(CHROMIUM) && process.env.CI !== "true";
  if (skip) console.warn(`\n[${tag}] ${test} is SKIPPED: no Chromium at ${CHROMIUM}.\n`);
  return skip;
}
