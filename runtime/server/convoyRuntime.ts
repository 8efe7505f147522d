import { createHash } from "node:crypto";
import type { Driver } from "../drivers/driver.js";
import { openDatabase, type OpenDatabaseOptions } from "../drivers/openDatabase.js";
import { ConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { AnyConvoyFunction, FunctionKind } from "../functions/defineFunction.js";
import type { FunctionTree } from "../functions/functionReference.js";
import { flattenFunctions } from "../functions/functionTree.js";
import { checkArgsDepth, parseArgs, runFunction, type MutationServices } from "../functions/runFunction.js";
import { systemClock, type Clock } from "../scheduler/clock.js";
import { JobWriter } from "../scheduler/jobWriter.js";
import type { TransactionContext } from "../store/transactionContext.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import { canonicalJson } from "../store/canonicalJson.js";
import type { DocumentStore, MutationObserver, MutationOptions } from "../store/documentStore.js";
import { createDocumentStore } from "./createDocumentStore.js";
import { lostDatabaseError } from "../store/lostDatabase.js";
import { MUTATION_ID_PATTERN } from "../store/mutationRecords.js";

/** Options of {@link ConvoyRuntime}. */
export interface ConvoyRuntimeOptions {
  schema: SchemaDefinition;
  /** The function tree, as `convoy/_generated/functions.ts` exports it. */
  functions: FunctionTree;
  driver: Driver;
  /** @default "convoy" */
  schemaName?: string;
  /** What "now" is for `ctx.scheduler` and the scheduled-function runner (tests pass a `ManualClock`). */
  clock?: Clock;
}

/** How a call reaches a function. */
export interface CallOptions extends Omit<MutationOptions, "call"> {
  auth?: UserIdentity | null;
  /** The kind the caller expects; a mismatch is a BAD_REQUEST. */
  kind?: FunctionKind;
  /** Internal functions are callable only when this is true (server-side callers). */
  allowInternal?: boolean;
  /**
   * Names a mutation call (16-128 characters of `A-Z a-z 0-9 _ -`, e.g. a random
   * UUID): sent again with the same function, args and caller, it returns the first
   * call's result and runs nothing. Sending the same id with another call is a CONFLICT.
   */
  mutationId?: string;
}

/**
 * The server-side core: a schema's document store plus the functions that run on it.
 * Framework-free; the express app and the tRPC router are thin layers over `call`.
 */
export class ConvoyRuntime {
  store: DocumentStore<any>;
  readonly driver: Driver;
  private functions: Map<string, AnyConvoyFunction>;
  private readonly schemaName: string | undefined;
  /** What "now" is for `ctx.scheduler` and the scheduled-function runner. */
  readonly clock: Clock;
  private readonly scheduledListeners = new Set<() => void>();

  constructor(options: ConvoyRuntimeOptions) {
    this.clock = options.clock ?? systemClock;
    this.driver = options.driver;
    this.schemaName = options.schemaName;
    this.store = this.createStore(options.schema);
    this.functions = flattenFunctions(options.functions);
  }

  private observer: MutationObserver | null = null;

  private createStore(schema: SchemaDefinition): DocumentStore<any> {
    return createDocumentStore({
      schema,
      driver: this.driver,
      schemaName: this.schemaName,
      observer: () => this.observer,
    });
  }

  /**
   * Lets the live-query engine follow every mutation (one observer at a time);
   * returns the function that detaches it.
   */
  observeMutations(observer: MutationObserver): () => void {
    if (this.observer !== null) {
      throw new Error("This runtime already has a live-query engine: stop it before starting another");
    }
    this.observer = observer;
    return () => {
      if (this.observer === observer) this.observer = null;
    };
  }

  /**
   * Calls `listener` each time this runtime commits a mutation (or an action's
   * `ctx.scheduler` call) that scheduled functions: the runner wakes at once instead of
   * at its next poll. Returns the function that stops listening.
   */
  onScheduled(listener: () => void): () => void {
    this.scheduledListeners.add(listener);
    return () => void this.scheduledListeners.delete(listener);
  }

  private announceScheduled(): void {
    for (const listener of this.scheduledListeners) listener();
  }

  /** Public function paths by kind, for the health endpoint and logs. */
  describe(): { queries: string[]; mutations: string[]; actions: string[] } {
    const paths = (kind: FunctionKind) =>
      [...this.functions].filter(([, fn]) => fn.kind === kind && fn.visibility === "public").map(([path]) => path);
    return { queries: paths("query"), mutations: paths("mutation"), actions: paths("action") };
  }

  /** The function at `path`, checked against what the caller may call. */
  resolve(path: unknown, options: CallOptions = {}): AnyConvoyFunction {
    const fn = typeof path === "string" ? this.functions.get(path) : undefined;
    if (fn === undefined || (fn.visibility === "internal" && !options.allowInternal)) {
      const shown = typeof path === "string" ? JSON.stringify(path.slice(0, 200)) : typeof path;
      throw new ConvoyError({
        code: "NOT_FOUND",
        message: `No public function ${shown}. Paths look like "projects.listProjects" (module, then export)`,
      });
    }
    if (options.kind !== undefined && fn.kind !== options.kind) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${String(path)} is ${withArticle(fn.kind)}; call it as ${withArticle(fn.kind)}, not ${withArticle(options.kind)}`,
      });
    }
    return fn;
  }

  /**
   * Runs the function at `path` with `args`.
   * @example
   * ```ts
   * await runtime.call("projects.listProjects", { userId }, { kind: "query", auth: null });
   * ```
   */
  async call(path: string, args: unknown, options: CallOptions = {}): Promise<unknown> {
    const fn = this.resolve(path, options);
    try {
      return await this.run(path, fn, args, options);
    } catch (error) {
      // An action's own network errors are its own; its ctx.run* calls were translated already.
      if (fn.kind === "action") throw error;
      throw lostDatabaseError(error, fn.kind, options.mutationId !== undefined);
    }
  }

  /**
   * Runs a mutation (public or internal) whose `beforeCommit` writes in the same
   * transaction: how the scheduler records that a scheduled mutation ran, exactly once.
   * @internal
   */
  async runMutationWith(
    path: string,
    args: unknown,
    beforeCommit: (tx: TransactionContext) => Promise<void>,
  ): Promise<unknown> {
    const fn = this.resolve(path, { kind: "mutation", allowInternal: true });
    try {
      return await runFunction(this.store, path, fn, args, null, {}, { ...this.mutationServices, beforeCommit });
    } catch (error) {
      throw lostDatabaseError(error, fn.kind, false);
    }
  }

  private readonly mutationServices: MutationServices = {
    scheduler: (tx) =>
      JobWriter.inTransaction(tx, {
        clock: this.clock,
        resolve: (path) => this.resolve(path, { allowInternal: true }),
      }),
    onScheduled: () => this.announceScheduled(),
  };

  /** `ctx.scheduler` of an action: each call writes at once. */
  private actionScheduler(): JobWriter {
    return new JobWriter({
      schemaName: this.store.schemaName,
      clock: this.clock,
      resolve: (path) => this.resolve(path, { allowInternal: true }),
      query: (text, params) => this.driver.query(text, params),
      queue: async (text, params) => {
        await this.driver.query(text, params);
        this.announceScheduled();
      },
    });
  }

  /** Runs an action: outside any transaction, never retried; `ctx.run*` call functions of this runtime. */
  private async runAction(path: string, fn: AnyConvoyFunction, rawArgs: unknown, auth: UserIdentity | null) {
    const args = parseArgs(path, fn, rawArgs);
    return fn.handler(this.actionContext(auth), args);
  }

  /**
   * The `ctx` of an action (and of an HTTP action) calling as `auth`: `run*` call
   * functions of this runtime, internal ones included, each in its own transaction.
   * @internal
   */
  actionContext(auth: UserIdentity | null) {
    const run = (kind: FunctionKind) => (ref: unknown, callArgs?: unknown) => {
      const refPath = (ref as { path?: unknown } | null)?.path;
      if (typeof refPath !== "string") {
        return Promise.reject(
          new ConvoyError({
            code: "BAD_REQUEST",
            message: `ctx.run${kind[0]!.toUpperCase()}${kind.slice(1)}: pass a function reference such as internal.module.fn`,
          }),
        );
      }
      return this.call(refPath, callArgs, { kind, auth, allowInternal: true });
    };
    return {
      auth,
      runQuery: run("query"),
      runMutation: run("mutation"),
      runAction: run("action"),
      scheduler: this.actionScheduler(),
    };
  }

  private run(path: string, fn: AnyConvoyFunction, args: unknown, options: CallOptions): Promise<unknown> {
    const { mutationId, ...rest } = options;
    if (fn.kind === "action") {
      if (mutationId !== undefined) {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `${path} is an action: actions are never sent twice, so they take no mutation id`,
        });
      }
      return this.runAction(path, fn, args, options.auth ?? null);
    }
    if (mutationId === undefined) {
      return runFunction(this.store, path, fn, args, options.auth ?? null, rest, this.mutationServices);
    }
    if (fn.kind !== "mutation") {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: `${path} is ${withArticle(fn.kind)}: send a mutation id only with mutations`,
      });
    }
    if (typeof mutationId !== "string" || !MUTATION_ID_PATTERN.test(mutationId)) {
      throw new ConvoyError({
        code: "BAD_REQUEST",
        message: 'A mutation id is 16 to 128 characters of letters, digits, "_" and "-", e.g. crypto.randomUUID()',
      });
    }
    // Before anything walks the arguments: the fingerprint's JSON would overflow the stack.
    checkArgsDepth(path, args);
    const fingerprint = createHash("sha256")
      .update(`${path}\u0000${canonicalJson(args ?? {})}\u0000${callerKey(options.auth ?? null)}`)
      .digest("base64url");
    return runFunction(
      this.store,
      path,
      fn,
      args,
      options.auth ?? null,
      { ...rest, call: { id: mutationId, fingerprint } },
      this.mutationServices,
    );
  }

  /** Swaps in a new build: its functions and, when given, its schema (`convoy dev`). */
  replace(functions: FunctionTree, schema?: SchemaDefinition): void {
    this.functions = flattenFunctions(functions);
    if (schema !== undefined && schema !== this.store.schema) {
      this.store = this.createStore(schema);
    }
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

/** "a query", "a mutation", "an action". */
function withArticle(kind: FunctionKind): string {
  return kind === "action" ? "an action" : `a ${kind}`;
}

/**
 * Who made a call, for binding a mutation id to its caller: the subject and issuer,
 * not the whole identity, whose other claims (expiry, issued-at) change when the
 * client's token is refreshed between a send and its resend.
 */
function callerKey(auth: UserIdentity | null): string {
  if (auth === null) return "anonymous";
  return canonicalJson({ subject: auth.subject, issuer: typeof auth.issuer === "string" ? auth.issuer : null });
}

/** Options of {@link createConvoyRuntime}. */
export interface CreateConvoyRuntimeOptions extends OpenDatabaseOptions {
  schema: SchemaDefinition;
  functions: FunctionTree;
  schemaName?: string;
}

/**
 * Opens the database (`DATABASE_URL`, else embedded PGlite) and returns a runtime for
 * embedding Convoy in an existing server. Run `convoy generate` first so the tables exist.
 *
 * @example
 * ```ts
 * const runtime = await createConvoyRuntime({ schema, functions });
 * ```
 */
export async function createConvoyRuntime(options: CreateConvoyRuntimeOptions): Promise<ConvoyRuntime> {
  const driver = await openDatabase(options);
  return new ConvoyRuntime({
    schema: options.schema,
    functions: options.functions,
    driver,
    ...(options.schemaName ? { schemaName: options.schemaName } : {}),
  });
}
