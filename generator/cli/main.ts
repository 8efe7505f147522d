import { isConvoyError } from "../../runtime/errors.js";
import { devCommand, generateCommand, prepareEnvironment, serveCommand, type Output } from "./commands.js";
import { HELP } from "./help.js";
import { migrateCommand } from "./migrateCommand.js";
import { parseOptions } from "./options.js";

const COMMON = ["dir", "database-url", "data-dir", "schema-name"] as const;
const SERVING = [
  "port",
  "host",
  "static",
  "listen-url",
  "cors-origin",
  "trust-proxy",
  "max-streams-per-client",
] as const;
const COMMANDS = {
  generate: { run: generateCommand, allowed: [...COMMON, "no-typecheck"] },
  serve: {
    run: serveCommand,
    allowed: [...COMMON, ...SERVING],
  },
  migrate: {
    run: migrateCommand,
    allowed: [...COMMON, "dry-run", "status", "rollback", "table", "no-wait", "batch-size"],
  },
  dev: {
    run: devCommand,
    allowed: [...COMMON, ...SERVING, "once", "no-typecheck"],
  },
} as const;

const out: Output = {
  log: (message) => console.log(`[convoy] ${message}`),
  error: (message) => console.error(`[convoy] ${message}`),
};

/** Runs the CLI with `argv` (without `node` and the script). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    const topic = command === "help" ? rest[0] : undefined;
    console.log(topic && HELP[topic] ? HELP[topic] : HELP.main);
    return 0;
  }
  const entry = COMMANDS[command as keyof typeof COMMANDS];
  if (entry === undefined) {
    console.error(`Unknown command "${command}".\n\n${HELP.main}`);
    return 2;
  }
  try {
    const options = parseOptions(command, rest, entry.allowed);
    if (options.help) {
      console.log(HELP[command]);
      return 0;
    }
    prepareEnvironment();
    if (options.databaseUrl === undefined && process.env.DATABASE_URL) options.databaseUrl = process.env.DATABASE_URL;
    await entry.run(options, out);
    return 0;
  } catch (error) {
    out.error(isConvoyError(error) ? error.message : ((error as Error)?.stack ?? String(error)));
    return 1;
  }
}
