import { ConvoyError } from "../errors.js";

/** When a cron job runs: its next time strictly after a given one. */
export interface CronSchedule {
  /** Shown in logs, e.g. `"every 60s"` or `"0 9 * * 1-5 (Europe/Paris)"`. */
  readonly description: string;
  /** The first run time after `after` (ms since the epoch). */
  next(after: number): number;
}

const MINUTE = 60_000;
/** How far ahead a cron string is searched for its next match. */
const SEARCH_YEARS = 5;

/**
 * Runs every `ms` milliseconds, at the multiples of `ms` since the epoch (so every
 * server, and every restart, agrees on the run times).
 * @internal
 */
export function intervalSchedule(ms: number): CronSchedule {
  if (!Number.isFinite(ms) || ms < 1000) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: "crons.interval: the interval must be at least 1 second, e.g. { seconds: 30 } or { minutes: 5 }",
    });
  }
  return {
    description: `every ${ms / 1000}s`,
    next: (after) => (Math.floor(after / ms) + 1) * ms,
  };
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

interface Field {
  values: Set<number>;
  /** True for `*` (matters for the day-of-month / day-of-week rule). */
  any: boolean;
}

function parseField(text: string, name: string, min: number, max: number, names?: readonly string[]): Field {
  const values = new Set<number>();
  const bad = (why: string) =>
    new ConvoyError({
      code: "BAD_REQUEST",
      message: `Cron ${name} field ${JSON.stringify(text)}: ${why}. Use numbers ${min}-${max}, "*", ranges "a-b", lists "a,b" and steps "*/n"`,
    });
  const value = (token: string): number => {
    const index = names?.indexOf(token.toLowerCase()) ?? -1;
    const number = index >= 0 ? index + (min === 1 ? 1 : 0) : /^\d+$/.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(number) || number < min || number > max)
      throw bad(`${JSON.stringify(token)} is out of range`);
    return number;
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || part.split("/").length > 2) throw bad("bad step");
    let from: number;
    let to: number;
    if (range === "*") {
      [from, to] = [min, max];
    } else if (range!.includes("-")) {
      const [a, b] = range!.split("-");
      [from, to] = [value(a!), value(b!)];
      if (from > to) throw bad(`range ${range} runs backwards`);
    } else {
      from = value(range!);
      to = stepText === undefined ? from : max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values, any: text === "*" };
}

/** Formats an instant as wall-clock fields in one time zone (cached per zone). */
const formatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(time: number, timeZone: string) {
  let format = formatters.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(time)) parts[part.type] = part.value;
  return {
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: DAYS.indexOf(parts.weekday!.toLowerCase().slice(0, 3)),
  };
}

/**
 * A standard five-field cron string (`minute hour day-of-month month day-of-week`,
 * names such as `mon` and `jan`, `@daily` and the other macros) in a time zone. As in
 * cron, when both day fields are restricted a day matching either runs. Across a
 * daylight-saving change, a wall-clock time that does not exist is skipped and one that
 * happens twice runs twice.
 * @example
 * ```ts
 * cronSchedule("30 9 * * mon-fri", "Europe/Paris").next(Date.now());
 * ```
 * @internal
 */
export function cronSchedule(text: string, timeZone = "UTC"): CronSchedule {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as "UTC" or "Europe/Paris"`,
    });
  }
  const expanded = MACROS[text.trim().toLowerCase()] ?? text.trim();
  const fields = expanded.split(/\s+/);
  if (fields.length !== 5) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Cron string ${JSON.stringify(text)} has ${fields.length} fields; use five: "minute hour day-of-month month day-of-week", e.g. "0 9 * * mon-fri"`,
    });
  }
  const minutes = parseField(fields[0]!, "minute", 0, 59);
  const hours = parseField(fields[1]!, "hour", 0, 23);
  const days = parseField(fields[2]!, "day-of-month", 1, 31);
  const months = parseField(fields[3]!, "month", 1, 12, MONTHS);
  const weekdays = parseField(fields[4]!, "day-of-week", 0, 7, DAYS);
  if (weekdays.values.has(7)) weekdays.values.add(0);
  const dayMatches = (day: number, weekday: number) => {
    if (days.any || weekdays.any) return days.values.has(day) && weekdays.values.has(weekday);
    return days.values.has(day) || weekdays.values.has(weekday);
  };
  const description = timeZone === "UTC" ? text : `${text} (${timeZone})`;
  return {
    description,
    next(after) {
      const limit = after + SEARCH_YEARS * 366 * 24 * 60 * MINUTE;
      let time = (Math.floor(after / MINUTE) + 1) * MINUTE;
      while (time <= limit) {
        const wall = wallClock(time, timeZone);
        if (!months.values.has(wall.month) || !dayMatches(wall.day, wall.weekday)) {
          // To the next local midnight, an hour short of it when far (a daylight-saving day can be 23 hours).
          const left = (23 - wall.hour) * 60 + (60 - wall.minute);
          time += (left > 120 ? left - 60 : left) * MINUTE;
        } else if (!hours.values.has(wall.hour)) {
          time += (60 - wall.minute) * MINUTE;
        } else if (!minutes.values.has(wall.minute)) {
          time += MINUTE;
        } else {
          return time;
        }
      }
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `Cron string ${JSON.stringify(text)} never matches in the next ${SEARCH_YEARS} years (e.g. "0 0 30 2 *"); fix the day or month`,
      });
    },
  };
}
