const COMMON = `  --dir <path>           Functions folder (default: convoy/, else src/convoy/)
  --database-url <url>   Postgres to use (default: DATABASE_URL from the environment or .env;
                         without one, embedded PGlite in .convoy/pgdata)
  --data-dir <path>      Folder of the embedded database (default: .convoy)
  --schema-name <name>   Postgres schema for Convoy's tables (default: convoy)
  -h, --help             Show this help`;

const SERVING = `  -p, --port <n>         Port to listen on (default: PORT, else 3210)
  --host <address>       Address to listen on (default: HOST, else 127.0.0.1)`;

/** Help text per command. */
export const HELP: Record<string, string> = {
  main: `convoy: typed query() and mutation() functions on your own Postgres

Usage: convoy <command> [options]

Commands:
  dev        Sync, generate and serve, then redo it on every change under convoy/
  generate   Bundle convoy/, sync the schema to the database, write convoy/_generated/
  serve      Serve the functions over HTTP and tRPC
  help       Show help for a command: convoy help <command>

Run "convoy <command> --help" for a command's options.`,

  generate: `Usage: convoy generate [options]

Bundles convoy/schema.ts and convoy/functions/**/*.ts with esbuild, creates the
database if needed, syncs tables and indexes (refusing changes existing documents
violate), and writes convoy/_generated/: server.ts, functions.ts, api.ts,
router.ts (tRPC), http.ts and, with drizzle-orm installed, drizzle.ts.
Type errors in convoy/ (checked with the project's own tsc) fail the command.

Options:
${COMMON}
  --no-typecheck         Skip the type check`,

  serve: `Usage: convoy serve [options]

Serves the functions: POST /api/query, POST /api/mutation, GET /api/health,
and the tRPC router at /trpc. Bundles convoy/ and syncs the schema on start;
run "convoy generate" first to refresh convoy/_generated/.

Options:
${SERVING}
${COMMON}`,

  dev: `Usage: convoy dev [options]     (also: convoy-dev)

Creates the database if needed, syncs, generates and serves, then redoes it on
every change under convoy/. A syntax, type or schema error is shown with its
file:line and the server keeps running the last good build.

Options:
  --once                 Sync and generate once, then exit (no server)
${SERVING}
${COMMON}
  --no-typecheck         Skip the type check`,
};
