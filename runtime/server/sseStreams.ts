import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConvoyError, isConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { LiveQueryEngine, WatchUpdate } from "../live/liveQueryEngine.js";
import { canonicalJson } from "../store/canonicalJson.js";
import { errorResponse } from "./errorResponse.js";

/** A watch a client asks for: its own id for it, the query, and the arguments. */
export interface WatchRequest {
  id: string;
  path: string;
  args?: unknown;
}

/** Options of {@link SseStreams}. */
export interface SseStreamsOptions {
  engine: LiveQueryEngine;
  /** Comment lines keep proxies from closing idle streams. @default 15000 */
  heartbeatMs?: number;
  /** Watches one stream may hold. @default 256 */
  maxWatchesPerStream?: number;
}

interface Stream {
  id: string;
  response: ServerResponse;
  identity: string;
  auth: UserIdentity | null;
  watches: Map<string, () => void>;
  heartbeat: NodeJS.Timeout;
}

const WATCH_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

function badRequest(message: string): ConvoyError {
  return new ConvoyError({ code: "BAD_REQUEST", message });
}

/** Checks a client's list of watches. */
function parseWatchRequests(value: unknown): WatchRequest[] {
  if (!Array.isArray(value)) throw badRequest('watches must be a JSON array of { "id", "path", "args" }');
  return value.map((item: unknown) => {
    const { id, path, args } = (item ?? {}) as Partial<WatchRequest>;
    if (typeof id !== "string" || !WATCH_ID.test(id)) {
      throw badRequest('each watch needs an "id" of 1-64 letters, digits, "_", ".", ":" or "-"');
    }
    if (typeof path !== "string") throw badRequest(`watch ${id}: "path" names the query, e.g. "projects.listProjects"`);
    return { id, path, args: args ?? {} };
  });
}

/**
 * `GET /api/subscribe`: one Server-Sent Events stream per client, carrying all of its
 * watches. Open it with `?path=projects.listProjects&args={...}` for one query, or
 * `?watches=[{"id","path","args"}]` for several (also how a client resumes after a
 * reconnect); add and remove watches later with `POST /api/subscribe/<streamId>`
 * `{ "add": [...], "remove": ["id"] }` without a new connection.
 *
 * Events: `ready` `{ streamId }`, `result` `{ id, value }` (first the current result,
 * then each change), `queryError` `{ id, error }`. A comment line every 15 s keeps the
 * stream open through proxies. Closing the stream releases its watches.
 */
export class SseStreams {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly options: SseStreamsOptions) {}

  /** Streams open now. */
  get size(): number {
    return this.streams.size;
  }

  /** Opens a stream for a GET request; `auth` is the caller's identity. */
  open(request: IncomingMessage, response: ServerResponse, auth: UserIdentity | null): void {
    let initial: WatchRequest[];
    let singleForm = false;
    try {
      const url = new URL(request.url ?? "/", "http://localhost");
      singleForm = url.searchParams.has("path");
      initial = this.initialWatches(url.searchParams);
    } catch (error) {
      this.fail(response, error);
      return;
    }
    const stream: Stream = {
      id: randomBytes(16).toString("base64url"),
      response,
      identity: canonicalJson(auth),
      auth,
      watches: new Map(),
      heartbeat: setInterval(() => response.write(": ping\n\n"), this.options.heartbeatMs ?? 15_000),
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
          clearInterval(stream.heartbeat);
          this.fail(response, error);
          return;
        }
        refused.push({ id: watch.id, error });
      }
    }
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    response.flushHeaders();
    this.streams.set(stream.id, stream);
    this.send(stream, "ready", { streamId: stream.id });
    for (const { id, error } of refused)
      this.send(stream, "queryError", { id, error: errorResponse(error).body.error });
    for (const watch of accepted) this.add(stream, watch);
    const close = () => this.close(stream);
    request.on("close", close);
    response.on("error", close);
  }

  private initialWatches(params: URLSearchParams): WatchRequest[] {
    const watches = params.get("watches");
    const path = params.get("path");
    if (watches !== null && path !== null)
      throw badRequest("give either ?watches=[...] or ?path=...&args=..., not both");
    if (watches !== null) return parseWatchRequests(parseJson(watches, "watches"));
    if (path !== null) {
      const args = params.get("args");
      return [{ id: params.get("id") ?? "0", path, args: args === null ? {} : parseJson(args, "args") }];
    }
    return [];
  }

  /** Checks a watch before it is added: known public query, id free, under the limit. */
  private check(stream: Stream, watch: WatchRequest, pending = 0): void {
    if (stream.watches.has(watch.id)) throw badRequest(`watch id ${watch.id} is already in use on this stream`);
    const limit = this.options.maxWatchesPerStream ?? 256;
    if (stream.watches.size + pending >= limit) {
      throw new ConvoyError({
        code: "TOO_MANY_REQUESTS",
        message: `A stream holds at most ${limit} watches; remove some before adding more`,
      });
    }
    this.options.engine.check(watch.path);
  }

  private add(stream: Stream, watch: WatchRequest): void {
    const stop = this.options.engine.watch(watch.path, watch.args, stream.auth, (update: WatchUpdate) => {
      if ("value" in update) this.send(stream, "result", { id: watch.id, value: update.value });
      else this.send(stream, "queryError", { id: watch.id, error: update.error });
    });
    stream.watches.set(watch.id, stop);
  }

  /**
   * `POST /api/subscribe/<streamId>` with `{ add?, remove? }`, from the identity that
   * opened the stream. Returns the status and body to answer with.
   */
  update(streamId: string, body: unknown, auth: UserIdentity | null): { status: number; body: unknown } {
    try {
      const stream = this.streams.get(streamId);
      if (stream === undefined || stream.identity !== canonicalJson(auth)) {
        throw new ConvoyError({ code: "NOT_FOUND", message: "No such stream: open a new one with GET /api/subscribe" });
      }
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        throw badRequest('The body must be { "add": [{ "id", "path", "args" }], "remove": ["id"] }');
      }
      const { add, remove, ...rest } = body as { add?: unknown; remove?: unknown };
      if (Object.keys(rest).length > 0)
        throw badRequest(`Unknown field(s) ${Object.keys(rest).join(", ")}: send "add" and "remove"`);
      const removals = remove === undefined ? [] : remove;
      if (!Array.isArray(removals) || removals.some((id) => typeof id !== "string")) {
        throw badRequest('"remove" is an array of watch ids');
      }
      const additions = add === undefined ? [] : parseWatchRequests(add);
      for (const id of removals as string[]) {
        stream.watches.get(id)?.();
        stream.watches.delete(id);
      }
      additions.forEach((watch, i) => this.check(stream, watch, i));
      for (const watch of additions) this.add(stream, watch);
      return { status: 200, body: { ok: true, watches: [...stream.watches.keys()] } };
    } catch (error) {
      return errorResponse(error);
    }
  }

  private send(stream: Stream, event: string, data: unknown): void {
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
    for (const stop of stream.watches.values()) stop();
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
