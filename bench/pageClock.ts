// Comparing times stamped in a browser page with this process's.
import type { Page } from "playwright-core";

/** This process's time on the scale a page stamps with: milliseconds since the Unix epoch. */
export const now = () => performance.timeOrigin + performance.now();

/**
 * The page's clock minus this process's, from the round trip with the smallest time out
 * of `roundTrips`; `error` (half that round trip) bounds how far off it may be.
 */
export async function clockOffset(page: Page, roundTrips: number): Promise<{ offset: number; error: number }> {
  let best = { offset: 0, error: Infinity };
  for (let i = 0; i < roundTrips; i++) {
    const before = now();
    const pageNow = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = now();
    if ((after - before) / 2 < best.error)
      best = { offset: pageNow - (before + after) / 2, error: (after - before) / 2 };
  }
  return best;
}
