import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { Driver } from "../drivers/driver.js";
import { pgliteDriverOn } from "../drivers/pglite/pgliteDriver.js";

/**
 * Where the empty database cluster is kept between test runs: creating one (initdb)
 * takes seconds, loading the dumped one a fraction of that. Keyed by the installed
 * PGlite build, so an upgrade makes a new one.
 */
function clusterCacheFile(): string {
  let stamp = "unknown";
  try {
    const entry = createRequire(import.meta.url).resolve("@electric-sql/pglite");
    const stat = statSync(entry);
    stamp = `${stat.size}-${Math.floor(stat.mtimeMs)}`;
  } catch {
    // No stamp: the file name still works, it is only never refreshed.
  }
  return join(tmpdir(), `convoy-test-pglite-${stamp}.tar`);
}

async function openCluster(): Promise<PGlite> {
  const file = clusterCacheFile();
  if (existsSync(file)) {
    try {
      return await PGlite.create({ loadDataDir: new Blob([readFileSync(file)]), relaxedDurability: true });
    } catch {
      // A broken cache file: make a new cluster below and replace it.
    }
  }
  const db = await PGlite.create({ relaxedDurability: true });
  const dump = Buffer.from(await (await db.dumpDataDir("none")).arrayBuffer());
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, dump);
  renameSync(temporary, file);
  return db;
}

let shared: Promise<Driver> | undefined;

/**
 * The process's one in-memory PGlite that every `convoyTest` shares: each test gets its
 * own Postgres schema in it, so tests are isolated without paying a database start each.
 * @internal
 */
export function sharedPgliteDriver(): Promise<Driver> {
  shared ??= openCluster().then((db) => pgliteDriverOn(db, "convoy/test: in-memory PGlite"));
  shared.catch(() => (shared = undefined));
  return shared;
}
