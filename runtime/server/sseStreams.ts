import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConvoyError, isConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { LiveQueryEngine, LiveSubscription, Transition } from "../live/liveQueryEngine.js";
import { checkArgsDepth } from "../functions/runFunction.js";
import { canonicalJson } from "../store/canonicalJson.js";
import {
  LiveEvent,
  PROTOCOL_PARAM,
  checkWatchId,
  parseSubscribeChange,
  parseWatchRequests,
  protocolRefusal,
  type LiveMessages,
  type WatchRequest,
  type WireError,
} from "../protocol/liveProtocol.js";
import { errorResponse } from "./errorResponse.js";
import type { StreamLimit } from "./streamLimit.js";

export type { WatchRequest } from "../protocol/liveProtocol.js";

/** Options of {@link SseStreams}. */
export interface SseStreamsOptions {
  engine: LiveQueryEngine;
  /** Comment lines keep proxies from closing idle streams. @default 15000 */
  heartbeatMs?: number;
  /** Watches one stream may hold. @default 256 */
  maxWatchesPerStream?: number;
  /** Caps the streams each client holds open; none when left out. */
  streamLimit?: StreamLimit;
}

interface Stream {
  id: string;
  response: ServerResponse;
  identity: string;
  auth: UserIdentity | null;
  /** The stream's watches, moving together (see `LiveQueryEngine.subscribe`). */
  subscription: LiveSubscription;
  /** Ids of the watches it holds. */
  watches: Set<string>;
  heartbeat: NodeJS.Timeout | undefined;
  /** Gives the client's stream slot back. */
  release: () => void;
}

function badRequest(message: string): ConvoyError {
  return new ConvoyError({ code: "BAD_REQUEST", message });
}

/**
 * `GET /api/subscribe`: one Server-Sent Events stream per client, carrying all of its
 * watches. Open it with `?path=projects.listProjects&args={...}` for one query, or
 * `?watches=[{"id","path","args"}]` for several (also how a client resumes after a
 * reconnect); add and remove watches later with `POST /api/subscribe/<streamId>`
 * `{ "add": [...], "remove": ["id"] }` without a new connection.
 *
 * Events and shapes are `runtime/protocol/liveProtocol.ts`'s: `ready` `{ streamId, maxWatches }`,
 * `transition` `{ version, results }` (the new results of several watches, all read at
 * the snapshot `version`; the first carries each watch's current result), `queryError`
 * `{ id, error }` for a refused watch. `{ "await": position }` in the POST asks for a
 * transition covering a mutation's commit. A client states its protocol version with
 * `?protocol=<n>` (none means the current one); another version is refused with 426. A
 * comment line every 15 s keeps the stream open through proxies. Closing the stream
 * releases its watches.
 */
export class SseStreams {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly options: SseStreamsOptions) {
    options.engine.onForwardedAwait((streamId, position) => this.streams.get(streamId)?.subscription.await(position));
  }

  /** Streams open now. */
  get size(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream for a GET request; `auth` is the caller's identity and `client` names
   * the client for the per-client stream limit.
   */
  open(request: IncomingMessage, response: ServerResponse, auth: UserIdentity | null, client = "anonymous"): void {
    if (request.method === "HEAD") {
      // A probe: the headers of a stream, and no stream to hold open.
      response.writeHead(200, { "content-type": "text/event-stream; charset=utf-8" }).end();
      return;
    }
    let initial: WatchRequest[];
    let singleForm = false;
    try {
      const url = new URL(request.url ?? "/", "http://localhost");
      const refused = protocolRefusal(url.searchParams.get(PROTOCOL_PARAM));
      if (refused) throw refused;
      singleForm = url.searchParams.has("path");
      initial = this.initialWatches(url.searchParams);
    } catch (error) {
      this.fail(response, error);
      return;
    }
    const subscription = this.options.engine.subscribe(auth, (transition) => this.sendTransition(stream, transition));
    const stream: Stream = {
      id: randomBytes(16).toString("base64url"),
      response,
      identity: canonicalJson(auth),
      auth,
      subscription,
      watches: new Set(),
      heartbeat: undefined,
      release: () => {},
    };
    // One watch named in ?path is the stream's purpose: refuse the stream if it is bad.
    // Of several in ?watches, the bad ones get a queryError event and the rest run.
    const refused: { id: string; error: unknown }[] = [];
    const accepted: WatchRequest[] = [];
    for (const watch of initial) {
      try {
        this.check(stream, watch, accepted.length);
        accepted.push(watch);
      } catch (error) {
        if (initial.length === 1 && singleForm) {
          this.fail(response, error);
          return;
        }
        refused.push({ id: watch.id, error });
      }
    }
    try {
      if (this.options.streamLimit) stream.release = this.options.streamLimit.acquire(client);
    } catch (error) {
      this.fail(response, error);
      return;
    }
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    response.flushHeaders();
    this.streams.set(stream.id, stream);
    stream.heartbeat = setInterval(() => response.write(": ping\n\n"), this.options.heartbeatMs ?? 15_000);
    const close = () => this.close(stream);
    request.on("close", close);
    response.on("error", close);
    this.send(stream, LiveEvent.ready, { streamId: stream.id, maxWatches: this.maxWatches });
    for (const { id, error } of refused) this.sendError(stream, id, errorResponse(error).body.error);
    for (const watch of accepted) this.add(stream, watch);
  }

  private initialWatches(params: URLSearchParams): WatchRequest[] {
    const watches = params.get("watches");
    const path = params.get("path");
    if (watches !== null && path !== null)
      throw badRequest("give either ?watches=[...] or ?path=...&args=..., not both");
    if (watches !== null) return parseWatchRequests(parseJson(watches, "watches"));
    if (path !== null) {
      const args = params.get("args");
      const id = params.get("id") ?? "0";
      checkWatchId(id);
      return [{ id, path, args: args === null ? {} : parseJson(args, "args") }];
    }
    return [];
  }

  /** Refuses a watch beyond the limit when the stream already holds `held`. */
  private checkLimit(held: number): void {
    const limit = this.maxWatches;
    if (held >= limit) {
      throw new ConvoyError({
        code: "TOO_MANY_REQUESTS",
        message: `A stream holds at most ${limit} watches; remove some, or open another stream (GET /api/subscribe) for the rest (convoy/client does this by itself)`,
        data: { maxWatches: limit },
      });
    }
  }

  /** Watches one stream may hold (told to clients in `ready`, so they open another stream for more). */
  private get maxWatches(): number {
    return this.options.maxWatchesPerStream ?? 256;
  }

  /** Checks a watch before it is added: known public query, id free, under the limit. */
  private check(stream: Stream, watch: WatchRequest, pending = 0): void {
    if (stream.watches.has(watch.id)) throw badRequest(`watch id ${watch.id} is already in use on this stream`);
    this.checkLimit(stream.watches.size + pending);
    this.options.engine.check(watch.path);
    checkArgsDepth(watch.path, watch.args);
  }

  /** Starts a checked watch; if it cannot start after all, the client gets a queryError for it. */
  private add(stream: Stream, watch: WatchRequest): void {
    try {
      stream.subscription.add(watch.id, watch.path, watch.args);
      stream.watches.add(watch.id);
    } catch (error) {
      this.sendError(stream, watch.id, errorResponse(error).body.error);
    }
  }

  private sendTransition(stream: Stream, transition: Transition): void {
    this.send(stream, LiveEvent.transition, {
      version: transition.version,
      results: transition.updates.map(({ id, update }) => ({ id, ...update })),
      ...(transition.mutations.length > 0 ? { mutations: transition.mutations } : {}),
    });
  }

  /**
   * `POST /api/subscribe/<streamId>` with `{ add?, remove?, await? }`, from the identity that
   * opened the stream; `protocol` is the request's `?protocol` parameter. Returns the
   * status and body to answer with.
   */
  update(
    streamId: string,
    body: unknown,
    auth: UserIdentity | null,
    protocol: string | null = null,
  ): { status: number; body: unknown } {
    try {
      const refused = protocolRefusal(protocol);
      if (refused) throw refused;
      const { add: additions, remove: removals, await: position } = parseSubscribeChange(body);
      const stream = this.streams.get(streamId);
      if (stream === undefined && position !== undefined && additions.length === 0 && removals.length === 0) {
        // Another server's stream, most likely (round robin): its server gets the await.
        this.options.engine.forwardAwait(streamId, position).catch(() => {});
        return { status: 200, body: { ok: true, forwarded: true } };
      }
      if (stream === undefined || stream.identity !== canonicalJson(auth)) {
        throw new ConvoyError({ code: "NOT_FOUND", message: "No such stream: open a new one with GET /api/subscribe" });
      }
      // Everything is checked before anything changes: a refused request leaves the stream as it was.
      const removed = new Set(removals.filter((id) => stream.watches.has(id)));
      const kept = stream.watches.size - removed.size;
      additions.forEach((watch, i) => {
        if (stream.watches.has(watch.id) && !removed.has(watch.id)) {
          throw badRequest(`watch id ${watch.id} is already in use on this stream`);
        }
        this.checkLimit(kept + i);
        this.options.engine.check(watch.path);
        checkArgsDepth(watch.path, watch.args);
      });
      for (const id of removed) {
        stream.subscription.remove(id);
        stream.watches.delete(id);
      }
      for (const watch of additions) this.add(stream, watch);
      if (position !== undefined) stream.subscription.await(position);
      return { status: 200, body: { ok: true, watches: [...stream.watches.keys()] } };
    } catch (error) {
      return errorResponse(error);
    }
  }

  /**
   * Of `streamIds`, the streams of this server, opened by `auth`, whose watches the
   * commit at `position` (this server's) changed none of: the mutation's answer names
   * them, and their client need not wait for a transition (see docs/live.md). The
   * others name `mutationId` in the transition that first shows the commit.
   */
  committed(
    streamIds: readonly string[],
    auth: UserIdentity | null,
    position: string,
    mutationId: string | undefined,
  ): string[] {
    const identity = canonicalJson(auth);
    return streamIds.filter((id) => {
      const stream = this.streams.get(id);
      if (stream === undefined || stream.identity !== identity) return false;
      if (stream.subscription.unaffectedBy(position)) return true;
      if (mutationId !== undefined) stream.subscription.showsWhen(position, mutationId);
      return false;
    });
  }

  private sendError(stream: Stream, id: string, error: WireError): void {
    this.send(stream, LiveEvent.queryError, { id, error });
  }

  private send<TEvent extends keyof LiveMessages>(stream: Stream, event: TEvent, data: LiveMessages[TEvent]): void {
    stream.response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private fail(response: ServerResponse, error: unknown): void {
    const { status, body } = isConvoyError(error)
      ? errorResponse(error)
      : errorResponse(badRequest(`Cannot open the stream: ${(error as Error).message}`));
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  }

  private close(stream: Stream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    clearInterval(stream.heartbeat);
    stream.release();
    stream.subscription.close();
    stream.watches.clear();
  }

  /** Ends every stream (server shutdown); clients reconnect elsewhere. */
  closeAll(): void {
    for (const stream of [...this.streams.values()]) {
      this.close(stream);
      stream.response.end();
    }
  }
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`?${name} is not valid JSON`);
  }
}
