import { ConvoyError } from "../errors.js";
import type { MutationOutbox, OutboxEntry } from "./mutationOutbox.js";
import { STREAMS_HEADER } from "../protocol/liveProtocol.js";
import { FetchEventSource } from "./fetchEventSource.js";
import { WatchStreams, type EventSourceConstructor } from "./watchStream.js";
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
   * Reads live streams. By default Convoy's reader on `fetch`, in browsers and Node
   * alike: it sends `headers` with the stream and tells watches why a stream was
   * refused (429, 401). Any EventSource works too (a browser's, the `eventsource`
   * package's), at the cost of those two.
   * @default Convoy's fetch-based reader
   */
  EventSource?: EventSourceConstructor;
  /**
   * How long a mutation keeps being sent again while the server cannot be reached or
   * answers 502, 503 or 504 (a restart, a deploy, a dropped connection). Each mutation
   * carries a random id, so the server applies it at most once however often it
   * arrives. 0 sends each mutation once.
   * @default 30000
   */
  mutationRetryMs?: number;
  /**
   * `"sequential"`: a mutation is sent once the one called before it has settled, so a
   * client's mutations apply in the order it called them, as in Convex (two quick
   * saves of one field end on the second, even when the first had to be resent).
   * `"concurrent"`: each is sent at once (bulk writes from a script).
   * @default "sequential"
   */
  mutationOrder?: "sequential" | "concurrent";
  /**
   * Keeps each mutation until it is applied or refused, so one a closed page left
   * unsent is sent again by the next client on the same outbox, first thing, in order
   * (its id makes that safe). See {@link localStorageOutbox}; pair it with
   * `mutationRetryMs: Infinity` for an app that keeps working offline.
   */
  outbox?: MutationOutbox;
  /** Told when a mutation sent again from the outbox is refused by the server; it leaves the outbox. */
  onOutboxError?: (entry: OutboxEntry, error: ConvoyError) => void;
  /**
   * Runs the delivery of one transition: the server moves all of a stream's watches to
   * one database snapshot at once, and `apply()` calls the `onUpdate`/`onError` of every
   * watch that changed in it. Wrap it to apply them in one step, e.g. a UI framework's
   * batched update, or to look at the client's state between transitions (no state in
   * between has some watches at one snapshot and some at another).
   * @default (apply) => apply()
   * @example
   * ```ts
   * const client = createConvoyClient({ batch: (apply) => { apply(); render(); } });
   * ```
   */
  batch?: (apply: () => void) => void;
}

/** Options of one {@link ConvoyClient.mutation} call. */
export interface MutationCallOptions {
  /**
   * The call's id: 16-128 characters of `A-Z a-z 0-9 _ -`, e.g. `crypto.randomUUID()`.
   * The same id with the same function, args and caller returns the first result.
   * @default a random id
   */
  mutationId?: string;
}

/** A mutation an earlier client left in the outbox, sent again by this one. */
export interface ResumedMutation extends OutboxEntry {
  /**
   * Settles as `mutation()` does: with its result once this client's watches show it, or
   * with the error that refused it (or ended `mutationRetryMs`).
   */
  settled: Promise<unknown>;
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
  /**
   * Runs a mutation, exactly once and after the client's earlier mutations (see
   * `mutationOrder`): it is sent with an id (random unless given) and sent again (for
   * up to `mutationRetryMs`) when the server is out of reach or its answer was lost.
   * Resolves once every watch of this client that the mutation changed shows it
   * (read-your-writes), also when another server behind a load balancer applied it.
   * Give your own `mutationId` to send a mutation again later, e.g. from an outbox
   * kept across page loads: the server applies each id once.
   * @example
   * ```ts
   * const mutationId = crypto.randomUUID(); // saved with the args before sending
   * await client.mutation(api.projects.createProject, { userId, name }, { mutationId });
   * ```
   */
  mutation<TRef extends FunctionReference<"mutation">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
    options?: MutationCallOptions,
  ): Promise<FunctionReturnType<TRef>>;
  /**
   * Runs an action once. It is never sent again (an action may have effects outside
   * the database): a lost answer is an error, and the action may or may not have run.
   * @example
   * ```ts
   * const { url } = await client.action(api.payments.createCheckout, { planId });
   * ```
   */
  action<TRef extends FunctionReference<"action">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): Promise<FunctionReturnType<TRef>>;
  /**
   * Watches a query: `onUpdate` gets its current result, then every new one. All of a
   * client's watches share one SSE stream (another past the server's `maxWatches`),
   * which reconnects by itself. `onError` gets the query's own errors and the stream's
   * refusals (429 too many streams, 401), once per run of failures; the watch resumes
   * when they pass. Returns the function that stops watching.
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
  /**
   * What an earlier client left in the outbox, oldest first, as this client found it on
   * start: each is sent again before this client's own mutations. `convoy/react` shows
   * them through their optimistic updates until they settle.
   */
  readonly resumedMutations: readonly ResumedMutation[];
  /**
   * Calls `listener` with the ids (`mutationId`) of this client's mutations that a
   * transition shows for the first time, inside the transition's `batch`, before their
   * answers may have arrived: `convoy/react` drops their optimistic updates in the same
   * render. Returns the function that stops listening.
   */
  onMutationsShown(listener: (mutationIds: string[]) => void): () => void;
  /** Stops every watch and closes the stream. */
  close(): void;
  /** The base URL requests go to. */
  readonly url: string;
}

/** A call's answer: its value; a mutation's also its commit position (absent when it wrote nothing). */
interface Answer {
  value?: unknown;
  position?: unknown;
  /** Of the streams the mutation named, those whose watches its commit changed none of. */
  unaffected?: unknown;
}

/** The answer's `unaffected` stream ids; none when absent or not a list of strings. */
function unaffectedOf(answer: Answer): string[] {
  const { unaffected } = answer;
  return Array.isArray(unaffected) ? unaffected.filter((id): id is string => typeof id === "string") : [];
}

/** A random mutation id: 128 bits, base64url. */
export function newMutationId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Errors after which a mutation is sent again: nothing, or the same call, reached the database. */
function isUnavailable(error: unknown): boolean {
  return error instanceof ConvoyError && error.code === "SERVICE_UNAVAILABLE";
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

  const retryMs = options.mutationRetryMs ?? 30_000;

  /** The path of a function reference, or a BAD_REQUEST for anything else. */
  function pathOf(kind: "query" | "mutation" | "action", ref: AnyFunctionReference): string {
    if (typeof ref?.path !== "string") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `client.${kind}: pass a reference such as api.module.function`,
      });
    }
    return ref.path;
  }

  /** Sends `body`, again while the server is out of reach, for up to `resendMs`; resolves to the answer's body. */
  async function call(kind: "query" | "mutation" | "action", body: object, resendMs: number): Promise<Answer> {
    const payload = JSON.stringify(body);
    const giveUpAt = Date.now() + resendMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
      try {
        return await send(kind, payload);
      } catch (error) {
        const wait = Math.min(delay * (0.5 + Math.random() / 2), giveUpAt - Date.now());
        if (!isUnavailable(error) || wait <= 0) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async function send(kind: "query" | "mutation" | "action", payload: string): Promise<Answer> {
    const extra = typeof options.headers === "function" ? await options.headers() : options.headers;
    // A mutation names the client's streams: the answer says which of them it changed nothing of.
    const named = kind === "mutation" ? (streams?.ids ?? []) : [];
    let response: Response;
    try {
      response = await doFetch(`${url}/api/${kind}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(named.length > 0 ? { [STREAMS_HEADER]: named.join(",") } : {}),
          ...extra,
        },
        body: payload,
      });
    } catch (cause) {
      throw new ConvoyError({
        code: "SERVICE_UNAVAILABLE",
        message: `Cannot reach the Convoy server at ${url} (${(cause as Error).message}). Is it running?`,
        cause,
      });
    }
    if (response.status === 502 || response.status === 504) {
      await response.body?.cancel();
      throw new ConvoyError({
        code: "SERVICE_UNAVAILABLE",
        message: `The proxy in front of the Convoy server at ${url} answered ${response.status}; the server may be restarting`,
      });
    }
    const text = await response.text();
    let body: Answer & { error?: { code?: string; message?: string; data?: unknown } };
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
    return body;
  }

  /** The client's live streams, opened by its first watch. */
  let streams: WatchStreams | undefined;
  const shownListeners = new Set<(mutationIds: string[]) => void>();
  // The last mutation called, settled or not: the next one waits for it.
  let lastMutation: Promise<unknown> = Promise.resolve();
  const sequential = (options.mutationOrder ?? "sequential") === "sequential";
  /** Sends a mutation (an entry is its request body) after the ones called before it. */
  function inOrder(entry: OutboxEntry): Promise<Answer> {
    const sent = () => call("mutation", entry, retryMs);
    if (!sequential) return sent();
    const result = lastMutation.then(sent);
    lastMutation = result.catch(() => {});
    return result;
  }

  const { outbox } = options;
  const editOutbox = (edit: (entries: OutboxEntry[]) => OutboxEntry[]) => outbox?.save(edit(outbox.load()));
  /** Sends an entry; it leaves the outbox once applied or refused, and stays while the server is out of reach. */
  function sendFromOutbox(entry: OutboxEntry): Promise<Answer> {
    const settled = () => editOutbox((entries) => entries.filter((kept) => kept.mutationId !== entry.mutationId));
    return inOrder(entry).then(
      (value) => {
        settled();
        return value;
      },
      (error: unknown) => {
        if (!isUnavailable(error)) settled();
        throw error;
      },
    );
  }

  async function mutation(ref: AnyFunctionReference, args: unknown, mutationId: string | undefined): Promise<any> {
    const entry: OutboxEntry = {
      path: pathOf("mutation", ref),
      args: args ?? {},
      mutationId: mutationId ?? newMutationId(),
    };
    editOutbox((entries) => [...entries, entry]);
    return shownToWatches(await sendFromOutbox(entry));
  }

  /** Read-your-writes: a mutation's value, once this client's watches show its commit. */
  async function shownToWatches(answer: Answer): Promise<unknown> {
    if (typeof answer.position === "string") await streams?.reached(answer.position, unaffectedOf(answer));
    return answer.value;
  }

  // What an earlier client on this outbox left unsent goes first.
  const resumedMutations = (outbox?.load() ?? []).map((entry): ResumedMutation => {
    const settled = sendFromOutbox(entry).then(shownToWatches);
    settled.catch((error: unknown) => {
      if (!isUnavailable(error) && error instanceof ConvoyError) options.onOutboxError?.(entry, error);
    });
    return { ...entry, settled };
  });

  const headers = async (): Promise<Record<string, string>> =>
    (typeof options.headers === "function" ? await options.headers() : options.headers) ?? {};

  return {
    url,
    resumedMutations,
    query: async (ref, args) => (await call("query", { path: pathOf("query", ref), args: args ?? {} }, 0)).value as any,
    mutation: (ref, args, callOptions) => mutation(ref, args, callOptions?.mutationId),
    action: async (ref, args) =>
      (await call("action", { path: pathOf("action", ref), args: args ?? {} }, 0)).value as any,
    watch(ref, args, onUpdate, onError) {
      if (ref?.kind !== "query" || typeof ref.path !== "string") {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: "client.watch: pass a query reference such as api.module.query",
        });
      }
      streams ??= new WatchStreams({
        url,
        EventSource: options.EventSource ?? FetchEventSource,
        fetch: doFetch,
        headers,
        batch: options.batch ?? ((apply) => apply()),
        onMutationsShown: (ids) => {
          for (const listener of [...shownListeners]) listener(ids);
        },
      });
      return streams.watch(ref.path, args, onUpdate as (value: unknown) => void, onError);
    },
    onMutationsShown(listener) {
      shownListeners.add(listener);
      return () => void shownListeners.delete(listener);
    },
    close() {
      streams?.close();
      streams = undefined;
    },
  };
}
