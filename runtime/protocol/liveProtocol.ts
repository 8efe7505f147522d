import { ConvoyError } from "../errors.js";
import { isPosition, parseSnapshot } from "./snapshotVersion.js";

/**
 * Convoy's live wire protocol, shared by the server (`GET /api/subscribe`,
 * `POST /api/subscribe/<streamId>`) and `convoy/client`: its version, the event names,
 * the message shapes and their checks. Framework-free and without `node:` imports, so
 * browser bundles import it too. A change to any shape here raises the version.
 *
 * @example
 * ```ts
 * const url = `${base}/api/subscribe?${PROTOCOL_PARAM}=${LIVE_PROTOCOL_VERSION}&watches=[]`;
 * ```
 */
export const LIVE_PROTOCOL_VERSION = 2;

/** The query parameter a client states its protocol version in (`?protocol=1`). */
export const PROTOCOL_PARAM = "protocol";

/**
 * The header a mutation request names its client's live streams in (comma-separated
 * ids, as `ready` gave them): the answer's `unaffected` lists those of that server the
 * commit changed nothing of, and the others name the mutation in the transition that
 * first shows it (`mutations`). A header, so a server that does not know it ignores it.
 */
export const STREAMS_HEADER = "x-convoy-streams";

/** The events a stream carries. */
export const LiveEvent = {
  /** First on every stream: `{ streamId, maxWatches }`. */
  ready: "ready",
  /**
   * New results of some of the stream's watches, all read at one snapshot `version`:
   * `{ version, results: [{ id, value } | { id, error }] }`. The stream's other watches
   * hold at `version` too, so a client applies it in one step. Empty `results`: the
   * answer to an `await`.
   */
  transition: "transition",
  /** A watch was refused (unknown query, stream full): `{ id, error }`. */
  queryError: "queryError",
} as const;

/** The error code of a stream refused for speaking another protocol version (HTTP 426). */
export const UPGRADE_REQUIRED = "UPGRADE_REQUIRED";

/** The error code of a message from the server that is not the protocol's. */
export const PROTOCOL_ERROR = "PROTOCOL_ERROR";

/** An error on the wire, as every Convoy error body carries it. */
export interface WireError {
  code: string;
  message: string;
  data?: unknown;
}

/** `ready`: the stream's id (for `POST /api/subscribe/<streamId>`) and how many watches it holds. */
export interface ReadyMessage {
  streamId: string;
  maxWatches: number;
}

/** One watch's new result in a transition: its value, or the error its query throws. */
export type TransitionResult = { id: string; value: unknown } | { id: string; error: WireError };

/** `transition`: new results at snapshot `version` (see runtime/protocol/snapshotVersion.ts). */
export interface TransitionMessage {
  version: string;
  results: TransitionResult[];
  /**
   * Ids of the client's mutations (`mutationId`) this transition is the first to show,
   * when their requests named this stream (`X-Convoy-Streams`): the client drops their
   * optimistic updates in the same step. Absent when none.
   */
  mutations?: string[];
}

/** `queryError`: why watch `id` has no result. */
export interface QueryErrorMessage {
  id: string;
  error: WireError;
}

/** Each event's data, by event name. */
export interface LiveMessages {
  [LiveEvent.ready]: ReadyMessage;
  [LiveEvent.transition]: TransitionMessage;
  [LiveEvent.queryError]: QueryErrorMessage;
}

/** A watch a client asks for: its own id for it, the query, and the arguments. */
export interface WatchRequest {
  id: string;
  path: string;
  args?: unknown;
}

/**
 * The body of `POST /api/subscribe/<streamId>`: watches to add and remove, and/or a
 * position (a mutation's answer carries it) the stream must send a transition covering,
 * once every watch the commit touched shows it.
 */
export interface SubscribeChange {
  add?: WatchRequest[];
  remove?: string[];
  await?: string;
}

const WATCH_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

function badRequest(message: string): ConvoyError {
  return new ConvoyError({ code: "BAD_REQUEST", message });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The refusal for a request stating protocol `stated` (the `?protocol` parameter), or
 * undefined when the server speaks it. No parameter means the current version, so curl
 * and hand-written clients keep working.
 */
export function protocolRefusal(stated: string | null | undefined): ConvoyError | undefined {
  if (stated === null || stated === undefined || stated === String(LIVE_PROTOCOL_VERSION)) return undefined;
  if (!/^[1-9][0-9]{0,5}$/.test(stated)) {
    return badRequest(
      `?${PROTOCOL_PARAM}=${stated} is not a protocol version: give a whole number (this server speaks ${LIVE_PROTOCOL_VERSION}) or leave it out`,
    );
  }
  const client = Number(stated);
  const advice =
    client > LIVE_PROTOCOL_VERSION
      ? "upgrade convoy on the server to the client's version"
      : "reload the page to get the server's client, or upgrade convoy in the client to the server's version";
  return new ConvoyError({
    code: UPGRADE_REQUIRED,
    message: `This client speaks Convoy's live protocol ${client}, the server speaks ${LIVE_PROTOCOL_VERSION}: ${advice}`,
    data: { clientProtocol: client, serverProtocol: LIVE_PROTOCOL_VERSION },
  });
}

/** Checks a watch id: 1-64 letters, digits, `_`, `.`, `:` or `-`. */
export function checkWatchId(id: unknown): asserts id is string {
  if (typeof id !== "string" || !WATCH_ID.test(id)) {
    throw badRequest('each watch needs an "id" of 1-64 letters, digits, "_", ".", ":" or "-"');
  }
}

/** Checks a client's list of watches: each well formed, no id twice. Throws BAD_REQUEST. */
export function parseWatchRequests(value: unknown): WatchRequest[] {
  if (!Array.isArray(value)) throw badRequest('watches must be a JSON array of { "id", "path", "args" }');
  const seen = new Set<string>();
  return value.map((item: unknown) => {
    if (!isObject(item)) throw badRequest('each watch is an object { "id", "path", "args" }');
    const { id, path, args } = item;
    checkWatchId(id);
    if (seen.has(id)) throw badRequest(`watch id ${id} is given twice; give each watch its own id`);
    seen.add(id);
    if (typeof path !== "string") throw badRequest(`watch ${id}: "path" names the query, e.g. "projects.listProjects"`);
    return { id, path, args: args ?? {} };
  });
}

/** Checks the body of `POST /api/subscribe/<streamId>`. Throws BAD_REQUEST. */
export function parseSubscribeChange(body: unknown): Omit<Required<SubscribeChange>, "await"> & { await?: string } {
  if (!isObject(body))
    throw badRequest('The body must be { "add": [{ "id", "path", "args" }], "remove": ["id"], "await": "<position>" }');
  const { add, remove, await: position, ...rest } = body;
  if (Object.keys(rest).length > 0)
    throw badRequest(`Unknown field(s) ${Object.keys(rest).join(", ")}: send "add", "remove" or "await"`);
  const removals = remove === undefined ? [] : remove;
  if (!Array.isArray(removals) || removals.some((id) => typeof id !== "string")) {
    throw badRequest('"remove" is an array of watch ids');
  }
  if (position !== undefined && !isPosition(position)) {
    throw badRequest(
      '"await" is a mutation\'s position as its answer gave it: a transaction id in decimal, e.g. "7391"',
    );
  }
  return {
    add: add === undefined ? [] : parseWatchRequests(add),
    remove: removals as string[],
    ...(position !== undefined ? { await: position } : {}),
  };
}

function protocolError(event: string, problem: string, data: string): ConvoyError {
  const shown = data.length > 200 ? `${data.slice(0, 200)}...` : data;
  return new ConvoyError({
    code: PROTOCOL_ERROR,
    message: `The server's "${event}" event ${problem} (${shown}): it does not speak Convoy's live protocol ${LIVE_PROTOCOL_VERSION}. Check that the URL points at a Convoy server (not a proxy's page) of the client's version`,
    data: { event, clientProtocol: LIVE_PROTOCOL_VERSION },
  });
}

function parseEventJson(event: string, data: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw protocolError(event, "is not JSON", data);
  }
  if (!isObject(value)) throw protocolError(event, "is not a JSON object", data);
  return value;
}

function isWireError(value: unknown): value is WireError {
  return isObject(value) && typeof value.code === "string" && typeof value.message === "string";
}

/** Reads a `ready` event's data; throws a PROTOCOL_ERROR ConvoyError when it is not one. */
export function parseReady(data: string): ReadyMessage {
  const message = parseEventJson(LiveEvent.ready, data);
  const { streamId, maxWatches } = message;
  if (typeof streamId !== "string" || streamId === "") throw protocolError(LiveEvent.ready, "has no streamId", data);
  if (typeof maxWatches !== "number" || !Number.isInteger(maxWatches) || maxWatches < 1)
    throw protocolError(LiveEvent.ready, "has no whole maxWatches", data);
  return { streamId, maxWatches };
}

/**
 * Reads a `transition` event's data; throws a PROTOCOL_ERROR ConvoyError when it is not
 * one, so that no part of it is applied.
 */
export function parseTransition(data: string): TransitionMessage {
  const message = parseEventJson(LiveEvent.transition, data);
  const { version, results } = message;
  if (typeof version !== "string" || parseSnapshot(version) === null)
    throw protocolError(LiveEvent.transition, "has no snapshot version", data);
  if (!Array.isArray(results)) throw protocolError(LiveEvent.transition, "has no results array", data);
  const checked = results.map((result: unknown): TransitionResult => {
    if (!isObject(result) || typeof result.id !== "string")
      throw protocolError(LiveEvent.transition, "has a result without a watch id", data);
    if ("value" in result) return { id: result.id, value: result.value };
    if (isWireError(result.error)) return { id: result.id, error: result.error };
    throw protocolError(LiveEvent.transition, `has a result for ${result.id} with neither value nor error`, data);
  });
  const { mutations } = message;
  if (mutations === undefined) return { version, results: checked };
  if (!Array.isArray(mutations) || !mutations.every((id) => typeof id === "string"))
    throw protocolError(LiveEvent.transition, "has mutations that are not a list of mutation ids", data);
  return { version, results: checked, mutations };
}

/** Reads a `queryError` event's data; throws a PROTOCOL_ERROR ConvoyError when it is not one. */
export function parseQueryError(data: string): QueryErrorMessage {
  const message = parseEventJson(LiveEvent.queryError, data);
  if (typeof message.id !== "string") throw protocolError(LiveEvent.queryError, "has no watch id", data);
  if (!isWireError(message.error)) {
    throw withWatch(protocolError(LiveEvent.queryError, "has no { code, message } error", data), message.id);
  }
  return { id: message.id, error: message.error };
}

function withWatch(error: ConvoyError, id: string): ConvoyError {
  return new ConvoyError({ code: error.code, message: error.message, data: { ...(error.data as object), id } });
}

/** The watch a PROTOCOL_ERROR from {@link parseResult} or {@link parseQueryError} is about, if known. */
export function protocolErrorWatch(error: ConvoyError): string | undefined {
  const id = (error.data as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : undefined;
}
