import { sep } from "node:path";
import { watch } from "chokidar";

/** Stops a {@link watchSources} watcher. */
export type StopWatching = () => Promise<void>;

/**
 * Calls `onChange` on every change under `dir` except `_generated/`, including saves
 * that replace a file (editors writing a temporary file and renaming it, `sed -i`):
 * chokidar watches the folders and follows the new file, where `fs.watch` kept
 * watching the replaced one on Linux. Resolves once the watcher is ready.
 *
 * @example
 * const stop = await watchSources(project.dir, () => schedule());
 */
export async function watchSources(dir: string, onChange: () => void): Promise<StopWatching> {
  const generated = `${sep}_generated`;
  const watcher = watch(dir, {
    ignoreInitial: true,
    ignored: (path) =>
      path.includes(`${generated}${sep}`) || path.endsWith(generated) || path.includes(`${sep}node_modules`),
  });
  watcher.on("all", () => onChange());
  await new Promise<void>((resolve, reject) => {
    watcher.once("ready", () => resolve());
    watcher.once("error", reject);
  });
  watcher.on("error", () => {
    // A folder that vanished mid-scan; the next change is still seen.
  });
  return () => watcher.close();
}
