import type { ConvoyServerFeature } from "../server/convoyServer.js";
import type { Crons } from "./cronJobs.js";
import { ScheduledFunctionRunner, type ScheduledFunctionRunnerOptions } from "./scheduledFunctionRunner.js";

/** Options of {@link schedulerFeature}. */
export type SchedulerFeatureOptions = Omit<ScheduledFunctionRunnerOptions, "runtime" | "onError"> & {
  crons?: Crons;
};

/** The server feature that runs scheduled functions and cron jobs; `runner` is set once started. */
export interface SchedulerFeature extends ConvoyServerFeature {
  readonly runner: ScheduledFunctionRunner | undefined;
}

/**
 * Runs `ctx.scheduler` jobs and the app's cron jobs on this server (see
 * {@link ScheduledFunctionRunner}). `createConvoyServer` adds it unless `scheduler: false`.
 *
 * @example
 * ```ts
 * await createConvoyServer({ schema, functions, scheduler: { crons } });
 * ```
 */
export function schedulerFeature(options: SchedulerFeatureOptions = {}): SchedulerFeature {
  let runner: ScheduledFunctionRunner | undefined;
  return {
    name: "scheduler",
    get runner() {
      return runner;
    },
    async start(server) {
      runner = new ScheduledFunctionRunner({
        ...options,
        runtime: server.runtime,
        onError: (error) => server.onError(error),
      });
      await runner.start();
    },
    async close() {
      await runner?.stop();
    },
  };
}
