/**
 * What "now" is for the scheduler: `runAfter` adds to it, and a job is due once it
 * has reached the job's time. Tests swap in a {@link ManualClock}.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock that moves only when told: for tests that run scheduled functions on demand.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(Date.parse("2030-01-01T00:00:00Z"));
 * const runtime = new ConvoyRuntime({ schema, functions, driver, clock });
 * clock.advance(60_000);
 * await new ScheduledFunctionRunner({ runtime }).runDue();
 * ```
 */
export class ManualClock implements Clock {
  constructor(private time = Date.now()) {}

  now(): number {
    return this.time;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }

  /** Sets the time (ms since the epoch, or a Date). */
  set(time: number | Date): void {
    this.time = time instanceof Date ? time.getTime() : time;
  }
}
