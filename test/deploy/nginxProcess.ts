// A real nginx for deployment tests, run in the foreground from a temporary prefix with
// docs/deploy/nginx.conf as its site configuration (only the ports changed).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../support/cliProject.js";

export const NGINX = "/usr/sbin/nginx";

/** Why nginx tests cannot run here, or null. Under CI=true a missing nginx is an error, not a skip. */
export function nginxUnavailable(): string | null {
  if (existsSync(NGINX)) return null;
  if (process.env.CI === "true") throw new Error(`CI=true but ${NGINX} is missing; .ci/run installs nginx`);
  const reason = `${NGINX} is not installed (apt-get install nginx)`;
  console.warn(`[convoy tests] nginx tests SKIPPED: ${reason}`);
  return reason;
}

/** docs/deploy/nginx.conf with its upstream servers and listen port replaced. */
export function siteConfig(upstreamPorts: number[], listenPort: number): string {
  const documented = readFileSync(join(repoRoot, "docs/deploy/nginx.conf"), "utf8");
  const servers = /^( *)server 127\.0\.0\.1:\d+ (.*);\n/gm;
  const lines = [...documented.matchAll(servers)];
  if (lines.length !== 3 || !/^ *listen 80;$/m.test(documented)) {
    throw new Error("docs/deploy/nginx.conf no longer has three `server 127.0.0.1:<port> ...;` lines and `listen 80;`");
  }
  const [indent, options] = [lines[0]![1]!, lines[0]![2]!];
  const upstream = upstreamPorts.map((port) => `${indent}server 127.0.0.1:${port} ${options};\n`).join("");
  let replaced = false;
  return documented
    .replace(servers, () => (replaced ? "" : ((replaced = true), upstream)))
    .replace(/^( *)listen 80;$/m, `$1listen 127.0.0.1:${listenPort};`);
}

/** How long nginx skips an instance after a failed connection (`fail_timeout` in docs/deploy/nginx.conf). */
export function failTimeoutMs(): number {
  const match = /fail_timeout=(\d+)s/.exec(readFileSync(join(repoRoot, "docs/deploy/nginx.conf"), "utf8"));
  if (!match) throw new Error("docs/deploy/nginx.conf has no fail_timeout=<n>s");
  return Number(match[1]) * 1000;
}

/** A running nginx. */
export interface NginxProcess {
  url: string;
  child: ChildProcess;
  /** nginx's error log so far. */
  errors(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx in the foreground (`daemon off`) with every file under a temporary
 * prefix, proxying `listenPort` to the given instances; resolves once it answers.
 */
export async function startNginx(upstreamPorts: number[], listenPort: number): Promise<NginxProcess> {
  const prefix = mkdtempSync(join(tmpdir(), "convoy-nginx-"));
  // Run as root, nginx's workers switch to an unprivileged user that must reach the prefix.
  chmodSync(prefix, 0o755);
  writeFileSync(join(prefix, "convoy.conf"), siteConfig(upstreamPorts, listenPort));
  writeFileSync(
    join(prefix, "nginx.conf"),
    `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 1024; }
http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    # Tells the tests which instance served a response.
    add_header X-Convoy-Upstream $upstream_addr always;
    include ${prefix}/convoy.conf;
}
`,
  );
  const child = spawn(
    NGINX,
    ["-p", prefix, "-e", `${prefix}/error.log`, "-c", `${prefix}/nginx.conf`, "-g", "daemon off;"],
    {
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const errors = () => (existsSync(join(prefix, "error.log")) ? readFileSync(join(prefix, "error.log"), "utf8") : "");
  const url = `http://127.0.0.1:${listenPort}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${errors()}`);
    const ready = await fetch(`${url}/api/health`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() - started > 20_000) throw new Error(`nginx did not answer on ${url}:\n${errors()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    errors,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
