import { isConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import { canonicalJson } from "../store/canonicalJson.js";
import type { Read } from "../store/readSet.js";
import type { ConvoyRuntime } from "../server/convoyRuntime.js";
import type { Change } from "../store/documentChange.js";
import { ChangeFeed } from "./changeFeed.js";
import { changeTouchesRead } from "./readMatcher.js";
import { WatchIndex } from "./watchIndex.js";

/** What a watcher receives: a new result, or the error the query now throws. */
export type WatchUpdate = { value: unknown } | { error: { code: string; message: string; data?: unknown } };

/** A watcher's callback. */
export type WatchListener = (update: WatchUpdate) => void;

interface Watch {
  key: string;
  path: string;
  args: unknown;
  auth: UserIdentity | null;
  listeners: Set<WatchListener>;
  /** JSON of the last pushed update, to push only changes. */
  lastJson: string | undefined;
  lastUpdate: WatchUpdate | undefined;
  running: Promise<void> | null;
  dirty: boolean;
}

/** Change batches kept for runs in flight before they all just run again. */
const MAX_RECENT_BATCHES = 10_000;

/** Counters for tests and benchmarks. */
export interface LiveStats {
  watches: number;
  runs: number;
  pushes: number;
}

/** Options of {@link LiveQueryEngine}. */
export interface LiveQueryEngineOptions {
  runtime: ConvoyRuntime;
  /** Told about change-feed trouble. */
  onError?: (error: unknown) => void;
  /** @default 2000 */
  pollIntervalMs?: number;
}

/**
 * Keeps watched queries live. A watch is a (function, canonical args, identity) triple;
 * identical watches share one execution. Each run records what it read; a committed
 * change re-runs only the watches whose reads it touches, and a result is pushed only
 * when it differs from the last one. A change arriving during a run makes the watch
 * run once more after it, so after writes stop every watcher holds a fresh result.
 */
export class LiveQueryEngine {
  private readonly watches = new Map<string, Watch>();
  private readonly index = new WatchIndex<Watch>();
  private readonly feed: ChangeFeed;
  private readonly counters = { runs: 0, pushes: 0 };
  /**
   * Changes applied while runs are in flight, numbered: a run may have taken its snapshot
   * before they committed, and its new reads are not indexed yet, so each run checks the
   * ones applied since it started against what it read. Trimmed as runs finish.
   */
  private readonly recent: { seq: number; changes: Change[] }[] = [];
  private seq = 0;
  /** Start numbers of the runs in flight (a run per watch at a time). */
  private readonly runStarts = new Map<Watch, number>();
  private unsubscribeCommits: (() => void) | null = null;

  constructor(private readonly options: LiveQueryEngineOptions) {
    const runtime = options.runtime;
    this.feed = new ChangeFeed({
      driver: runtime.driver,
      schemaName: runtime.store.schemaName,
      onChanges: (changes) => this.applyChanges(changes),
      onReset: () => this.rerunAll(),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    });
  }

  async start(): Promise<void> {
    await this.feed.start();
    this.unsubscribeCommits = this.options.runtime.observeMutations({
      changeLogMode: () => this.feed.changeLogMode(),
      committed: (changes, mode) => {
        // This server's own writes: no need to read them back from the log.
        this.applyChanges(changes);
        this.feed.committed(mode);
      },
    });
  }

  async stop(): Promise<void> {
    this.unsubscribeCommits?.();
    await this.feed.stop();
    await Promise.all(this.runningWatches());
    for (const watch of this.watches.values()) this.index.delete(watch);
    this.watches.clear();
  }

  private runningWatches(): Promise<void>[] {
    return [...this.watches.values()].flatMap((watch) => (watch.running ? [watch.running] : []));
  }

  stats(): LiveStats {
    return { watches: this.watches.size, ...this.counters };
  }

  /** Resolves once every change read so far has been applied and every re-run is done. */
  async settled(): Promise<void> {
    for (;;) {
      await this.feed.settled();
      const running = this.runningWatches();
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  /** Throws NOT_FOUND / BAD_REQUEST unless `path` is a public query. */
  check(path: string): void {
    this.options.runtime.resolve(path, { kind: "query" });
  }

  /**
   * Watches the query at `path` with `args` as `auth`. The listener gets the current
   * result first, then every change. Throws (NOT_FOUND, BAD_REQUEST) if the path is not
   * a public query. Returns the function that stops watching.
   */
  watch(path: string, args: unknown, auth: UserIdentity | null, listener: WatchListener): () => void {
    this.check(path);
    const key = `${path}\u0000${canonicalJson(args ?? {})}\u0000${canonicalJson(auth)}`;
    let watch = this.watches.get(key);
    if (watch === undefined) {
      watch = {
        key,
        path,
        args: args ?? {},
        auth,
        listeners: new Set(),
        lastJson: undefined,
        lastUpdate: undefined,
        running: null,
        dirty: false,
      };
      this.watches.set(key, watch);
      watch.listeners.add(listener);
      this.schedule(watch);
    } else {
      watch.listeners.add(listener);
      if (watch.lastUpdate !== undefined) listener(watch.lastUpdate);
    }
    const current = watch;
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.watches.get(current.key) === current) {
        this.watches.delete(current.key);
        this.index.delete(current);
      }
    };
  }

  private applyChanges(changes: Change[]): void {
    if (this.runStarts.size > 0) {
      if (this.recent.length >= MAX_RECENT_BATCHES) {
        // Runs this slow under this many writes: run them all again rather than keep more.
        for (const running of this.runStarts.keys()) running.dirty = true;
        this.recent.length = 0;
      }
      this.recent.push({ seq: ++this.seq, changes });
    }
    const affected = new Set<Watch>();
    for (const change of changes) {
      for (const watch of this.index.candidates(change)) {
        if (affected.has(watch)) continue;
        if (this.index.readsOf(watch).some((read) => changeTouchesRead(change, read))) affected.add(watch);
      }
    }
    for (const watch of affected) this.schedule(watch);
  }

  /** Re-runs every watch (after a reconnect, or when `convoy dev` loads new code). */
  rerunAll(): void {
    for (const watch of this.watches.values()) this.schedule(watch);
  }

  private schedule(watch: Watch): void {
    if (watch.running) {
      watch.dirty = true;
      return;
    }
    watch.running = this.run(watch).finally(() => {
      watch.running = null;
      if (watch.dirty && this.watches.get(watch.key) === watch) {
        watch.dirty = false;
        this.schedule(watch);
      }
    });
  }

  private async run(watch: Watch): Promise<void> {
    watch.dirty = false;
    this.counters.runs++;
    const start = this.seq;
    this.runStarts.set(watch, start);
    try {
      await this.runOnce(watch, start);
    } finally {
      this.runStarts.delete(watch);
      this.trimRecent();
    }
  }

  /** Drops the changes every run in flight started after. */
  private trimRecent(): void {
    let oldest = Infinity;
    for (const start of this.runStarts.values()) oldest = Math.min(oldest, start);
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.seq <= oldest) drop++;
    if (drop > 0) this.recent.splice(0, drop);
  }

  /** True when a change applied since `start` touches one of `reads`. */
  private changedSince(start: number, reads: Read[]): boolean {
    for (const batch of this.recent) {
      if (batch.seq <= start) continue;
      for (const change of batch.changes) {
        if (reads.some((read) => changeTouchesRead(change, read))) return true;
      }
    }
    return false;
  }

  private async runOnce(watch: Watch, start: number): Promise<void> {
    const reads: Read[] = [];
    let update: WatchUpdate;
    try {
      const value = await this.options.runtime.call(watch.path, watch.args, {
        kind: "query",
        auth: watch.auth,
        onRead: (read) => reads.push(read),
      });
      update = { value: value === undefined ? null : value };
    } catch (error) {
      if (!isConvoyError(error) || error.code === "INTERNAL_SERVER_ERROR") {
        this.options.onError?.(error);
        update = { error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } };
      } else {
        update = {
          error: {
            code: error.code,
            message: error.message,
            ...(error.data !== undefined ? { data: error.data } : {}),
          },
        };
      }
    }
    if (this.watches.get(watch.key) !== watch) return;
    this.index.set(watch, reads);
    // Committed during the run, perhaps after its snapshot: run again after this one.
    if (this.changedSince(start, reads)) watch.dirty = true;
    const json = JSON.stringify(update);
    if (json === watch.lastJson) return;
    watch.lastJson = json;
    watch.lastUpdate = update;
    this.counters.pushes++;
    for (const listener of [...watch.listeners]) listener(update);
  }
}
