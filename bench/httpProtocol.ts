/** What bench/http.bench.ts and its server process (bench/httpServers.ts) share. */

/** The Postgres schema the HTTP bench creates and drops. */
export const SCHEMA = "bench_http";
/**
 * Where the baseline's tables live: by default plain copies of Convoy's `projects` and
 * `_mutation_lock` (same columns and indexes, no triggers) in their own schema, so the
 * baseline is what a hand-written app would have. BENCH_BASELINE_ON_CONVOY_TABLES=1 makes
 * the baseline use Convoy's own tables instead (and fire Convoy's triggers).
 */
export const BASELINE_SCHEMA = process.env.BENCH_BASELINE_ON_CONVOY_TABLES === "1" ? SCHEMA : `${SCHEMA}_base`;
/** Rows a query returns: `.take(TAKE)`. */
export const TAKE = 20;
/** Connections in each server's `pg` pool (Convoy's driver and the baseline's). */
export const POOL_SIZE = 10;
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

/** `postgres`: Convoy and the express+pg baselines on Postgres; `pglite`: Convoy on in-memory PGlite. */
export type ServerMode = "postgres" | "pglite";

/** The `args` of `projects.create`, and the document it writes. */
export interface ProjectArgs {
  name: string;
  userId: string;
  createdAt: number;
}

/** The document the i-th insert writes (same for every contender). */
export const projectArgs = (users: readonly string[], i: number): ProjectArgs => ({
  name: `project ${i}`,
  userId: users[i % users.length]!,
  createdAt: i,
});

/** The SQL Convoy runs right after BEGIN, recorded from Convoy and sent verbatim by the baseline. */
export interface TransactionSetups {
  mutation: string;
  query: string;
}

/** Parent to server process. */
export type Command =
  /** Empty `projects`, then load this many projects spread over the users. */
  | { type: "reset"; id: number; projects: number }
  /** Report the server process's CPU time so far. */
  | { type: "cpu"; id: number }
  /** Close the servers, drop the schema, exit. */
  | { type: "stop" };

/** Server process to parent. */
export type Reply =
  | {
      type: "ready";
      /** Convoy's app: `/api/query`, `/api/mutation`, `/trpc`. */
      convoyPort: number;
      /** The express+pg baseline app (`postgres` mode only): `/tx/...` and `/auto/...`. */
      baselinePort: number | null;
      /** The seeded users' ids. */
      users: string[];
      /** `postgres` mode: what Convoy's transactions run after BEGIN. */
      setups: TransactionSetups | null;
    }
  | { type: "done"; id: number; cpuMicros: number }
  | { type: "failed"; id: number | null; message: string };
