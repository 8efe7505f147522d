import { ConvoyError } from "../errors.js";
import { cronSchedule, intervalSchedule, type CronSchedule } from "./cronSchedule.js";
import type { OptionalArgs, SchedulableReference } from "./scheduler.js";

/** One cron job: a name, when it runs, and the function it runs with which arguments. */
export interface CronJob {
  name: string;
  schedule: CronSchedule;
  /** The function's path, e.g. `"cleanup.purgeOldSessions"`. */
  path: string;
  args: Record<string, unknown>;
}

/** A cron string, optionally in a time zone (UTC by default). */
export type CronString = string | { cron: string; timeZone?: string };

const DAYS_OF_WEEK = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;
const CRON_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/**
 * The app's cron jobs: the default export of `convoy/crons.ts`. Every server runs
 * them from the same rows in `convoy._scheduled_functions`; a job never overlaps
 * itself, and runs missed while no server was up are reported, then run once.
 *
 * @example
 * ```ts
 * // convoy/crons.ts
 * import { cronJobs } from "convoy/server";
 * import { internal } from "./_generated/api.js";
 *
 * const crons = cronJobs();
 * crons.interval("clear presence", { minutes: 5 }, internal.presence.clear);
 * crons.daily("daily report", { hourUTC: 6, minuteUTC: 0 }, internal.reports.send, { to: "team" });
 * crons.cron("weekday digest", { cron: "30 8 * * mon-fri", timeZone: "Europe/Paris" }, internal.digest.send);
 * export default crons;
 * ```
 */
export class Crons {
  readonly isConvoyCrons = true;
  readonly jobs = new Map<string, CronJob>();

  /** Every `seconds` / `minutes` / `hours` (at multiples of the interval since the epoch). */
  interval<TRef extends SchedulableReference>(
    name: string,
    every: { seconds?: number; minutes?: number; hours?: number },
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): void {
    const ms = ((every?.hours ?? 0) * 60 + (every?.minutes ?? 0)) * 60_000 + (every?.seconds ?? 0) * 1000;
    this.add(name, intervalSchedule(ms), ref, args[0]);
  }

  /** Every hour at `minuteUTC`. */
  hourly<TRef extends SchedulableReference>(
    name: string,
    at: { minuteUTC: number },
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): void {
    this.add(name, cronSchedule(`${at.minuteUTC} * * * *`), ref, args[0]);
  }

  /** Every day at `hourUTC:minuteUTC`. */
  daily<TRef extends SchedulableReference>(
    name: string,
    at: { hourUTC: number; minuteUTC: number },
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): void {
    this.add(name, cronSchedule(`${at.minuteUTC} ${at.hourUTC} * * *`), ref, args[0]);
  }

  /** Every week on `dayOfWeek` at `hourUTC:minuteUTC`. */
  weekly<TRef extends SchedulableReference>(
    name: string,
    at: { dayOfWeek: (typeof DAYS_OF_WEEK)[number]; hourUTC: number; minuteUTC: number },
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): void {
    const day = DAYS_OF_WEEK.indexOf(at.dayOfWeek);
    if (day < 0) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `crons.weekly(${JSON.stringify(name)}): dayOfWeek is one of ${DAYS_OF_WEEK.join(", ")}`,
      });
    }
    this.add(name, cronSchedule(`${at.minuteUTC} ${at.hourUTC} * * ${day}`), ref, args[0]);
  }

  /** On a standard cron string (`"*\/15 * * * *"`), in UTC or `{ cron, timeZone }`. */
  cron<TRef extends SchedulableReference>(
    name: string,
    schedule: CronString,
    ref: TRef,
    ...args: OptionalArgs<TRef>
  ): void {
    const { cron, timeZone } = typeof schedule === "string" ? { cron: schedule, timeZone: undefined } : schedule;
    if (typeof cron !== "string") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `crons.cron(${JSON.stringify(name)}): pass a cron string such as "0 * * * *" or { cron, timeZone }`,
      });
    }
    this.add(name, cronSchedule(cron, timeZone), ref, args[0]);
  }

  private add(name: string, schedule: CronSchedule, ref: SchedulableReference, args: unknown): void {
    if (typeof name !== "string" || !CRON_NAME.test(name.replaceAll(" ", "_"))) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `Cron job name ${JSON.stringify(name)}: use 1-100 letters, digits, spaces and _ . : -`,
      });
    }
    if (this.jobs.has(name)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `Two cron jobs are named ${JSON.stringify(name)}; rename one`,
      });
    }
    if (typeof ref?.path !== "string") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `Cron job ${JSON.stringify(name)}: pass a function reference such as internal.module.fn`,
      });
    }
    const jobArgs = (args ?? {}) as Record<string, unknown>;
    this.jobs.set(name, { name, schedule, path: ref.path, args: jobArgs });
  }
}

/** Starts the app's cron jobs (see {@link Crons}). */
export function cronJobs(): Crons {
  return new Crons();
}

/** True when `value` is what {@link cronJobs} returns. @internal */
export function isCrons(value: unknown): value is Crons {
  return typeof value === "object" && value !== null && (value as { isConvoyCrons?: unknown }).isConvoyCrons === true;
}
