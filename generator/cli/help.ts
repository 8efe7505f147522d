const COMMON = `  --dir <path>           Functions folder (default: convoy/, else src/convoy/)
  --database-url <url>   Postgres to use (default: DATABASE_URL from the environment or .env;
                         without one, embedded PGlite in .convoy/pgdata)
  --data-dir <path>      Folder of the embedded database (default: .convoy)
  --schema-name <name>   Postgres schema for Convoy's tables (default: convoy)
  -h, --help             Show this help`;

const SERVING = `  -p, --port <n>         Port to listen on (default: PORT, else 3210)
  --host <address>       Address to listen on (default: HOST, else 127.0.0.1)
  --static <dir>         Also serve a built web app (e.g. Vite's dist/): its files, and
                         index.html for other GET paths outside /api and /trpc
  --listen-url <url>     Direct Postgres URL for live queries' LISTEN connection, when
                         --database-url goes through PgBouncer in transaction mode
                         (default: CONVOY_LISTEN_URL, else the database URL)
  --cors-origin <origin> Let pages of this origin call from another origin (CORS), e.g.
                         https://app.example.com; repeat for several (default: none)
  --trust-proxy <which>  Behind a reverse proxy: the number of proxies (e.g. 1) or their
                         addresses (loopback, 10.0.0.0/8), so X-Forwarded-For names the
                         client for per-client limits (default: CONVOY_TRUST_PROXY, else none)
  --max-streams-per-client <n>
                         Live streams one client (signed-in user, else address) may hold
                         open; raise it when many anonymous users share one address (an
                         office or school behind one NAT) (default:
                         CONVOY_MAX_STREAMS_PER_CLIENT, else 64)`;

const SHUTDOWN = `SIGTERM or SIGINT shuts down gracefully: new requests are refused, SSE streams end,
requests in flight finish (up to CONVOY_SHUTDOWN_TIMEOUT seconds, default 10), then
the process exits 0. A second signal exits at once.`;

/** Help text per command. */
export const HELP: Record<string, string> = {
  main: `convoy: typed query() and mutation() functions on your own Postgres

Usage: convoy <command> [options]

Commands:
  dev        Sync, generate and serve, then redo it on every change under convoy/
  generate   Bundle convoy/, sync the schema to the database, write convoy/_generated/
  serve      Serve the functions over HTTP and tRPC
  migrate    Move tables to the storage layout their schema declares (.relational()), online
  help       Show help for a command: convoy help <command>

Run "convoy <command> --help" for a command's options.`,

  generate: `Usage: convoy generate [options]

Bundles convoy/schema.ts and convoy/functions/**/*.ts with esbuild, creates the
database if needed, syncs tables and indexes (refusing changes existing documents
violate), and writes convoy/_generated/: server.ts, functions.ts, api.js + api.d.ts,
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
${COMMON}

${SHUTDOWN}`,

  dev: `Usage: convoy dev [options]     (also: convoy-dev)

Creates the database if needed, syncs, generates and serves, then redoes it on
every change under convoy/. A syntax, type or schema error is shown with its
file:line and the server keeps running the last good build.

Options:
  --once                 Sync and generate once, then exit (no server)
${SERVING}
${COMMON}
  --no-typecheck         Skip the type check

${SHUTDOWN}`,

  migrate: `Usage: convoy migrate [options]

Moves each table to the storage layout its schema declares (.relational(): one
typed column per field; otherwise JSONB), online: the app keeps serving, reads and
writes go on, and an interrupted run resumes where it stopped. For each table to move
it writes a plan, convoy/migrations/NNNN_<table>_to_<layout>.sql (the SQL of every
step, with a row estimate): review it and commit it with the app. Then it applies
every plan the database has not finished, in file-name order. See docs/migrations.md.

Options:
  --dry-run              Write and show the plans; apply nothing
  --status               Show each migration's progress (running, interrupted, done)
  --rollback <table>     Return a table to JSONB: cancels a promotion that has not
                         finished, else migrates it back (with a plan of its own)
  --table <table>        Move this table even though a rollback returned it (repeatable)
  --no-wait              Exit if another convoy migrate is running, instead of waiting
  --batch-size <n>       Rows per backfill batch (default 2000)
${COMMON}`,
};
