import { parseArgs } from "node:util";
import { ConvoyError } from "../../runtime/errors.js";
import { DEFAULT_PORT } from "../../runtime/client/convoyClient.js";

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
  help: { type: "boolean", short: "h" },
} as const;

/** Parses a command's arguments; unknown options are errors that name the help. */
export function parseOptions(
  command: string,
  args: string[],
  allowed: readonly (keyof typeof OPTIONS)[],
): ServeOptions {
  let values: Record<string, string | boolean | undefined>;
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
  return {
    dir: values.dir as string | undefined,
    databaseUrl: (values["database-url"] as string | undefined) ?? process.env.DATABASE_URL,
    dataDir: values["data-dir"] as string | undefined,
    schemaName: values["schema-name"] as string | undefined,
    typecheck: !values["no-typecheck"],
    help: values.help === true,
    port,
    host: (values.host as string | undefined) ?? process.env.HOST ?? "127.0.0.1",
    once: values.once === true,
  };
}
