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
import { ConvoyRuntime } from "../server/convoyRuntime.js";
import { sharedPgliteDriver } from "./sharedPglite.js";
import { TestClock } from "./testClock.js";

/** A query or mutation reference, public (`api.*`) or internal (`internal.*`). */
type TestReference<TKind extends "query" | "mutation"> = FunctionReference<TKind, any, any, FunctionVisibility>;

/** Options of {@link convoyTest}. */
export interface ConvoyTestOptions {
  /** The app's HTTP routes (the default export of `convoy/http.ts`), for `t.fetch`. */
  http?: HttpRouter;
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
  // Integration point (issue 15, actions): `action(ref, args)` joins here once `action()` exists.
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
   * Integration point (issue 15, scheduler): it will then run the scheduled functions
   * and crons due by the new time; until the scheduler lands it only moves the clock.
   */
  advanceTime(ms: number): Promise<void>;
  /**
   * Runs scheduled functions until none are left.
   * Integration point (issue 15, scheduler): throws NOT_IMPLEMENTED until the scheduler lands.
   */
  finishScheduledFunctions(): Promise<void>;
}

/** What every `t` of one `convoyTest` shares. */
interface TestEngine {
  runtime: Promise<ConvoyRuntime>;
  clock: TestClock;
  http: HttpRouter | undefined;
}

let testNumber = 0;

async function openRuntime(schema: SchemaDefinition, functions: FunctionTree): Promise<ConvoyRuntime> {
  const driver = await sharedPgliteDriver();
  const schemaName = `convoy_test_${++testNumber}_${randomBytes(4).toString("hex")}`;
  await syncSchema(driver, schema, { schemaName });
  return new ConvoyRuntime({ schema, functions, driver, schemaName });
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
    async run(fn) {
      const runtime = await engine.runtime;
      return runtime.store.mutation(async (db) => fn({ db, auth }));
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
      // Integration point (issue 15, scheduler): give ConvoyRuntime `clock: engine.clock`, keep one
      // ScheduledFunctionRunner per engine (crons from options), and `await runner.runDue(engine.clock.now())`.
    },
    async finishScheduledFunctions() {
      // Integration point (issue 15, scheduler): loop { next = await runner.nextDueTime(); stop when null;
      // advance the clock to it if later; await runner.runDue() }, with a cap that reports a job rescheduling itself forever.
      throw new ConvoyError({
        code: "NOT_IMPLEMENTED",
        message: "t.finishScheduledFunctions(): this Convoy has no scheduler yet",
      });
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
  const runtime = openRuntime(schema, functions);
  // Reported on first use; not an unhandled rejection if the test never calls it.
  runtime.catch(() => {});
  return testOf({ runtime, clock: new TestClock(), http: options.http }, null);
}
