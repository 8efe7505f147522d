import { ConvoyError } from "../errors.js";
import { WatchStream, type EventSourceConstructor } from "./watchStream.js";
import type {
  AnyFunctionReference,
  FunctionArgs,
  FunctionReference,
  FunctionReturnType,
} from "../functions/functionReference.js";

/** The port `convoy serve` and `convoy dev` listen on by default. */
export const DEFAULT_PORT = 3210;

/** Options of {@link createConvoyClient}. */
export interface ConvoyClientOptions {
  /**
   * The server's base URL. In a browser the page's own origin; elsewhere
   * `CONVOY_URL`, else `http://127.0.0.1:3210`.
   */
  url?: string;
  /** Extra headers on every request, e.g. `{ authorization: "Bearer ..." }`; may be a function. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * The EventSource for live queries. Browsers have one; Node 20 does not: pass the
   * `eventsource` package's (`import { EventSource } from "eventsource"`).
   * @default globalThis.EventSource
   */
  EventSource?: EventSourceConstructor;
}

/** A typed client of a Convoy server. */
export interface ConvoyClient {
  /**
   * Runs a query once.
   * @example
   * ```ts
   * const projects = await client.query(api.projects.listProjects, { userId });
   * ```
   */
  query<TRef extends FunctionReference<"query">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): Promise<FunctionReturnType<TRef>>;
  /** Runs a mutation. */
  mutation<TRef extends FunctionReference<"mutation">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): Promise<FunctionReturnType<TRef>>;
  /**
   * Watches a query: `onUpdate` gets its current result, then every new one. All of a
   * client's watches share one SSE stream, which reconnects by itself. Returns the
   * function that stops watching.
   * @example
   * ```ts
   * const stop = client.watch(api.projects.listProjects, { userId }, (projects) => render(projects));
   * ```
   */
  watch<TRef extends FunctionReference<"query">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
    onUpdate: (value: FunctionReturnType<TRef>) => void,
    onError?: (error: ConvoyError) => void,
  ): () => void;
  /** Stops every watch and closes the stream. */
  close(): void;
  /** The base URL requests go to. */
  readonly url: string;
}

function defaultUrl(): string {
  const location = (globalThis as { location?: { origin?: string } }).location;
  if (location?.origin && location.origin !== "null") return location.origin;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.CONVOY_URL ?? `http://127.0.0.1:${DEFAULT_PORT}`;
}

/**
 * Creates a client of a Convoy server's HTTP API. Works in browsers and Node 20.
 *
 * @example
 * ```ts
 * const client = createConvoyClient();
 * await client.mutation(api.projects.createProject, { userId, name: "My App" });
 * ```
 */
export function createConvoyClient(options: ConvoyClientOptions = {}): ConvoyClient {
  const url = (options.url ?? defaultUrl()).replace(/\/+$/, "");
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);

  async function call(kind: "query" | "mutation", ref: AnyFunctionReference, args: unknown): Promise<any> {
    if (typeof ref?.path !== "string") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `client.${kind}: pass a reference such as api.module.function`,
      });
    }
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers;
    let response: Response;
    try {
      response = await doFetch(`${url}/api/${kind}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...extra },
        body: JSON.stringify({ path: ref.path, args: args ?? {} }),
      });
    } catch (cause) {
      throw new ConvoyError({
        code: "SERVICE_UNAVAILABLE",
        message: `Cannot reach the Convoy server at ${url} (${(cause as Error).message}). Is it running?`,
        cause,
      });
    }
    const text = await response.text();
    let body: { value?: unknown; error?: { code?: string; message?: string; data?: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ConvoyError({
        code: response.ok ? "INTERNAL_SERVER_ERROR" : `HTTP_${response.status}`,
        message: `The server at ${url} answered ${response.status} with a body that is not JSON`,
      });
    }
    if (!response.ok || body.error) {
      throw new ConvoyError({
        code: body.error?.code ?? "INTERNAL_SERVER_ERROR",
        message: body.error?.message ?? `HTTP ${response.status}`,
        data: body.error?.data,
      });
    }
    return body.value;
  }

  const headers = async (): Promise<Record<string, string>> =>
    (typeof options.headers === "function" ? await options.headers() : options.headers) ?? {};
  let stream: WatchStream | undefined;

  return {
    url,
    query: (ref, args) => call("query", ref, args),
    mutation: (ref, args) => call("mutation", ref, args),
    watch(ref, args, onUpdate, onError) {
      if (ref?.kind !== "query" || typeof ref.path !== "string") {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: "client.watch: pass a query reference such as api.module.query",
        });
      }
      if (stream === undefined) {
        const EventSourceClass =
          options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
        if (EventSourceClass === undefined) {
          throw new ConvoyError({
            code: "BAD_REQUEST",
            message:
              'No EventSource here (Node 20 has none): createConvoyClient({ EventSource }) with import { EventSource } from "eventsource"',
          });
        }
        stream = new WatchStream({ url, EventSource: EventSourceClass, fetch: doFetch, headers });
      }
      return stream.watch(ref.path, args, onUpdate as (value: unknown) => void, onError);
    },
    close() {
      stream?.close();
      stream = undefined;
    },
  };
}
