import type { UserIdentity } from "../functions/auth.js";
import type { FunctionKind } from "../functions/defineFunction.js";
import type { ConvoyRuntime } from "./convoyRuntime.js";
import { badRequestBody, errorResponse, type ErrorBody } from "./errorResponse.js";

/** A native call as the transport hands it over: already-parsed JSON and the caller. */
export interface CallRequest {
  kind: FunctionKind;
  body: unknown;
  auth: UserIdentity | null;
}

/** What to send back. */
export interface CallResponse {
  status: number;
  body: { value: unknown; position?: string } | ErrorBody;
}

/**
 * The framework-free core of `POST /api/query`, `POST /api/mutation` and `POST /api/action`: the body is
 * `{ "path": "projects.listProjects", "args": { ... } }` (a mutation may add a
 * `"mutationId"`, see `CallOptions`), the answer `{ "value": ... }` (a mutation's with
 * `"position"`, its commit's transaction id, when it wrote: see docs/live.md)
 * or `{ "error": { code, message, data? } }` with a matching status.
 * @internal
 */
export async function handleCall(
  runtime: ConvoyRuntime,
  request: CallRequest,
  options: { dev?: boolean; onUnexpected?: (error: unknown) => void } = {},
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
    let position: string | null = null;
    const value = await runtime.call(path, args, {
      kind: request.kind,
      auth: request.auth,
      ...(mutationId !== undefined ? { mutationId } : {}),
      ...(request.kind === "mutation" ? { onCommit: (committed: string | null) => void (position = committed) } : {}),
    });
    return {
      status: 200,
      body: { value: value === undefined ? null : value, ...(position !== null ? { position } : {}) },
    };
  } catch (error) {
    return errorResponse(error, options);
  }
}
