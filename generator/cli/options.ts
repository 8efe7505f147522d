import { parseArgs } from "node:util";
import { ConvoyError } from "../../runtime/errors.js";
import { DEFAULT_PORT } from "../../runtime/client/convoyClient.js";
import type { MigrateCommandOptions } from "./migrateCommand.js";

/** Options every command understands. */
export interface CommonOptions {
  dir: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string | undefined;
  schemaName: string | undefined;
  typecheck: boolean;
  help: boolean;
}

/** Options of the commands that serve. */
export interface ServeOptions extends CommonOptions {
  port: number;
  host: string;
  once: boolean;
  /** `--listen-url <url>`: a direct connection for LISTEN (the environment's CONVOY_LISTEN_URL is read later, after .env). */
  listenUrl: string | undefined;
  /** `--static <dir>`: a built web app to serve beside the API. */
  staticDir: string | undefined;
  /** `--cors-origin <origin>` (repeatable): browser origins allowed to call from another origin. */
  corsOrigins: string[];
  /** `--trust-proxy`: which proxies' X-Forwarded-For to believe (express's `trust proxy`). */
  trustProxy: number | string | undefined;
  /** `--max-streams-per-client <n>`: live streams one client may hold open (the environment's CONVOY_MAX_STREAMS_PER_CLIENT is read later, after .env). */
  maxStreamsPerClient: number | undefined;
}

const OPTIONS = {
  dir: { type: "string" },
  "database-url": { type: "string" },
  "data-dir": { type: "string" },
  "schema-name": { type: "string" },
  "no-typecheck": { type: "boolean" },
  port: { type: "string", short: "p" },
  host: { type: "string" },
  once: { type: "boolean" },
  "listen-url": { type: "string" },
  static: { type: "string" },
  "cors-origin": { type: "string", multiple: true },
  "trust-proxy": { type: "string" },
  "max-streams-per-client": { type: "string" },
  "dry-run": { type: "boolean" },
  status: { type: "boolean" },
  rollback: { type: "string" },
  table: { type: "string", multiple: true },
  "no-wait": { type: "boolean" },
  "batch-size": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** An origin as browsers send it: scheme, host and port, nothing more. */
function checkOrigin(origin: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(origin);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || parsed.origin !== origin) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `--cors-origin ${origin}: give an origin such as https://app.example.com (scheme, host, port if not the default; no path or trailing slash)`,
    });
  }
  return origin;
}

/** `--trust-proxy`: a number of hops, or addresses / subnets / `loopback` as express reads them. */
function checkTrustProxy(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (/^[\w.:/, -]+$/.test(value) && value.trim() !== "") return value;
  throw new ConvoyError({
    code: "BAD_REQUEST",
    message: `--trust-proxy ${value}: give the number of proxies in front of Convoy (e.g. 1), or their addresses (e.g. loopback or 10.0.0.0/8)`,
  });
}

/** The largest `--max-streams-per-client`: far above any real client, below what would mean "no limit". */
const MAX_STREAMS_CEILING = 100_000;

/**
 * A stream limit given as `--max-streams-per-client` or CONVOY_MAX_STREAMS_PER_CLIENT
 * (named by `source` in the error): a whole number from 1 to 100000.
 */
export function checkMaxStreamsPerClient(value: string | undefined, source: string): number | undefined {
  if (value === undefined) return undefined;
  const limit = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_STREAMS_CEILING) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `${source} ${value}: give the number of live streams one client (user, else address) may hold open, a whole number from 1 to ${MAX_STREAMS_CEILING} (default 64)`,
    });
  }
  return limit;
}

/** Parses a command's arguments; unknown options are errors that name the help. */
export function parseOptions(
  command: string,
  args: string[],
  allowed: readonly (keyof typeof OPTIONS)[],
): ServeOptions & MigrateCommandOptions {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `${(error as Error).message}. See: convoy ${command} --help`,
    });
  }
  for (const name of Object.keys(values)) {
    if (!allowed.includes(name as keyof typeof OPTIONS) && name !== "help") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `convoy ${command} does not take --${name}. See: convoy ${command} --help`,
      });
    }
  }
  const portText = (values.port as string | undefined) ?? process.env.PORT;
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConvoyError({ code: "BAD_REQUEST", message: `--port ${portText}: give a port number from 0 to 65535` });
  }
  const batchText = values["batch-size"] as string | undefined;
  const batchSize = batchText === undefined ? undefined : Number(batchText);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `--batch-size ${batchText}: give a whole number of rows, 1 to 1000000`,
    });
  }
  return {
    dryRun: values["dry-run"] === true,
    status: values.status === true,
    rollback: values.rollback as string | undefined,
    tables: (values.table as string[] | undefined) ?? [],
    wait: values["no-wait"] !== true,
    batchSize,
    dir: values.dir as string | undefined,
    databaseUrl: (values["database-url"] as string | undefined) ?? process.env.DATABASE_URL,
    dataDir: values["data-dir"] as string | undefined,
    schemaName: values["schema-name"] as string | undefined,
    typecheck: !values["no-typecheck"],
    help: values.help === true,
    port,
    host: (values.host as string | undefined) ?? process.env.HOST ?? "127.0.0.1",
    once: values.once === true,
    listenUrl: values["listen-url"] as string | undefined,
    staticDir: values.static as string | undefined,
    corsOrigins: ((values["cors-origin"] as string[] | undefined) ?? []).map(checkOrigin),
    maxStreamsPerClient: checkMaxStreamsPerClient(
      values["max-streams-per-client"] as string | undefined,
      "--max-streams-per-client",
    ),
    trustProxy: checkTrustProxy((values["trust-proxy"] as string | undefined) ?? process.env.CONVOY_TRUST_PROXY),
  };
}
