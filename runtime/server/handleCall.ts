import type { UserIdentity } from "../functions/auth.js";
import type { FunctionKind } from "../functions/defineFunction.js";
import { STREAMS_HEADER } from "../protocol/liveProtocol.js";
import type { ConvoyRuntime } from "./convoyRuntime.js";
import { badRequestBody, errorResponse, type ErrorBody } from "./errorResponse.js";

/** A native call as the transport hands it over: already-parsed JSON and the caller. */
export interface CallRequest {
  kind: FunctionKind;
  body: unknown;
  auth: UserIdentity | null;
  /**
   * A mutation's `X-Convoy-Streams` header: the ids of its client's live streams,
   * comma-separated. The answer's `unaffected` lists those of this server whose watches
   * the commit changed none of (a header, so servers that do not know it ignore it).
   */
  streams?: string | string[] | undefined;
}

/** What to send back. */
export interface CallResponse {
  status: number;
  body: { value: unknown; position?: string; unaffected?: string[] } | ErrorBody;
}

/**
 * Of a mutation's named streams, those of this server its commit at `position` changed
 * nothing of; the others are told `mutationId`, to name it when they show the commit.
 */
export type CommittedToStreams = (
  streamIds: readonly string[],
  auth: UserIdentity | null,
  position: string,
  mutationId: string | undefined,
) => string[];

/** Stream ids a mutation may name: the ids `ready` gives (base64url), a client's few streams. */
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NAMED_STREAMS = 64;

/**
 * The framework-free core of `POST /api/query`, `POST /api/mutation` and `POST /api/action`: the body is
 * `{ "path": "projects.listProjects", "args": { ... } }` (a mutation may add a
 * `"mutationId"`, see `CallOptions`), the answer `{ "value": ... }` (a mutation's with
 * `"position"`, its commit's transaction id, when it wrote: see docs/live.md)
 * or `{ "error": { code, message, data? } }` with a matching status. A mutation may
 * name its client's live streams ({@link STREAMS_HEADER}); the answer then lists in
 * `"unaffected"` those of this server whose watches its commit changed none of.
 * @internal
 */
export async function handleCall(
  runtime: ConvoyRuntime,
  request: CallRequest,
  options: { dev?: boolean; onUnexpected?: (error: unknown) => void; committed?: CommittedToStreams } = {},
): Promise<CallResponse> {
  try {
    const body = request.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw badRequestBody('The body must be a JSON object: { "path": "module.function", "args": { ... } }');
    }
    const { path, args, mutationId } = body as { path?: unknown; args?: unknown; mutationId?: unknown };
    if (typeof path !== "string") {
      throw badRequestBody('Missing "path": name the function, e.g. { "path": "projects.listProjects", "args": {} }');
    }
    const allowed = request.kind === "mutation" ? ["path", "args", "mutationId"] : ["path", "args"];
    const extra = Object.keys(body).filter((key) => !allowed.includes(key));
    if (extra.length > 0) {
      throw badRequestBody(
        `Unknown body field(s) ${extra.join(", ")}: send only ${allowed.map((key) => `"${key}"`).join(", ")}`,
      );
    }
    if (mutationId !== undefined && typeof mutationId !== "string") {
      throw badRequestBody('"mutationId" must be a string, e.g. crypto.randomUUID()');
    }
    const named = request.kind === "mutation" ? namedStreams(request.streams) : [];
    let position: string | null = null;
    const value = await runtime.call(path, args, {
      kind: request.kind,
      auth: request.auth,
      ...(mutationId !== undefined ? { mutationId } : {}),
      ...(request.kind === "mutation" ? { onCommit: (committed: string | null) => void (position = committed) } : {}),
    });
    const unaffected =
      position !== null && named.length > 0 && options.committed
        ? options.committed(named, request.auth, position, mutationId)
        : [];
    return {
      status: 200,
      body: {
        value: value === undefined ? null : value,
        ...(position !== null ? { position } : {}),
        ...(unaffected.length > 0 ? { unaffected } : {}),
      },
    };
  } catch (error) {
    return errorResponse(error, options);
  }
}

/** The stream ids of a {@link STREAMS_HEADER} (none when absent); a 400 when it is malformed. */
function namedStreams(header: string | string[] | undefined): string[] {
  if (header === undefined || header === "") return [];
  const ids = (Array.isArray(header) ? header.join(",") : header).split(",").map((id) => id.trim());
  if (ids.length > MAX_NAMED_STREAMS || !ids.every((id) => STREAM_ID.test(id))) {
    throw badRequestBody(
      `${STREAMS_HEADER} must list at most ${MAX_NAMED_STREAMS} stream ids, comma-separated, as the streams' \`ready\` events gave them`,
    );
  }
  return ids;
}
