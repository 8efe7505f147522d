import { inOneSnapshot, ownSnapshot, type SnapshotScope } from "../drivers/snapshotScope.js";
import { isConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import { parseSnapshot, snapshotCovers, type Snapshot } from "../protocol/snapshotVersion.js";
import { canonicalJson } from "../store/canonicalJson.js";
import { lostDatabaseError } from "../store/lostDatabase.js";
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

/**
 * One step of a subscription: the new results of those of its watches that changed,
 * all read at the snapshot `version`; its other watches' last results hold at
 * `version` too. Sent with no updates when a waiter asked for a version (see
 * {@link LiveSubscription.await}).
 */
export interface Transition {
  /** The snapshot the results hold at, `xmin:xmax:xip,...` (see runtime/protocol/snapshotVersion.ts). */
  version: string;
  updates: { id: string; update: WatchUpdate }[];
  /** The mutations (see {@link LiveSubscription.showsWhen}) this transition is the first to show. */
  mutations: string[];
}

/** A set of watches that move together: one client's stream. */
export interface LiveSubscription {
  /** Adds watch `id` of the query at `path`; throws NOT_FOUND / BAD_REQUEST for a path that is not a public query. */
  add(id: string, path: string, args: unknown): void;
  /** Stops watch `id`. */
  remove(id: string): void;
  /**
   * Asks for a transition at a version that covers the committed transaction `position`
   * once every watch the commit touched shows it (an empty one when nothing changed).
   */
  await(position: string): void;
  /**
   * True when `position`, a commit this server just made, changed none of the
   * subscription's watches (none ran on it, none runs or waits to): what the client
   * shows already reflects it, so its mutation need not wait. False when unsure.
   */
  unaffectedBy(position: string): boolean;
  /**
   * Names mutation `mutationId`, committed at `position`, in the first transition whose
   * version covers it (its client drops the mutation's optimistic update then).
   */
  showsWhen(position: string, mutationId: string): void;
  /** Stops every watch. */
  close(): void;
}

interface Watch {
  key: string;
  path: string;
  args: unknown;
  auth: UserIdentity | null;
  /** The subscriptions holding it, with how many of their ids name it. */
  holders: Map<Subscriber, number>;
  update: WatchUpdate | undefined;
  /** JSON of `update`, to tell subscriptions only of changes. */
  json: string | undefined;
  /**
   * Positions of the changes that touched its reads after the snapshot its result was
   * read at (null: a change of unknown position). Empty: the result still holds.
   */
  marks: (string | null)[];
}

/** The changes applied while a round or a run alone goes on. */
interface ChangeCollector {
  changes: { change: Change; position: string | null }[];
  /** More than {@link MAX_ROUND_CHANGES}: the runs' watches just run again. */
  overflow: boolean;
}

interface Subscriber {
  auth: UserIdentity | null;
  entries: Map<string, Watch>;
  /** JSON of the last update sent for each id. */
  sent: Map<string, string>;
  /**
   * Positions a transition must cover (see {@link LiveSubscription.await}), with the
   * number of rounds begun when each was asked for: a round begun after it sees it.
   */
  awaiting: { position: string; asked: number }[];
  /** Mutations to name in the first transition that covers their position (see {@link LiveSubscription.showsWhen}). */
  mutations: { position: string; mutationId: string }[];
  /** Rounds in a row that could not send it a consistent transition. */
  held: number;
  /** The version of its last transition. */
  version: Snapshot | null;
  closed: boolean;
  onTransition: (transition: Transition) => void;
}

/** Changes kept while a round or a run alone goes on before its watches all just run again. */
const MAX_ROUND_CHANGES = 100_000;
/** Rounds a subscription may be held back before all of its watches run together. */
const MAX_HELD_ROUNDS = 3;
/** Mutations a subscription keeps to name in its transitions (older ones are only awaited). */
const MUTATIONS_NAMED = 100;
/** This server's recent commit positions remembered, so awaiting one needs no log read. */
const OWN_POSITIONS_KEPT = 10_000;

/** Counters for tests and benchmarks. */
export interface LiveStats {
  watches: number;
  runs: number;
  /** Results that differed from the watch's previous one. */
  pushes: number;
  /** Rounds of runs at one snapshot. */
  rounds: number;
  /** Transitions sent to subscriptions. */
  transitions: number;
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
 * Keeps watched queries live, with one consistent view per subscription. A watch is a
 * (function, canonical args, identity) triple; identical watches share one execution.
 * Each run records what it read; a committed change marks the watches whose reads it
 * touches.
 *
 * Marked watches re-run in rounds, every run of a round at one database snapshot S
 * (see `inOneSnapshot`). A subscription then gets one {@link Transition} at S with the
 * results of its watches that changed, but only once every one of its watches holds at
 * S: it ran at S, or no change S sees touched it since its own snapshot. When some
 * watches did not run, that is known only after the change feed has read every commit
 * S sees (own commits: after the store's commit barrier); until then, or when such a
 * change is found, the subscription waits for the next round, and after
 * {@link MAX_HELD_ROUNDS} all of its watches run together. Rounds run one at a time, so
 * a subscription's versions only move forward.
 *
 * A watch that only subscriptions of one query hold (a stream of one query, a tRPC
 * subscription) needs none of that: it runs alone as soon as a change marks it, beside
 * any round, in a read whose snapshot is read with its first statement, and its
 * subscriptions get their transition at that snapshot. One watch runs once at a time.
 */
export class LiveQueryEngine {
  private readonly watches = new Map<string, Watch>();
  private readonly index = new WatchIndex<Watch>();
  private readonly feed: ChangeFeed;
  private readonly counters = { runs: 0, pushes: 0, rounds: 0, transitions: 0 };
  /** Watches to run in the next round: marked, new, or forced. */
  private readonly marked = new Set<Watch>();
  /** Subscriptions with something to send (or a version to reach). */
  private readonly pending = new Set<Subscriber>();
  /** Changes applied while a round or a run alone goes on: its runs may have read before or after them. */
  private readonly collectors = new Set<ChangeCollector>();
  private round: Promise<void> | null = null;
  private roundAgain = false;
  private dispatchQueued = false;
  /** Watches running alone (see {@link runAlone}), and those runs. */
  private readonly running = new Set<Watch>();
  private readonly runsAlone = new Set<Promise<void>>();
  /** The watches the round in flight runs. */
  private readonly inRound = new Set<Watch>();
  private readonly ownPositions = new Set<string>();
  private unsubscribeCommits: (() => void) | null = null;
  private stopped = false;
  private forwardedAwaitHandler: ((streamId: string, position: string) => void) | null = null;

  constructor(private readonly options: LiveQueryEngineOptions) {
    const runtime = options.runtime;
    this.feed = new ChangeFeed({
      driver: runtime.driver,
      schemaName: runtime.store.schemaName,
      onChanges: (changes) => this.applyChanges(changes, null),
      onReset: () => this.rerunAll(),
      onAwait: (streamId, position) => this.forwardedAwaitHandler?.(streamId, position),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    });
  }

  async start(): Promise<void> {
    await this.feed.start();
    this.unsubscribeCommits = this.options.runtime.observeMutations({
      changeLogMode: () => this.feed.changeLogMode(),
      committed: (changes, mode, position) => {
        // This server's own writes: no need to read them back from the log.
        if (position !== null) this.rememberOwn(position);
        this.applyChanges(changes, position);
        this.feed.committed(mode);
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeCommits?.();
    await this.feed.stop();
    await this.idle();
    for (const watch of this.watches.values()) this.index.delete(watch);
    this.watches.clear();
    this.marked.clear();
    this.pending.clear();
  }

  stats(): LiveStats {
    return { watches: this.watches.size, ...this.counters };
  }

  /** Resolves once every change read so far has been applied and every round and run is done. */
  async settled(): Promise<void> {
    do await this.feed.settled();
    while (await this.idle());
  }

  /** Waits until no round and no run alone goes on; true if it had to wait. */
  private async idle(): Promise<boolean> {
    let waited = false;
    while (this.round !== null || this.runsAlone.size > 0) {
      waited = true;
      await Promise.all([this.round, ...this.runsAlone]);
    }
    return waited;
  }

  /**
   * Sends an `await` for a stream this server does not hold to the server that does,
   * over the database (a load balancer may send a stream's POST to any server).
   */
  forwardAwait(streamId: string, position: string): Promise<void> {
    return this.feed.forwardAwait(streamId, position);
  }

  /** Receives the `await`s other servers forward (see {@link forwardAwait}); one receiver. */
  onForwardedAwait(handler: (streamId: string, position: string) => void): void {
    this.forwardedAwaitHandler = handler;
  }

  /** Throws NOT_FOUND / BAD_REQUEST unless `path` is a public query. */
  check(path: string): void {
    this.options.runtime.resolve(path, { kind: "query" });
  }

  /**
   * Opens a subscription for `auth`: a set of watches whose changes arrive together, as
   * {@link Transition}s to `onTransition` (the first carries each watch's current result).
   * @example
   * ```ts
   * const subscription = engine.subscribe(null, (transition) => send(transition));
   * subscription.add("a", "accounts.balance", { name: "alice" });
   * ```
   */
  subscribe(auth: UserIdentity | null, onTransition: (transition: Transition) => void): LiveSubscription {
    const subscriber: Subscriber = {
      auth,
      entries: new Map(),
      sent: new Map(),
      awaiting: [],
      mutations: [],
      held: 0,
      version: null,
      closed: false,
      onTransition,
    };
    return {
      add: (id, path, args) => this.add(subscriber, id, path, args),
      remove: (id) => this.remove(subscriber, id),
      await: (position) => this.awaitPosition(subscriber, position),
      unaffectedBy: (position) => this.unaffected(subscriber, position),
      showsWhen: (position, mutationId) => this.nameWhenShown(subscriber, position, mutationId),
      close: () => {
        subscriber.closed = true;
        for (const id of [...subscriber.entries.keys()]) this.remove(subscriber, id);
        this.pending.delete(subscriber);
      },
    };
  }

  /**
   * Watches the query at `path` with `args` as `auth`, alone. The listener gets the
   * current result first, then every change. Throws (NOT_FOUND, BAD_REQUEST) if the
   * path is not a public query. Returns the function that stops watching.
   */
  watch(path: string, args: unknown, auth: UserIdentity | null, listener: WatchListener): () => void {
    const subscription = this.subscribe(auth, (transition) => {
      for (const { update } of transition.updates) listener(update);
    });
    subscription.add("0", path, args);
    return () => subscription.close();
  }

  private add(subscriber: Subscriber, id: string, path: string, args: unknown): void {
    this.check(path);
    if (subscriber.closed) return;
    this.remove(subscriber, id);
    const key = `${path}\u0000${canonicalJson(args ?? {})}\u0000${canonicalJson(subscriber.auth)}`;
    let watch = this.watches.get(key);
    if (watch === undefined) {
      watch = {
        key,
        path,
        args: args ?? {},
        auth: subscriber.auth,
        holders: new Map(),
        update: undefined,
        json: undefined,
        marks: [],
      };
      this.watches.set(key, watch);
      this.marked.add(watch);
    }
    watch.holders.set(subscriber, (watch.holders.get(subscriber) ?? 0) + 1);
    subscriber.entries.set(id, watch);
    this.pending.add(subscriber);
    this.requestRound();
  }

  private remove(subscriber: Subscriber, id: string): void {
    const watch = subscriber.entries.get(id);
    if (watch === undefined) return;
    subscriber.entries.delete(id);
    subscriber.sent.delete(id);
    const count = (watch.holders.get(subscriber) ?? 1) - 1;
    if (count > 0) {
      watch.holders.set(subscriber, count);
      return;
    }
    watch.holders.delete(subscriber);
    if (watch.holders.size === 0 && this.watches.get(watch.key) === watch) {
      this.watches.delete(watch.key);
      this.index.delete(watch);
      this.marked.delete(watch);
    }
  }

  private awaitPosition(subscriber: Subscriber, position: string): void {
    if (subscriber.closed) return;
    // Sent already (the transition may still be on its way to the client).
    if (subscriber.version !== null && snapshotCovers(subscriber.version, position)) return;
    subscriber.awaiting.push({ position, asked: this.counters.rounds });
    this.pending.add(subscriber);
    this.requestRound();
  }

  private unaffected(subscriber: Subscriber, position: string): boolean {
    // This server's commits mark the watches whose reads they touch as they commit: an
    // idle, unmarked watch was not touched. Another server's are read later.
    if (subscriber.closed || !this.ownPositions.has(position)) return false;
    for (const watch of subscriber.entries.values()) {
      const busy = this.marked.has(watch) || this.running.has(watch) || this.inRound.has(watch);
      if (busy || watch.update === undefined || watch.marks.length > 0) return false;
    }
    return true;
  }

  private nameWhenShown(subscriber: Subscriber, position: string, mutationId: string): void {
    // Shown already: its answer tells the client (the version it was sent covers it).
    if (subscriber.closed || (subscriber.version !== null && snapshotCovers(subscriber.version, position))) return;
    subscriber.mutations.push({ position, mutationId });
    if (subscriber.mutations.length > MUTATIONS_NAMED) subscriber.mutations.shift();
  }

  private rememberOwn(position: string): void {
    this.ownPositions.add(position);
    if (this.ownPositions.size > OWN_POSITIONS_KEPT) {
      this.ownPositions.delete(this.ownPositions.values().next().value!);
    }
  }

  /** Marks the watches `changes` touch; `position` is theirs when they came from one commit of this server. */
  private applyChanges(changes: Change[], position: string | null): void {
    for (const collector of this.collectors) {
      if (collector.changes.length + changes.length > MAX_ROUND_CHANGES) collector.overflow = true;
      else for (const change of changes) collector.changes.push({ change, position: change.position ?? position });
    }
    let any = false;
    for (const change of changes) {
      for (const watch of this.index.candidates(change)) {
        if (!this.index.readsOf(watch).some((read) => changeTouchesRead(change, read))) continue;
        watch.marks.push(change.position ?? position);
        this.marked.add(watch);
        any = true;
      }
    }
    if (any) this.requestRound();
  }

  /** Re-runs every watch (after a reconnect, or when `convoy dev` loads new code). */
  rerunAll(): void {
    for (const watch of this.watches.values()) {
      watch.marks.push(null);
      this.marked.add(watch);
    }
    this.requestRound();
  }

  /** Starts what marks and pending subscriptions call for, once the calls of this tick are in. */
  private requestRound(): void {
    if (this.stopped || this.dispatchQueued) return;
    this.dispatchQueued = true;
    // Let the calls of this tick (a page adding ten watches) join.
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  /**
   * Starts each marked watch that only subscriptions of one query hold on a run of its
   * own, at once; anything else goes to the next round (rounds run one at a time).
   */
  private dispatch(): void {
    if (this.stopped) return;
    for (const watch of this.marked) {
      if (!this.running.has(watch) && this.runsAloneNow(watch)) this.runAlone(watch);
    }
    if (!this.roundWork()) return;
    if (this.round !== null) {
      this.roundAgain = true;
      return;
    }
    this.round = this.runRound()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => {
        this.round = null;
        const again = this.roundAgain;
        this.roundAgain = false;
        if (again || this.roundWork()) this.requestRound();
      });
  }

  /** True when a round has something to do: a marked watch to run, or a subscription it can settle. */
  private roundWork(): boolean {
    for (const watch of this.marked) if (this.takesRound(watch)) return true;
    for (const subscriber of this.pending) if (!this.waitsOnRun(subscriber)) return true;
    return false;
  }

  /** True when marked `watch` waits for a round: it is not running alone now, nor may it start to. */
  private takesRound(watch: Watch): boolean {
    return !this.running.has(watch) && !this.runsAloneNow(watch);
  }

  /**
   * True when every subscription holding `watch` holds that query alone (a stream of one
   * query, a tRPC subscription; see {@link holdsOneQuery}): each is then consistent at the
   * watch's own snapshot, so the watch runs alone, as soon as it is marked, with no
   * shared snapshot, no log read and no commit barrier, beside any round.
   */
  private runsAloneNow(watch: Watch): boolean {
    for (const subscriber of watch.holders.keys()) if (!this.holdsOneQuery(subscriber)) return false;
    return true;
  }

  /**
   * True when `subscriber` holds one query and waits for no position of another
   * server's: this server's commits mark their watches as they commit, so a run begun
   * after one sees it, and the run's own snapshot settles the wait.
   */
  private holdsOneQuery(subscriber: Subscriber): boolean {
    if (subscriber.awaiting.some(({ position }) => !this.ownPositions.has(position))) return false;
    let only: Watch | undefined;
    for (const watch of subscriber.entries.values()) {
      if (only !== undefined && only !== watch) return false;
      only = watch;
    }
    return true;
  }

  /** True when one of `subscriber`'s watches is running alone: it is settled once that run ends. */
  private waitsOnRun(subscriber: Subscriber): boolean {
    for (const watch of subscriber.entries.values()) if (this.running.has(watch)) return true;
    return false;
  }

  /** Runs the marked watches at one snapshot and sends every subscription that holds there its transition. */
  private async runRound(): Promise<void> {
    if (this.awaitsOthers()) await this.feed.caughtUp();
    // Watches running alone stay marked until their runs end; those that may run alone are left to them.
    const batch = [...this.marked].filter((watch) => this.takesRound(watch));
    for (const watch of batch) {
      this.marked.delete(watch);
      watch.marks = [];
      this.inRound.add(watch);
    }
    try {
      if (batch.length > 0 || this.roundWork()) await this.runBatch(batch);
    } finally {
      this.inRound.clear();
    }
  }

  /** Runs `batch` at one snapshot and settles the pending subscriptions there. */
  private async runBatch(batch: Watch[]): Promise<void> {
    this.counters.rounds++;
    const collector = this.collect();
    let snapshot: Snapshot | null = null;
    try {
      await this.options.runtime.store.prepare();
      await inOneSnapshot(this.options.runtime.driver, async (scope) => {
        const at = parseSnapshot(scope.snapshot)!;
        snapshot = at;
        // Commits this server was making when the snapshot was taken, and (read beside the
        // runs, in the scope's own transaction) every logged commit the snapshot sees:
        // once both are applied, a watch that did not run holds at the snapshot unless
        // one of them marked it.
        const barrier = this.options.runtime.store.commitBarrier();
        const logRead = this.feed.readAt(scope.sql);
        await Promise.all(batch.map((watch) => this.run(watch, scope)));
        await logRead;
        await barrier;
        this.collectors.delete(collector);
        for (const watch of batch) this.markRunChanges(watch, at, collector);
        // Sent before the scope closes: its COMMIT is no reason to wait.
        for (const subscriber of [...this.pending]) if (!this.waitsOnRun(subscriber)) this.settle(subscriber, at);
      });
    } catch (error) {
      this.collectors.delete(collector);
      if (snapshot === null) {
        // No snapshot (the database is out of reach): the watches report what their queries would.
        // They run again when a change touches them or the feed reconnects, as any failed run.
        for (const watch of batch) this.failWatch(watch, error);
        for (const subscriber of [...this.pending]) if (!this.waitsOnRun(subscriber)) this.sendUncheckedTo(subscriber);
        return;
      }
      // The round was done; only closing the scope failed.
      this.options.onError?.(error);
    }
  }

  /** Starts collecting the changes applied from now on (until deleted from {@link collectors}). */
  private collect(): ChangeCollector {
    const collector: ChangeCollector = { changes: [], overflow: false };
    this.collectors.add(collector);
    return collector;
  }

  /**
   * Runs `watch` in a read of its own, then settles the subscriptions holding it at that
   * read's snapshot (those that now hold other queries too wait for the next round).
   */
  private runAlone(watch: Watch): void {
    this.marked.delete(watch);
    watch.marks = [];
    this.running.add(watch);
    const collector = this.collect();
    const run = (async () => {
      let at: Snapshot | null = null;
      try {
        const alone = ownSnapshot(this.options.runtime.driver);
        await this.options.runtime.store.prepare();
        await this.run(watch, alone);
        at = parseSnapshot(await alone.snapshot());
      } catch (error) {
        this.failWatch(watch, error);
      } finally {
        this.collectors.delete(collector);
        this.running.delete(watch);
      }
      if (at !== null) this.markRunChanges(watch, at, collector);
      for (const subscriber of watch.holders.keys()) {
        if (!this.holdsOneQuery(subscriber)) this.pending.add(subscriber);
        else if (at !== null) this.settle(subscriber, at);
        else this.sendUncheckedTo(subscriber);
      }
      this.requestRound();
    })()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => this.runsAlone.delete(run));
    this.runsAlone.add(run);
  }

  /** A run that could not read (the database is out of reach): its watchers get what its query would report. */
  private failWatch(watch: Watch, error: unknown): void {
    const update = errorUpdate(lostDatabaseError(error, "query", false), this.options.onError);
    if (this.watches.get(watch.key) === watch) this.setResult(watch, update);
  }

  /** True when a subscription waits for a commit this server did not make (the feed must read it). */
  private awaitsOthers(): boolean {
    for (const subscriber of this.pending) {
      if (subscriber.awaiting.some(({ position }) => !this.ownPositions.has(position))) return true;
    }
    return false;
  }

  /**
   * Settles the marks of a watch that just ran at `at`: marks of changes `at` sees are
   * reflected in its new result and dropped (changes applied during the run marked it
   * through its previous reads); the changes `collector` caught during the run that
   * `at` does not see, and that touch its new reads, mark it.
   */
  private markRunChanges(watch: Watch, at: Snapshot, collector: ChangeCollector): void {
    watch.marks = watch.marks.filter((position) => position === null || !snapshotCovers(at, position));
    if (collector.overflow) watch.marks.push(null);
    else {
      const reads = this.index.readsOf(watch);
      for (const { change, position } of collector.changes) {
        if (position !== null && snapshotCovers(at, position)) continue;
        if (reads.some((read) => changeTouchesRead(change, read))) watch.marks.push(position);
      }
    }
    if (watch.marks.length > 0 && this.watches.get(watch.key) === watch) this.marked.add(watch);
    else this.marked.delete(watch);
  }

  /** Sends `subscriber` its transition at `at` when all of its watches hold there; else holds it back. */
  private settle(subscriber: Subscriber, at: Snapshot): void {
    if (subscriber.closed) {
      this.pending.delete(subscriber);
      return;
    }
    for (const watch of subscriber.entries.values()) {
      const holds =
        watch.update !== undefined &&
        !watch.marks.some((position) => position === null || snapshotCovers(at, position));
      if (holds) continue;
      if (++subscriber.held >= MAX_HELD_ROUNDS) {
        for (const held of subscriber.entries.values()) this.marked.add(held);
      }
      return;
    }
    subscriber.held = 0;
    const awaited = subscriber.awaiting.length > 0;
    // A position a round begun after it does not see is none of this database's commits: dropped.
    const round = this.counters.rounds;
    subscriber.awaiting = subscriber.awaiting.filter(
      ({ position, asked }) => asked >= round && !snapshotCovers(at, position),
    );
    if (subscriber.awaiting.length === 0) this.pending.delete(subscriber);
    const updates = this.changedEntries(subscriber);
    // Named only in a transition that is sent anyway; else their answers tell the client.
    const shown = subscriber.mutations.filter(({ position }) => snapshotCovers(at, position));
    if (shown.length > 0) subscriber.mutations = subscriber.mutations.filter((named) => !shown.includes(named));
    if (updates.length === 0 && !awaited) return;
    subscriber.version = at;
    this.counters.transitions++;
    subscriber.onTransition({ version: at.text, updates, mutations: shown.map(({ mutationId }) => mutationId) });
  }

  /**
   * After a run with no snapshot: sends what changed at the subscription's last
   * version, and lets its waiters go (the client stops waiting when told nothing).
   */
  private sendUncheckedTo(subscriber: Subscriber): void {
    this.pending.delete(subscriber);
    subscriber.awaiting = [];
    const updates = subscriber.closed ? [] : this.changedEntries(subscriber);
    if (updates.length === 0) return;
    this.counters.transitions++;
    subscriber.onTransition({ version: subscriber.version?.text ?? "0:0:", updates, mutations: [] });
  }

  /** The updates of `subscriber`'s watches not sent to it yet, now recorded as sent. */
  private changedEntries(subscriber: Subscriber): { id: string; update: WatchUpdate }[] {
    const updates: { id: string; update: WatchUpdate }[] = [];
    for (const [id, watch] of subscriber.entries) {
      if (watch.update === undefined || subscriber.sent.get(id) === watch.json) continue;
      subscriber.sent.set(id, watch.json!);
      updates.push({ id, update: watch.update });
    }
    return updates;
  }

  private async run(watch: Watch, scope: Pick<SnapshotScope, "transaction">): Promise<void> {
    this.counters.runs++;
    const reads: Read[] = [];
    let update: WatchUpdate;
    try {
      const value = await this.options.runtime.call(watch.path, watch.args, {
        kind: "query",
        auth: watch.auth,
        onRead: (read) => reads.push(read),
        scope,
      });
      update = { value: value === undefined ? null : value };
    } catch (error) {
      update = errorUpdate(error, this.options.onError);
    }
    if (this.watches.get(watch.key) !== watch) return;
    this.index.set(watch, reads);
    this.setResult(watch, update);
  }

  private setResult(watch: Watch, update: WatchUpdate): void {
    const json = JSON.stringify(update);
    if (json === watch.json) return;
    watch.json = json;
    watch.update = update;
    this.counters.pushes++;
    for (const subscriber of watch.holders.keys()) this.pending.add(subscriber);
  }
}

/** A query's error as watchers see it: its own code and message, or an opaque internal error. */
function errorUpdate(error: unknown, onError: ((error: unknown) => void) | undefined): WatchUpdate {
  if (!isConvoyError(error) || error.code === "INTERNAL_SERVER_ERROR") {
    onError?.(error);
    return { error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } };
  }
  return {
    error: { code: error.code, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) },
  };
}
