import { randomBytes } from "node:crypto";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { ConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";
import type { FunctionVisibility, MutationCtx } from "../functions/defineFunction.js";
import type {
  FunctionArgs,
  FunctionReference,
  FunctionReturnType,
  FunctionTree,
} from "../functions/functionReference.js";
import type { HttpRouter } from "../http/httpRouter.js";
import { HTTP_ROUTES_PREFIX, serveHttpRoute } from "../http/serveHttpRoute.js";
import type { DataModelFromSchema, GenericDataModel } from "../schema/dataModel.js";
import type { SchemaDefinition } from "../schema/defineSchema.js";
import type { Crons } from "../scheduler/cronJobs.js";
import { JobWriter } from "../scheduler/jobWriter.js";
import { ScheduledFunctionRunner } from "../scheduler/scheduledFunctionRunner.js";
import { ConvoyRuntime } from "../server/convoyRuntime.js";
import { sharedPgliteDriver } from "./sharedPglite.js";
import { TestClock } from "./testClock.js";

/** A query or mutation reference, public (`api.*`) or internal (`internal.*`). */
type TestReference<TKind extends "query" | "mutation" | "action"> = FunctionReference<
  TKind,
  any,
  any,
  FunctionVisibility
>;

/** Options of {@link convoyTest}. */
export interface ConvoyTestOptions {
  /** The app's HTTP routes (the default export of `convoy/http.ts`), for `t.fetch`. */
  http?: HttpRouter;
  /** The app's cron jobs (the default export of `convoy/crons.ts`): due ones run in `advanceTime`. */
  crons?: Crons;
}

/** A test's own Convoy: the real engine on a fresh database, driven from the test. */
export interface ConvoyTest<TDataModel extends GenericDataModel = GenericDataModel> {
  /**
   * Runs a query (internal ones too) as the test's identity.
   * @example
   * ```ts
   * const projects = await t.query(api.projects.listProjects, { userId });
   * ```
   */
  query<TRef extends TestReference<"query">>(ref: TRef, args: FunctionArgs<TRef>): Promise<FunctionReturnType<TRef>>;
  /**
   * Runs a mutation (internal ones too) in its own transaction, as the test's identity.
   * @example
   * ```ts
   * const userId = await t.mutation(api.users.createUser, { name: "Ada" });
   * ```
   */
  mutation<TRef extends TestReference<"mutation">>(
    ref: TRef,
    args: FunctionArgs<TRef>,
  ): Promise<FunctionReturnType<TRef>>;
  /**
   * Runs an action (internal ones too) as the test's identity.
   * @example
   * ```ts
   * const { url } = await t.action(api.payments.createCheckout, { planId: "pro" });
   * ```
   */
  action<TRef extends TestReference<"action">>(ref: TRef, args: FunctionArgs<TRef>): Promise<FunctionReturnType<TRef>>;
  /**
   * Runs `fn` in one transaction with a writable `ctx.db`: seed data, or read what functions wrote.
   * @example
   * ```ts
   * const userId = await t.run((ctx) => ctx.db.insert("users", { name: "Ada", createdAt: 0 }));
   * ```
   */
  run<T>(fn: (ctx: MutationCtx<TDataModel>) => Promise<T> | T): Promise<T>;
  /**
   * The same database, clock and routes, called as `identity` (`ctx.auth` in functions).
   * @example
   * ```ts
   * const asAda = t.withIdentity({ subject: "ada" });
   * ```
   */
  withIdentity(identity: UserIdentity): ConvoyTest<TDataModel>;
  /**
   * Calls an HTTP route of `options.http` by its path in `convoy/http.ts` (served under
   * `/http` by a real server), with a standard Fetch `RequestInit`.
   * @example
   * ```ts
   * const response = await t.fetch("/webhooks/projects", { method: "POST", body: JSON.stringify({ name: "x" }) });
   * ```
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The test's clock: real (or vitest-faked) `Date.now()` plus what {@link ConvoyTest.advanceTime} added. */
  now(): number;
  /**
   * Moves the test's clock forward by `ms`.
   * Then runs the scheduled functions and cron runs due by the new time (in time order,
   * on the real scheduler: `ScheduledFunctionRunner.runDue`).
   */
  advanceTime(ms: number): Promise<void>;
  /**
   * Runs scheduled functions until none are left, moving the clock to each one's time.
   * Cron jobs are left pending (they never finish); a function that keeps scheduling
   * itself fails after 1,000 runs.
   */
  finishScheduledFunctions(): Promise<void>;
}

/** What every `t` of one `convoyTest` shares. */
interface TestEngine {
  runtime: Promise<ConvoyRuntime>;
  clock: TestClock;
  http: HttpRouter | undefined;
  runner: Promise<ScheduledFunctionRunner>;
}

let testNumber = 0;

async function openRuntime(
  schema: SchemaDefinition,
  functions: FunctionTree,
  clock: TestClock,
): Promise<ConvoyRuntime> {
  const driver = await sharedPgliteDriver();
  const schemaName = `convoy_test_${++testNumber}_${randomBytes(4).toString("hex")}`;
  await syncSchema(driver, schema, { schemaName });
  return new ConvoyRuntime({ schema, functions, driver, schemaName, clock });
}

function checkReference(method: string, ref: unknown): string {
  const path = (ref as { path?: unknown } | null)?.path;
  if (typeof path !== "string") {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `t.${method}: pass a function reference such as api.projects.listProjects (from convoy/_generated/api)`,
    });
  }
  return path;
}

function testOf<TDataModel extends GenericDataModel>(
  engine: TestEngine,
  auth: UserIdentity | null,
): ConvoyTest<TDataModel> {
  return {
    async query(ref, args) {
      const path = checkReference("query", ref);
      const runtime = await engine.runtime;
      return runtime.call(path, args, { kind: "query", auth, allowInternal: true }) as never;
    },
    async mutation(ref, args) {
      const path = checkReference("mutation", ref);
      const runtime = await engine.runtime;
      return runtime.call(path, args, { kind: "mutation", auth, allowInternal: true }) as never;
    },
    async action(ref, args) {
      const path = checkReference("action", ref);
      const runtime = await engine.runtime;
      return runtime.call(path, args, { kind: "action", auth, allowInternal: true }) as never;
    },
    async run(fn) {
      const runtime = await engine.runtime;
      const resolve = (path: string) => runtime.resolve(path, { allowInternal: true });
      return runtime.store.mutation(async (db, tx) =>
        fn({ db, auth, scheduler: JobWriter.inTransaction(tx, { clock: runtime.clock, resolve }) }),
      );
    },
    withIdentity(identity) {
      if (typeof identity?.subject !== "string") {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: 't.withIdentity({ subject: "user-1", ...claims }): subject must be a string',
        });
      }
      return testOf<TDataModel>(engine, identity);
    },
    async fetch(path, init) {
      if (typeof path !== "string" || !path.startsWith("/")) {
        throw new ConvoyError({
          code: "BAD_REQUEST",
          message: `t.fetch(${JSON.stringify(path)}): pass the route's path as in convoy/http.ts, starting with "/"`,
        });
      }
      const runtime = await engine.runtime;
      const request = new Request(`http://convoy.test${HTTP_ROUTES_PREFIX}${path}`, init);
      const routePath = new URL(request.url).pathname.slice(HTTP_ROUTES_PREFIX.length);
      return serveHttpRoute(engine.http, request, routePath, {
        runtime,
        auth,
        dev: true,
        onError: () => {},
      });
    },
    now: () => engine.clock.now(),
    async advanceTime(ms) {
      engine.clock.advance(ms);
      const runner = await engine.runner;
      await runner.runDue(engine.clock.now());
    },
    async finishScheduledFunctions() {
      const runner = await engine.runner;
      let ran = 0;
      for (;;) {
        const next = await runner.nextDueTime({ withoutCrons: true });
        if (next === null) return;
        if (next > engine.clock.now()) engine.clock.advance(next - engine.clock.now());
        ran += (await runner.runDue(engine.clock.now(), { maxJobs: 1000 - ran })).ran;
        if (ran >= 1000) {
          throw new ConvoyError({
            code: "INTERNAL_SERVER_ERROR",
            message:
              "t.finishScheduledFunctions(): 1,000 scheduled functions ran and more are pending: does one keep scheduling itself?",
          });
        }
      }
    },
  };
}

/**
 * A fresh Convoy for one test: your functions on the real engine, over an in-memory
 * PGlite (one per process; each `convoyTest` gets its own Postgres schema in it, with
 * your tables). Call it in each test; nothing is shared between two calls.
 *
 * @example
 * ```ts
 * import { convoyTest } from "convoy/test";
 * import { schema } from "../convoy/schema";
 * import { functions } from "../convoy/_generated/functions";
 * import { api } from "../convoy/_generated/api";
 *
 * test("lists a user's projects", async () => {
 *   const t = convoyTest(schema, functions);
 *   const userId = await t.mutation(api.users.createUser, { name: "Ada" });
 *   await t.mutation(api.projects.createProject, { userId, name: "Engine" });
 *   expect(await t.query(api.projects.listProjects, { userId })).toHaveLength(1);
 * });
 * ```
 */
export function convoyTest<TSchema extends SchemaDefinition>(
  schema: TSchema,
  functions: FunctionTree,
  options: ConvoyTestOptions = {},
): ConvoyTest<DataModelFromSchema<TSchema>> {
  const clock = new TestClock();
  const runtime = openRuntime(schema, functions, clock);
  const runner = runtime.then((opened) => new ScheduledFunctionRunner({ runtime: opened, crons: options.crons }));
  // Reported on first use; not an unhandled rejection if the test never calls it.
  runtime.catch(() => {});
  runner.catch(() => {});
  return testOf({ runtime, clock, http: options.http, runner }, null);
}
