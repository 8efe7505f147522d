/**
 * The clock of a `convoyTest`: the real time (or vitest's faked `Date`) plus whatever
 * `advanceTime` added. Scheduled functions and crons are due by this clock.
 * @internal
 */
export class TestClock {
  private offsetMs = 0;

  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`advanceTime(${ms}): pass a number of milliseconds >= 0`);
    }
    this.offsetMs += ms;
    return this.now();
  }
}
