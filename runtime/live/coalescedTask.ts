import { setTimeout as sleep } from "node:timers/promises";

/**
 * Runs an async task on request, one run at a time: requests made while it runs cause
 * one more run after it, started at least `minIntervalMs` after the previous start. A
 * lone request runs at once; a stream of them runs the task every few milliseconds, not
 * once each. The task must not reject.
 * @internal
 */
export class CoalescedTask {
  private running: Promise<void> | null = null;
  private again = false;
  /** Runs begun so far, and who waits for a run to finish. */
  private begun = 0;
  private readonly waiters: { run: number; resolve: () => void }[] = [];

  constructor(
    private readonly task: () => Promise<void>,
    private readonly minIntervalMs: number,
  ) {}

  /** Runs the task now, or once more after the run in progress. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    const started = performance.now();
    const run = ++this.begun;
    this.running = this.task()
      .then(async () => {
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          if (this.waiters[i]!.run <= run) this.waiters.splice(i, 1)[0]!.resolve();
        }
        if (!this.again) return;
        // Timers can fire up to a millisecond early by the performance clock, so wait
        // until the interval has truly passed.
        let wait: number;
        while ((wait = this.minIntervalMs - (performance.now() - started)) > 0) {
          await sleep(Math.ceil(wait));
        }
      })
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  /** Requests a run and resolves once a run that began after this call has finished. */
  fresh(): Promise<void> {
    const run = this.begun + 1;
    const done = new Promise<void>((resolve) => this.waiters.push({ run, resolve }));
    this.request();
    return done;
  }

  /** Resolves when every run requested so far is done. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }
}
