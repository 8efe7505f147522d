// A real PgBouncer for deployment tests, in transaction pooling mode in front of the test
// PostgreSQL, run in the foreground from a temporary folder (config, log, pid).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export const PGBOUNCER = "/usr/sbin/pgbouncer";

/** Why PgBouncer tests cannot run here, or null. Under CI=true a missing pgbouncer is an error, not a skip. */
export function pgbouncerUnavailable(): string | null {
  if (existsSync(PGBOUNCER)) return null;
  if (process.env.CI === "true") throw new Error(`CI=true but ${PGBOUNCER} is missing; .ci/run installs pgbouncer`);
  const reason = `${PGBOUNCER} is not installed (apt-get install pgbouncer)`;
  console.warn(`[convoy tests] PgBouncer tests SKIPPED: ${reason}`);
  return reason;
}

/** A running PgBouncer. */
export interface PgBouncerProcess {
  /** `databaseUrl` with its host and port replaced by PgBouncer's. */
  url: string;
  child: ChildProcess;
  /** Runs a command on PgBouncer's admin console (`SHOW STATS`, `SHOW POOLS`). */
  admin<TRow = Record<string, unknown>>(command: string): Promise<TRow[]>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer on `port` in transaction pooling mode, in front of the server of
 * `databaseUrl` (trust auth for its user, as the test server has); resolves once it
 * accepts connections.
 */
export async function startPgBouncer(databaseUrl: string, port: number): Promise<PgBouncerProcess> {
  const upstream = new URL(databaseUrl);
  const user = decodeURIComponent(upstream.username || "postgres");
  const folder = mkdtempSync(join(tmpdir(), "convoy-pgbouncer-"));
  // PgBouncer will not run as root: it switches to nobody, who must write its log here.
  chmodSync(folder, 0o777);
  writeFileSync(join(folder, "userlist.txt"), `"${user}" ""\n`);
  writeFileSync(
    join(folder, "pgbouncer.ini"),
    `[databases]
* = host=${upstream.hostname} port=${upstream.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${folder}/userlist.txt
admin_users = ${user}
pool_mode = transaction
default_pool_size = 8
max_client_conn = 500
logfile = ${folder}/pgbouncer.log
pidfile = ${folder}/pgbouncer.pid
`,
  );
  const asRoot = process.getuid?.() === 0;
  const child = spawn(PGBOUNCER, [...(asRoot ? ["-u", "nobody"] : []), join(folder, "pgbouncer.ini")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  // It logs to stderr too; keep that only for errors before the log file opens.
  let early = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (early.length < 20_000) early += chunk.toString();
  });
  const log = () =>
    existsSync(join(folder, "pgbouncer.log")) ? readFileSync(join(folder, "pgbouncer.log"), "utf8") : early;
  const through = new URL(databaseUrl);
  through.hostname = "127.0.0.1";
  through.port = String(port);
  const url = through.toString();
  const admin = async <TRow>(command: string): Promise<TRow[]> => {
    const console = new URL(url);
    console.pathname = "/pgbouncer";
    const client = new pg.Client({ connectionString: console.toString() });
    await client.connect();
    try {
      return (await client.query(command)).rows as TRow[];
    } finally {
      await client.end();
    }
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}:\n${log()}`);
    const ready = await admin("SHOW VERSION").then(
      () => true,
      () => false,
    );
    if (ready) break;
    if (Date.now() - started > 20_000) throw new Error(`pgbouncer did not accept connections on ${port}:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    admin,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
