import { ConvoyError, isConvoyError } from "../errors.js";
import {
  LIVE_PROTOCOL_VERSION,
  LiveEvent,
  PROTOCOL_PARAM,
  UPGRADE_REQUIRED,
  parseQueryError,
  parseReady,
  parseTransition,
  protocolErrorWatch,
  type SubscribeChange,
  type WatchRequest,
  type WireError,
} from "../protocol/liveProtocol.js";
import { parseSnapshot, snapshotCovers, type Snapshot } from "../protocol/snapshotVersion.js";

/** The EventSource constructor the client uses (by default Convoy's fetch-based reader). */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean; fetch?: typeof fetch },
) => EventSourceLike;

/**
 * An event of a stream. A refused or dropped stream's `error` event may carry the
 * HTTP status as `code` and the server's answer as `message`.
 */
export interface StreamEvent {
  data?: unknown;
  code?: number;
  message?: string;
}

/** The part of EventSource the client needs. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: StreamEvent) => void): void;
  close(): void;
}

/** One `client.watch`: which stream holds it moves when a stream is full. @internal */
export interface ClientWatch {
  id: string;
  path: string;
  args: unknown;
  onUpdate: (value: unknown) => void;
  onError: ((error: ConvoyError) => void) | undefined;
  lastJson: string | undefined;
}

/** Options of {@link WatchStream}. */
export interface WatchStreamOptions {
  url: string;
  EventSource: EventSourceConstructor;
  fetch: typeof fetch;
  headers: () => Promise<Record<string, string>>;
  /** Takes watches this stream has no room for (the server's `maxWatches`), to place them on another. */
  overflow: (watches: ClientWatch[]) => void;
  /** Runs the delivery of one transition's results (see `ConvoyClientOptions.batch`). */
  batch: (apply: () => void) => void;
  /** Told, inside the transition's `batch`, the ids of the mutations a transition is the first to show. */
  onMutationsShown?: (mutationIds: string[]) => void;
}

/** How long a mutation waits at most for its stream to show it before resolving anyway. */
const AWAIT_LIMIT_MS = 10_000;

/** Watches a stream takes until the server says its limit (in `ready`). */
const ASSUMED_MAX_WATCHES = 256;
/** Watches named in the opening URL stay within this many characters; the rest are added by POST. */
const URL_BUDGET = 4000;

/** The `?protocol=<n>` every request of a stream carries. */
const PROTOCOL_QUERY = `${PROTOCOL_PARAM}=${LIVE_PROTOCOL_VERSION}`;

/** A watch's request on the wire. */
function describe(watch: ClientWatch): WatchRequest {
  return { id: watch.id, path: watch.path, args: watch.args };
}

/** True for the server's "this stream is full" refusal (not a query's own TOO_MANY_REQUESTS). */
function isStreamFull(error: WireError): boolean {
  return (
    error.code === "TOO_MANY_REQUESTS" &&
    typeof (error.data as { maxWatches?: unknown } | undefined)?.maxWatches === "number"
  );
}

/** The error a refused stream means for its watches: the server's own when it sent one. */
function refusal(status: number, body: string, url: string): ConvoyError {
  try {
    const { error } = JSON.parse(body) as { error?: Partial<WireError> };
    if (error?.code && error.message)
      return new ConvoyError({ code: error.code, message: error.message, data: error.data });
  } catch {
    // Not Convoy's JSON: a proxy's page, or a client that does not pass the body on.
  }
  if (status === 426) {
    return new ConvoyError({
      code: UPGRADE_REQUIRED,
      message: `The server at ${url} does not speak this client's live protocol (${LIVE_PROTOCOL_VERSION}): reload the page, or use the same convoy version on client and server`,
      data: { clientProtocol: LIVE_PROTOCOL_VERSION },
    });
  }
  if (status === 429) {
    return new ConvoyError({
      code: "TOO_MANY_REQUESTS",
      message: `The server at ${url} refused a live stream (429): this client (or its address) holds as many streams as allowed. Close other tabs, or raise the server's limit`,
    });
  }
  return new ConvoyError({
    code: status === 401 ? "UNAUTHORIZED" : status === 403 ? "FORBIDDEN" : `HTTP_${status}`,
    message: `The server at ${url} refused the live stream with HTTP ${status}`,
  });
}

/**
 * The client side of one `GET /api/subscribe` stream, carrying up to the server's
 * `maxWatches` watches. Watches added later go to the open stream with a POST; after a
 * dropped connection the stream is reopened with backoff, carrying every current watch,
 * and only results that changed are delivered. A stream the server refuses (429 too
 * many streams, 401) reports the refusal to every watch once, then keeps retrying; one
 * refused for speaking another protocol version (426) reports it and stops for good.
 * A malformed event is reported to its watch (or all), never applied.
 * @internal
 */
export class WatchStream {
  private readonly watches = new Map<string, ClientWatch>();
  private source: EventSourceLike | null = null;
  private streamId: string | null = null;
  private retryDelay = 250;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** Whether the current run of failures was reported to the watches already. */
  private reported = false;
  private closed = false;
  /** Why this stream can never open (the server speaks another protocol version). */
  private refusedForGood: ConvoyError | null = null;
  /** Changes waiting for this tick's POST. */
  private readonly adding = new Set<string>();
  private readonly removing = new Set<string>();
  private flushing = false;
  /** Watches this stream may hold (the server's `maxWatches` once known). */
  capacity = ASSUMED_MAX_WATCHES;
  /** The version of the last transition applied on the current connection. */
  private version: Snapshot | null = null;
  /** Mutations waiting for a transition that covers their position. */
  private readonly waiters = new Set<{ position: string; done: () => void }>();

  constructor(private readonly options: WatchStreamOptions) {}

  /** Watches held now. */
  get size(): number {
    return this.watches.size;
  }

  add(watch: ClientWatch): void {
    this.watches.set(watch.id, watch);
    if (this.refusedForGood) watch.onError?.(this.refusedForGood);
    else if (this.source === null && this.retryTimer === null) this.open();
    else if (this.streamId !== null) this.change(watch.id, "add");
    // Without a stream id yet, the stream is opening: `ready` sends pending watches.
  }

  /** Stops a watch; the last one closes the stream. */
  remove(id: string): void {
    if (!this.watches.delete(id)) return;
    if (this.watches.size === 0) this.stop();
    else if (this.streamId !== null) this.change(id, "remove");
  }

  /** Queues a change for the stream; the changes of one tick (a page mounting ten hooks) go in one POST. */
  private change(id: string, kind: "add" | "remove"): void {
    if (kind === "add") this.adding.add(id);
    else if (!this.adding.delete(id)) this.removing.add(id);
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => {
      this.flushing = false;
      const add = [...this.adding].flatMap((added) => this.watches.get(added) ?? []).map(describe);
      const remove = [...this.removing];
      this.adding.clear();
      this.removing.clear();
      if (this.streamId === null || (add.length === 0 && remove.length === 0)) return;
      void this.post({ ...(add.length > 0 ? { add } : {}), ...(remove.length > 0 ? { remove } : {}) });
    });
  }

  private open(): void {
    const initial: ReturnType<typeof describe>[] = [];
    let length = 0;
    for (const watch of this.watches.values()) {
      const described = describe(watch);
      length += encodeURIComponent(JSON.stringify(described)).length + 3;
      if (initial.length > 0 && (length > URL_BUDGET || initial.length >= this.capacity)) break;
      initial.push(described);
    }
    const url = `${this.options.url}/api/subscribe?${PROTOCOL_QUERY}&watches=${encodeURIComponent(JSON.stringify(initial))}`;
    const sent = new Set(initial.map((watch) => watch.id));
    const source = new this.options.EventSource(url, {
      withCredentials: true,
      fetch: async (input, init) =>
        this.options.fetch(input, {
          ...init,
          headers: { ...(init?.headers as object), ...(await this.options.headers()) },
        }),
    });
    this.source = source;
    source.addEventListener(LiveEvent.ready, (event) => {
      if (this.source !== source) return;
      let ready;
      try {
        ready = parseReady(String(event.data));
      } catch (error) {
        // Without a stream id the stream is of no use: say why, and open another.
        this.report(error as ConvoyError);
        this.reconnect();
        return;
      }
      this.streamId = ready.streamId;
      this.version = null;
      this.capacity = ready.maxWatches;
      this.retryDelay = 250;
      this.reported = false;
      const pending = [...this.watches.values()].filter((watch) => !sent.has(watch.id));
      const room = Math.max(0, this.capacity - sent.size);
      this.moveOut(pending.slice(room));
      if (room > 0 && pending.length > 0) void this.post({ add: pending.slice(0, room).map(describe) });
      for (const position of new Set([...this.waiters].map((waiter) => waiter.position))) {
        void this.post({ await: position });
      }
    });
    source.addEventListener(LiveEvent.transition, (event) => {
      if (this.source !== source) return;
      let message;
      try {
        message = parseTransition(String(event.data));
      } catch (error) {
        this.malformed(error);
        return;
      }
      this.options.batch(() => {
        for (const result of message.results) {
          const watch = this.watches.get(result.id);
          if (watch === undefined) continue;
          if ("error" in result) {
            watch.lastJson = undefined;
            watch.onError?.(new ConvoyError(result.error));
            continue;
          }
          const json = JSON.stringify(result.value);
          if (json === watch.lastJson) continue;
          watch.lastJson = json;
          watch.onUpdate(result.value);
        }
        if (message.mutations !== undefined && message.mutations.length > 0) {
          this.options.onMutationsShown?.(message.mutations);
        }
      });
      this.version = parseSnapshot(message.version);
      for (const waiter of [...this.waiters]) {
        if (this.version !== null && snapshotCovers(this.version, waiter.position)) waiter.done();
      }
    });
    source.addEventListener(LiveEvent.queryError, (event) => {
      if (this.source !== source) return;
      let message;
      try {
        message = parseQueryError(String(event.data));
      } catch (error) {
        this.malformed(error);
        return;
      }
      const { id, error } = message;
      const watch = this.watches.get(id);
      if (watch === undefined) return;
      if (isStreamFull(error)) {
        this.capacity = (error.data as { maxWatches: number }).maxWatches;
        this.moveOut([watch]);
        return;
      }
      watch.lastJson = undefined;
      watch.onError?.(new ConvoyError(error));
    });
    source.addEventListener("error", (event) => {
      if (this.source !== source) return;
      // An answer other than a stream (429, 401, 403, ...): the app learns why.
      if (typeof event.code === "number" && event.code >= 400 && event.code < 500) {
        const error = refusal(event.code, event.message ?? "", this.options.url);
        if (event.code === 426) return this.refuseForGood(error);
        this.report(error);
      }
      this.reconnect();
    });
  }

  /** The server's id of this stream, once open. */
  get id(): string | null {
    return this.streamId;
  }

  /**
   * Resolves once this stream has applied a transition whose version covers `position`
   * (a mutation's commit): every watch the commit touched then shows it. Resolves at
   * once without watches, and when the stream drops or stays silent for
   * {@link AWAIT_LIMIT_MS} (its watches then report their own trouble).
   */
  reached(position: string, unaffected: readonly string[] = []): Promise<void> {
    if (this.watches.size === 0 || this.closed || this.refusedForGood) return Promise.resolve();
    // The server that made the commit holds this stream, and the commit changed none of its watches.
    if (this.streamId !== null && unaffected.includes(this.streamId)) return Promise.resolve();
    if (this.version !== null && snapshotCovers(this.version, position)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => waiter.done(), AWAIT_LIMIT_MS);
      const waiter = {
        position,
        done: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      this.waiters.add(waiter);
      if (this.streamId !== null) void this.post({ await: position });
      // Still opening: `ready` sends it.
    });
  }

  /** Lets every waiting mutation go (the stream dropped or closed). */
  private releaseWaiters(): void {
    for (const waiter of [...this.waiters]) waiter.done();
  }

  /** Reports a message that is not the protocol's to the watch it names, or to all. */
  private malformed(error: unknown): void {
    const reason = isConvoyError(error) ? error : new ConvoyError({ code: "PROTOCOL_ERROR", message: String(error) });
    const id = protocolErrorWatch(reason);
    const watches = id === undefined ? [...this.watches.values()] : [this.watches.get(id) ?? []].flat();
    for (const watch of watches) {
      watch.lastJson = undefined;
      watch.onError?.(reason);
    }
  }

  /** The server speaks another protocol version: every watch learns it once, and no retry follows. */
  private refuseForGood(error: ConvoyError): void {
    this.refusedForGood = error;
    this.stop();
    for (const watch of [...this.watches.values()]) watch.onError?.(error);
  }

  /** Tells every watch why the stream is refused, once per run of failures. */
  private report(error: ConvoyError): void {
    if (this.reported) return;
    this.reported = true;
    for (const watch of [...this.watches.values()]) {
      // The next result, once the stream is back, is delivered even if unchanged.
      watch.lastJson = undefined;
      watch.onError?.(error);
    }
  }

  /** Hands watches this stream has no room for to another stream. */
  private moveOut(watches: ClientWatch[]): void {
    if (watches.length === 0) return;
    for (const watch of watches) this.watches.delete(watch.id);
    this.options.overflow(watches);
  }

  /** Drops the current stream and opens a new one with every current watch, after a backoff. */
  private reconnect(): void {
    // The new stream opens with every current watch.
    this.adding.clear();
    this.removing.clear();
    this.source?.close();
    this.source = null;
    this.streamId = null;
    this.version = null;
    this.releaseWaiters();
    if (this.closed || this.watches.size === 0 || this.retryTimer !== null) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.watches.size > 0 && this.source === null) this.open();
    }, delay);
  }

  private async post(body: SubscribeChange): Promise<void> {
    const streamId = this.streamId;
    if (streamId === null) return;
    try {
      const response = await this.options.fetch(`${this.options.url}/api/subscribe/${streamId}?${PROTOCOL_QUERY}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await this.options.headers()) },
        body: JSON.stringify(body),
      });
      if (response.ok) return;
      const text = await response.text();
      if (response.status === 426) return this.refuseForGood(refusal(426, text, this.options.url));
      const { error } = JSON.parse(text) as { error: WireError };
      // A stream the server forgot (it restarted): start over with every watch.
      if (response.status === 404 && this.streamId === streamId) return this.reconnect();
      const added = (body.add ?? []).flatMap((item) => this.watches.get(item.id) ?? []);
      if (isStreamFull(error)) {
        this.capacity = (error.data as { maxWatches: number }).maxWatches;
        this.moveOut(added);
        return;
      }
      for (const watch of added) watch.onError?.(new ConvoyError(error));
    } catch {
      if (this.streamId === streamId) this.reconnect();
    }
  }

  private stop(): void {
    this.releaseWaiters();
    this.adding.clear();
    this.removing.clear();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.source?.close();
    this.source = null;
    this.streamId = null;
  }

  /** Ends every watch and the stream. */
  close(): void {
    this.closed = true;
    this.watches.clear();
    this.stop();
  }
}

/**
 * All of a client's watches: on one stream while they fit (the server's `maxWatches`,
 * 256 by default), on another stream for the ones beyond. A stream is opened with its
 * first watch and closed with its last.
 * @internal
 */
export class WatchStreams {
  private readonly streams: WatchStream[] = [];
  private readonly holder = new Map<string, WatchStream>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: Omit<WatchStreamOptions, "overflow">) {}

  /**
   * Resolves once every stream shows the commit at `position` (see {@link WatchStream.reached});
   * at once for the `unaffected` ones, whose watches the commit changed none of.
   */
  async reached(position: string, unaffected: readonly string[] = []): Promise<void> {
    await Promise.all(this.streams.map((stream) => stream.reached(position, unaffected)));
  }

  /** The ids of the streams open now, for a mutation to name (see {@link reached}). */
  get ids(): string[] {
    return this.streams.flatMap((stream) => (stream.id === null ? [] : [stream.id]));
  }

  /** Streams open (or opening) now. */
  get size(): number {
    return this.streams.length;
  }

  watch(
    path: string,
    args: unknown,
    onUpdate: (value: unknown) => void,
    onError?: (error: ConvoyError) => void,
  ): () => void {
    if (this.closed)
      throw new ConvoyError({ code: "BAD_REQUEST", message: "This client was closed; create a new one" });
    const watch: ClientWatch = {
      id: `w${this.nextId++}`,
      path,
      args: args ?? {},
      onUpdate,
      onError,
      lastJson: undefined,
    };
    this.place([watch]);
    return () => this.unwatch(watch.id);
  }

  private place(watches: ClientWatch[]): void {
    for (const watch of watches) {
      let stream = this.streams.find((candidate) => candidate.size < candidate.capacity);
      if (stream === undefined) {
        const created = new WatchStream({ ...this.options, overflow: (moved) => this.place(moved) });
        // A new stream takes the limit its siblings learned.
        if (this.streams[0]) created.capacity = this.streams[0].capacity;
        this.streams.push(created);
        stream = created;
      }
      this.holder.set(watch.id, stream);
      stream.add(watch);
    }
  }

  private unwatch(id: string): void {
    const stream = this.holder.get(id);
    if (stream === undefined) return;
    this.holder.delete(id);
    stream.remove(id);
    if (stream.size === 0) this.streams.splice(this.streams.indexOf(stream), 1);
  }

  /** Ends every watch and stream. */
  close(): void {
    this.closed = true;
    for (const stream of this.streams) stream.close();
    this.streams.length = 0;
    this.holder.clear();
  }
}
