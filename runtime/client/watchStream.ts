import { ConvoyError } from "../errors.js";

/** The EventSource constructor the client uses (browsers have one; in Node 20 pass the `eventsource` package's). */
export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean; fetch?: typeof fetch },
) => EventSourceLike;

/** The part of EventSource the client needs. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data?: unknown }) => void): void;
  close(): void;
}

interface ClientWatch {
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
}

/**
 * The client side of `GET /api/subscribe`: one stream for all of a client's watches,
 * opened on the first watch and closed with the last. Watches added later go to the
 * open stream with a POST; after a dropped connection the stream is reopened with
 * backoff, carrying every current watch, and only results that changed are delivered.
 * @internal
 */
export class WatchStream {
  private readonly watches = new Map<string, ClientWatch>();
  private source: EventSourceLike | null = null;
  private streamId: string | null = null;
  private nextId = 0;
  private retryDelay = 250;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(private readonly options: WatchStreamOptions) {}

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
    this.watches.set(watch.id, watch);
    if (this.source === null) this.open();
    else if (this.streamId !== null) void this.post({ add: [this.describe(watch)] });
    // Without a stream id yet, the stream is opening: `ready` sends pending watches.
    return () => this.unwatch(watch.id);
  }

  private unwatch(id: string): void {
    if (!this.watches.delete(id)) return;
    if (this.watches.size === 0) {
      this.stop();
      return;
    }
    if (this.streamId !== null) void this.post({ remove: [id] });
  }

  private describe(watch: ClientWatch): { id: string; path: string; args: unknown } {
    return { id: watch.id, path: watch.path, args: watch.args };
  }

  private open(): void {
    const initial = [...this.watches.values()].map((watch) => this.describe(watch));
    const url = `${this.options.url}/api/subscribe?watches=${encodeURIComponent(JSON.stringify(initial))}`;
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
    source.addEventListener("ready", (event) => {
      if (this.source !== source) return;
      this.streamId = (JSON.parse(String(event.data)) as { streamId: string }).streamId;
      this.retryDelay = 250;
      const pending = [...this.watches.values()].filter((watch) => !sent.has(watch.id));
      if (pending.length > 0) void this.post({ add: pending.map((watch) => this.describe(watch)) });
    });
    source.addEventListener("result", (event) => {
      const { id, value } = JSON.parse(String(event.data)) as { id: string; value: unknown };
      const watch = this.watches.get(id);
      if (watch === undefined) return;
      const json = JSON.stringify(value);
      if (json === watch.lastJson) return;
      watch.lastJson = json;
      watch.onUpdate(value);
    });
    source.addEventListener("queryError", (event) => {
      const { id, error } = JSON.parse(String(event.data)) as {
        id: string;
        error: { code: string; message: string; data?: unknown };
      };
      const watch = this.watches.get(id);
      if (watch === undefined) return;
      watch.lastJson = undefined;
      watch.onError?.(new ConvoyError(error));
    });
    source.addEventListener("error", () => {
      if (this.source !== source) return;
      this.reconnect();
    });
  }

  /** Drops the current stream and opens a new one with every current watch, after a backoff. */
  private reconnect(): void {
    this.source?.close();
    this.source = null;
    this.streamId = null;
    if (this.closed || this.watches.size === 0 || this.retryTimer !== null) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 5000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && this.watches.size > 0 && this.source === null) this.open();
    }, delay);
  }

  private async post(body: { add?: unknown[]; remove?: string[] }): Promise<void> {
    const streamId = this.streamId;
    if (streamId === null) return;
    try {
      const response = await this.options.fetch(`${this.options.url}/api/subscribe/${streamId}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(await this.options.headers()) },
        body: JSON.stringify(body),
      });
      if (response.ok) return;
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      // A stream the server forgot (it restarted): start over with every watch.
      if (response.status === 404 && this.streamId === streamId) return this.reconnect();
      for (const item of (body.add ?? []) as { id: string }[])
        this.watches.get(item.id)?.onError?.(new ConvoyError(error));
    } catch {
      if (this.streamId === streamId) this.reconnect();
    }
  }

  private stop(): void {
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
