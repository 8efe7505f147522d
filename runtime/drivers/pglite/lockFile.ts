import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { ConvoyError } from "../../errors.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock file that keeps a second process from opening the same PGlite folder
 * (PGlite itself would let it, and both would lose data). A lock left by a dead
 * process is taken over. Returns a function that releases the lock.
 * @internal
 */
export function acquireLockFile(path: string, folder: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off("exit", release);
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
      process.on("exit", release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new ConvoyError({
          code: "CONFLICT",
          message: `The embedded database in ${folder} is in use by process ${holder}${holder === process.pid ? " (this process: close the other handle first)" : ""}. Stop that process, or set DATABASE_URL to use a Postgres server that many processes can share.`,
        });
      }
      unlinkSync(path);
    }
  }
  throw new ConvoyError({
    code: "CONFLICT",
    message: `Could not take the lock file ${path}; another process keeps creating it`,
  });
}
