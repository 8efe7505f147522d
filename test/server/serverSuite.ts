import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express from "express";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import { ConvoyError, type Id } from "../../runtime/index.js";
import { ConvoyRuntime } from "../../runtime/server/convoyRuntime.js";
import { createConvoyApp } from "../../runtime/server/expressApp.js";
import {
  api,
  BANNED_USER,
  createHostRouter,
  headerAuth,
  internal,
  listen,
  postJson,
  SECRET_DETAIL,
  testFunctions,
  testRouter,
  type HostContext,
  type HostRouter,
  type RunningServer,
  type TestRouter,
} from "../support/serverHarness.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";

/** What a promise rejected with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, but the call resolved to ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

async function convoyRejection(promise: Promise<unknown>): Promise<ConvoyError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ConvoyError);
  return error as ConvoyError;
}

async function trpcRejection(promise: Promise<unknown>): Promise<TRPCClientError<TestRouter>> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<TestRouter>;
}

/** Paths of validation issues, dotted: `[["email"], ["name"]]` is `["email", "name"]`. */
function issuePaths(data: unknown): string[] {
  const issues = (data as { issues?: { path: (string | number)[] }[] } | undefined)?.issues;
  expect(Array.isArray(issues), `expected data.issues in ${JSON.stringify(data)}`).toBe(true);
  return issues!.map((issue) => issue.path.join(".")).sort();
}

/** Convoy's HTTP server, its clients and its tRPC router on one driver. */
export function describeServerSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`convoy server on ${factory.name}`, () => {
    let database: TestDatabase;
    let runtime: ConvoyRuntime;
    /** The app `convoy serve` runs: header auth, default limits, production errors. */
    let server: RunningServer;
    /** The same functions with `bodyLimit: "1kb"`. */
    let smallServer: RunningServer;
    /** The same functions with `dev: true`. */
    let devServer: RunningServer;
    /** A host express + tRPC app with Convoy merged into its router. */
    let hostServer: RunningServer;
    /** What the production app reported through `onError`. */
    const unexpected: unknown[] = [];
    let seedId: Id<"users">;

    beforeAll(async () => {
      database = await factory.open();
      await syncSchema(database.driver, testSchema, { schemaName: database.schemaName });
      runtime = new ConvoyRuntime({
        schema: testSchema,
        functions: testFunctions,
        driver: database.driver,
        schemaName: database.schemaName,
      });
      const common = { runtime, functions: testFunctions, auth: headerAuth };
      server = await listen(createConvoyApp({ ...common, onError: (error) => unexpected.push(error) }).app);
      smallServer = await listen(createConvoyApp({ ...common, bodyLimit: "1kb" }).app);
      devServer = await listen(createConvoyApp({ ...common, dev: true }).app);

      const host = express();
      host.use(
        "/trpc",
        createExpressMiddleware({
          router: createHostRouter(runtime),
          createContext: ({ req }): HostContext => {
            const id = req.headers["x-host-user"];
            return { user: typeof id === "string" ? { id } : null };
          },
        }),
      );
      hostServer = await listen(host);
    });

    afterAll(async () => {
      for (const running of [server, smallServer, devServer, hostServer]) await running?.close();
      await database?.dispose();
    });

    beforeEach(async () => {
      unexpected.length = 0;
      await database.driver.exec(`DELETE FROM "${database.schemaName}"."users"`);
      seedId = (await runtime.call("users.create", { name: "Seed" }, { kind: "mutation" })) as Id<"users">;
    });

    /** A well-formed users id that no document has: the seed's with another last character. */
    const missingId = () => `${seedId.slice(0, -1)}${seedId.endsWith("0") ? "1" : "0"}` as Id<"users">;
    /** Every user row as stored, in id order: what "the database is unchanged" compares. */
    const snapshot = () =>
      database.driver.query<{ _id: string; doc: unknown }>(
        `SELECT _id, doc FROM "${database.schemaName}"."users" ORDER BY _id`,
      );
    /** Runs `call`, which must be rejected, and checks it wrote nothing. */
    const expectNothingWritten = async <T>(call: () => Promise<T>): Promise<T> => {
      const before = await snapshot();
      expect(before).toHaveLength(1);
      const result = await call();
      expect(await snapshot()).toEqual(before);
      return result;
    };
    const userNames = async () => (await snapshot()).map((row) => (row.doc as { name: string }).name).sort();

    describe("native endpoints POST /api/query and /api/mutation", () => {
      const query = (body: unknown, headers?: Record<string, string>) =>
        postJson(`${server.url}/api/query`, body, headers);
      const mutation = (body: unknown, headers?: Record<string, string>) =>
        postJson(`${server.url}/api/mutation`, body, headers);

      it("answers { value, position } for a mutation and { value } for a query, and the write is stored", async () => {
        const created = await mutation({ path: "users.create", args: { name: "Ada", createdAt: 7 } });
        expect(created.status).toBe(200);
        expect(created.contentType).toMatch(/^application\/json/);
        // The position is the commit's transaction id (read-your-writes, docs/live.md).
        expect(Object.keys(created.body)).toEqual(["value", "position"]);
        expect(created.body.position).toMatch(/^[0-9]+$/);
        const id = created.body.value as string;
        expect(id).toMatch(/^users_[0-9a-z]{26}$/);

        const read = await query({ path: "users.get", args: { id } });
        expect(read).toMatchObject({ status: 200 });
        expect(read.body).toEqual({ value: { _id: id, _creationTime: expect.any(Number), name: "Ada", createdAt: 7 } });
        expect(await userNames()).toEqual(["Ada", "Seed"]);

        const list = await query({ path: "users.list" });
        expect(list.status).toBe(200);
        expect((list.body.value as { name: string }[]).map((user) => user.name).sort()).toEqual(["Ada", "Seed"]);
      });

      it("a handler returning null or undefined answers { value: null }; ctx.auth comes from the auth hook", async () => {
        expect(await query({ path: "users.get", args: { id: missingId() } })).toMatchObject({
          status: 200,
          body: { value: null },
        });
        expect((await query({ path: "users.whoami", args: {} })).body).toEqual({ value: null });
        expect((await query({ path: "users.whoami" }, { "x-user": "alice" })).body).toEqual({
          value: { subject: "alice" },
        });
      });

      it("an auth hook's ConvoyError is its status: 401, and the mutation does not run", async () => {
        const refused = await expectNothingWritten(() =>
          mutation({ path: "users.create", args: { name: "Eve" } }, { "x-user": BANNED_USER }),
        );
        expect(refused).toMatchObject({
          status: 401,
          body: { error: { code: "UNAUTHORIZED", message: "This token was revoked" } },
        });
      });

      it("rejects invalid arguments with 400 BAD_REQUEST naming each field in data.issues", async () => {
        const invalid = await expectNothingWritten(() =>
          mutation({ path: "users.create", args: { name: "", email: "not an email", createdAt: 1.5 } }),
        );
        expect(invalid.status).toBe(400);
        expect(invalid.body.error.code).toBe("BAD_REQUEST");
        expect(invalid.body.error.message).toMatch(/^Invalid arguments for users\.create: /);
        expect(issuePaths(invalid.body.error.data)).toEqual(["createdAt", "email", "name"]);
        for (const issue of invalid.body.error.data.issues) expect(issue.message).toEqual(expect.any(String));

        const wrongId = await query({ path: "users.get", args: { id: "projects_0000000000000000000000000" } });
        expect(wrongId.status).toBe(400);
        expect(issuePaths(wrongId.body.error.data)).toEqual(["id"]);
        expect(wrongId.body.error.data.issues[0].message).toMatch(/Expected an id of table "users"/);
      });

      it("rejects unknown argument fields and missing required ones", async () => {
        const extra = await expectNothingWritten(() =>
          mutation({ path: "users.create", args: { name: "Ada", admin: true } }),
        );
        expect(extra.status).toBe(400);
        expect(extra.body.error.code).toBe("BAD_REQUEST");
        expect(extra.body.error.message).toMatch(/admin/);

        const missing = await expectNothingWritten(() => mutation({ path: "users.create", args: {} }));
        expect(missing.status).toBe(400);
        expect(issuePaths(missing.body.error.data)).toEqual(["name"]);
      });

      it("answers 404 NOT_FOUND for an unknown function", async () => {
        for (const path of ["users.nope", "nope.create", "users", "users.create.extra", "__proto__", ""]) {
          const response = await query({ path, args: {} });
          expect(response.status, path).toBe(404);
          expect(response.body.error.code, path).toBe("NOT_FOUND");
          expect(response.body.error.message, path).toContain(JSON.stringify(path));
        }
        const unknownMutation = await expectNothingWritten(() => mutation({ path: "users.destroy", args: {} }));
        expect(unknownMutation).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
      });

      it("refuses a mutation called as a query and a query called as a mutation with 400", async () => {
        const mutationAsQuery = await expectNothingWritten(() =>
          query({ path: "users.create", args: { name: "Ada" } }),
        );
        expect(mutationAsQuery.status).toBe(400);
        expect(mutationAsQuery.body.error).toEqual({
          code: "BAD_REQUEST",
          message: "users.create is a mutation; call it as a mutation, not a query",
        });
        const queryAsMutation = await mutation({ path: "users.list", args: {} });
        expect(queryAsMutation.status).toBe(400);
        expect(queryAsMutation.body.error.message).toBe("users.list is a query; call it as a query, not a mutation");
      });

      it("hides internal functions: 404 on both endpoints, worded as for a function that does not exist", async () => {
        const asQuery = await query({ path: "admin.secret", args: {} });
        const asMutation = await mutation({ path: "admin.secret", args: {} });
        const wipe = await expectNothingWritten(() => mutation({ path: "admin.wipe", args: {} }));
        const missing = await query({ path: "admin.absent", args: {} });
        for (const response of [asQuery, asMutation, wipe]) {
          expect(response.status).toBe(404);
          expect(response.body.error.code).toBe("NOT_FOUND");
          expect(JSON.stringify(response.body)).not.toContain("the internal secret");
        }
        // The same answer as for a path that does not exist, so probing reveals nothing.
        expect(asQuery.body.error.message.replace("admin.secret", "admin.absent")).toBe(missing.body.error.message);
        // Server-side callers still reach them.
        expect(await runtime.call("admin.secret", {}, { kind: "query", allowInternal: true })).toBe(
          "the internal secret",
        );
      });

      it("answers 400 for a body that is not valid JSON, and writes nothing", async () => {
        for (const raw of ['{"path": "users.create", "args": {"name": "Ada"', "not json", "{'path': 1}"]) {
          const response = await expectNothingWritten(() => mutation(raw));
          expect(response.status, raw).toBe(400);
          expect(response.body.error, raw).toEqual({
            code: "BAD_REQUEST",
            message: "The request body is not valid JSON",
          });
        }
      });

      it("answers 400 for JSON that is not a call: not an object, no path, extra fields", async () => {
        for (const body of ["null", "[]", '"users.list"', "42"]) {
          const response = await query(body);
          expect(response.status, body).toBe(400);
          expect(response.body.error.code, body).toBe("BAD_REQUEST");
          expect(response.body.error.message, body).toMatch(/must be a JSON object/);
        }
        const noPath = await query({ args: {} });
        expect(noPath.status).toBe(400);
        expect(noPath.body.error.message).toMatch(/Missing "path"/);
        const numericPath = await query({ path: 1 });
        expect(numericPath.status).toBe(400);
        const extra = await expectNothingWritten(() =>
          mutation({ path: "users.create", args: { name: "Ada" }, name: "Ada" }),
        );
        expect(extra.status).toBe(400);
        expect(extra.body.error.message).toMatch(/Unknown body field\(s\) name/);
      });

      it("answers 413 PAYLOAD_TOO_LARGE for a body over bodyLimit, and writes nothing", async () => {
        const big = { path: "users.create", args: { name: "x".repeat(2048) } };
        const response = await expectNothingWritten(() => postJson(`${smallServer.url}/api/mutation`, big));
        expect(response.status).toBe(413);
        expect(response.body.error).toEqual({
          code: "PAYLOAD_TOO_LARGE",
          message: "The request body is larger than the limit of 1kb",
        });
        // The same body is fine under the default limit of 1mb; a small one passes the 1kb app.
        expect((await mutation(big)).status).toBe(200);
        const small = await postJson(`${smallServer.url}/api/mutation`, { path: "users.create", args: { name: "Bo" } });
        expect(small.status).toBe(200);
        expect(await userNames()).toEqual(["Bo", "Seed", "x".repeat(2048)]);
      });

      it("a handler's ConvoyError keeps its code and message, and its writes are rolled back", async () => {
        const failed = await expectNothingWritten(() => mutation({ path: "users.fail", args: { name: "Ada" } }));
        expect(failed.status).toBe(400);
        expect(failed.body).toEqual({ error: { code: "ALREADY_EXISTS", message: "A user named Ada already exists" } });

        const two = await expectNothingWritten(() =>
          mutation({ path: "users.createTwoThenThrow", args: { name: "Pair" } }),
        );
        expect(two.status).toBe(409);
        expect(two.body.error).toEqual({ code: "CONFLICT", message: "Gave up after two inserts" });

        const claimed = await mutation({ path: "users.claim", args: { name: "Ada" } });
        expect(claimed.status).toBe(409);
        expect(claimed.body.error).toEqual({
          code: "CONFLICT",
          message: "Ada is taken",
          data: { code: "NAME_TAKEN", field: "name" },
        });
        expect(unexpected).toEqual([]);
      });

      it("a plain Error is a 500 'Internal server error' that hides its message, reported through onError", async () => {
        const crashed = await expectNothingWritten(() => mutation({ path: "users.crash", args: {} }));
        expect(crashed.status).toBe(500);
        expect(crashed.body).toEqual({ error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } });
        expect(JSON.stringify(crashed.body)).not.toContain("secret");
        expect(unexpected).toHaveLength(1);
        expect((unexpected[0] as Error).message).toBe(SECRET_DETAIL);
      });

      it("in dev mode a plain Error's message and stack reach the client", async () => {
        const crashed = await expectNothingWritten(() =>
          postJson(`${devServer.url}/api/mutation`, { path: "users.crash", args: {} }),
        );
        expect(crashed.status).toBe(500);
        expect(crashed.body.error.code).toBe("INTERNAL_SERVER_ERROR");
        expect(crashed.body.error.message).toMatch(new RegExp(`^${SECRET_DETAIL}\\n`));
        expect(crashed.body.error.message).toMatch(/serverHarness\.ts/);
      });

      it("GET /api/health answers 200 with the public functions by kind", async () => {
        const response = await fetch(`${server.url}/api/health`);
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({
          ok: true,
          database: factory.name,
          functions: {
            queries: ["users.get", "users.list", "users.whoami"],
            mutations: ["users.create", "users.fail", "users.crash", "users.claim", "users.createTwoThenThrow"],
            actions: [],
          },
        });
      });

      it("answers unknown /api routes and wrong methods with a 404 JSON error", async () => {
        for (const [method, path] of [
          ["GET", "/api/xyz"],
          ["POST", "/api/xyz"],
          ["GET", "/api/query"],
          ["POST", "/api/health"],
        ] as const) {
          const response = await fetch(`${server.url}${path}`, { method });
          expect(response.status, `${method} ${path}`).toBe(404);
          expect(response.headers.get("content-type"), `${method} ${path}`).toMatch(/^application\/json/);
          expect(((await response.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
        }
      });
    });

    describe("createConvoyClient", () => {
      const client = () => createConvoyClient({ url: `${server.url}/`, headers: { "x-user": "alice" } });

      it("runs mutations and queries through typed references", async () => {
        const id = await client().mutation(api.users.create, { name: "Ada", email: "ada@example.com" });
        expect(id).toMatch(/^users_/);
        expect(await client().query(api.users.get, { id })).toEqual({
          _id: id,
          _creationTime: expect.any(Number),
          name: "Ada",
          createdAt: 1,
          email: "ada@example.com",
        });
        expect((await client().query(api.users.list, {})).map((user) => user.name).sort()).toEqual(["Ada", "Seed"]);
        expect(client().url).toBe(server.url);
      });

      it("sends its headers, so ctx.auth is the caller; headers may be a function", async () => {
        expect(await client().query(api.users.whoami, {})).toEqual({ subject: "alice" });
        const bob = createConvoyClient({ url: server.url, headers: async () => ({ "x-user": "bob" }) });
        expect(await bob.query(api.users.whoami, {})).toEqual({ subject: "bob" });
        expect(await createConvoyClient({ url: server.url }).query(api.users.whoami, {})).toBeNull();
      });

      it("throws a ConvoyError with code, message and data.issues for invalid arguments", async () => {
        const error = await expectNothingWritten(() =>
          convoyRejection(client().mutation(api.users.create, { name: "", email: "nope" })),
        );
        expect(error.code).toBe("BAD_REQUEST");
        expect(error.message).toMatch(/^Invalid arguments for users\.create: name: .*; email: /);
        expect(issuePaths(error.data)).toEqual(["email", "name"]);
      });

      it("throws the handler's ConvoyError code and message, and a bare 500 for a crash", async () => {
        const failed = await expectNothingWritten(() =>
          convoyRejection(client().mutation(api.users.fail, { name: "Ada" })),
        );
        expect(failed.code).toBe("ALREADY_EXISTS");
        expect(failed.message).toBe("A user named Ada already exists");

        const two = await expectNothingWritten(() =>
          convoyRejection(client().mutation(api.users.createTwoThenThrow, { name: "Pair" })),
        );
        expect([two.code, two.message]).toEqual(["CONFLICT", "Gave up after two inserts"]);

        const claimed = await convoyRejection(client().mutation(api.users.claim, { name: "Ada" }));
        expect([claimed.code, claimed.message]).toEqual(["CONFLICT", "Ada is taken"]);
        expect(claimed.data).toEqual({ code: "NAME_TAKEN", field: "name" });

        const crashed = await expectNothingWritten(() => convoyRejection(client().mutation(api.users.crash, {})));
        expect(crashed.code).toBe("INTERNAL_SERVER_ERROR");
        expect(crashed.message).toBe("Internal server error");
      });

      it("cannot reach internal functions, and calling a reference as the wrong kind is refused", async () => {
        const hidden = await convoyRejection(client().query(internal.admin.secret as never, {} as never));
        expect(hidden.code).toBe("NOT_FOUND");
        const wipe = await expectNothingWritten(() =>
          convoyRejection(client().mutation(internal.admin.wipe as never, {} as never)),
        );
        expect(wipe.code).toBe("NOT_FOUND");
        const wrongKind = await convoyRejection(client().query(api.users.create as never, { name: "Ada" } as never));
        expect(wrongKind.code).toBe("BAD_REQUEST");
      });

      it("reports an oversized body and an unreachable server as ConvoyErrors", async () => {
        const small = createConvoyClient({ url: smallServer.url });
        const tooLarge = await expectNothingWritten(() =>
          convoyRejection(small.mutation(api.users.create, { name: "x".repeat(2048) })),
        );
        expect(tooLarge.code).toBe("PAYLOAD_TOO_LARGE");

        const gone = await listen(express());
        await gone.close();
        const unreachable = await convoyRejection(createConvoyClient({ url: gone.url }).query(api.users.list, {}));
        expect(unreachable.code).toBe("SERVICE_UNAVAILABLE");
        expect(unreachable.message).toContain(gone.url);
      });
    });

    describe("tRPC at /trpc", () => {
      const trpc = (headers: Record<string, string> = {}, base = server.url) =>
        createTRPCClient<TestRouter>({ links: [httpBatchLink({ url: `${base}/trpc`, headers })] });

      it("runs mutations and queries, batched, with the handlers' results", async () => {
        const client = trpc();
        const id = await client.users.create.mutate({ name: "Ada", createdAt: 3 });
        expect(id).toMatch(/^users_/);
        const [user, users, missing] = await Promise.all([
          client.users.get.query({ id }),
          client.users.list.query({}),
          client.users.get.query({ id: missingId() }),
        ]);
        expect(user).toEqual({ _id: id, _creationTime: expect.any(Number), name: "Ada", createdAt: 3 });
        expect(users.map((doc) => doc.name).sort()).toEqual(["Ada", "Seed"]);
        expect(missing).toBeNull();
        expect(await userNames()).toEqual(["Ada", "Seed"]);
      });

      it("ctx.auth is the identity the app's auth hook reads from the request", async () => {
        expect(await trpc({ "x-user": "alice" }).users.whoami.query({})).toEqual({ subject: "alice" });
        expect(await trpc().users.whoami.query({})).toBeNull();
      });

      it("rejects invalid input with httpStatus 400, BAD_REQUEST and data.issues naming the fields", async () => {
        const error = await expectNothingWritten(() =>
          trpcRejection(trpc().users.create.mutate({ name: "", email: "nope" })),
        );
        expect(error.data?.httpStatus).toBe(400);
        expect(error.data?.code).toBe("BAD_REQUEST");
        expect(error.data?.convoyCode).toBe("BAD_REQUEST");
        expect(issuePaths(error.data)).toEqual(["email", "name"]);
        expect(error.data?.stack).toBeUndefined();
      });

      it("a handler's ConvoyError keeps its message and code (as data.convoyCode); writes are rolled back", async () => {
        const failed = await expectNothingWritten(() => trpcRejection(trpc().users.fail.mutate({ name: "Ada" })));
        expect(failed.message).toBe("A user named Ada already exists");
        expect(failed.data?.convoyCode).toBe("ALREADY_EXISTS");
        expect(failed.data?.httpStatus).toBe(400);

        const two = await expectNothingWritten(() =>
          trpcRejection(trpc().users.createTwoThenThrow.mutate({ name: "Pair" })),
        );
        expect(two.message).toBe("Gave up after two inserts");
        expect(two.data?.convoyCode).toBe("CONFLICT");
        expect(two.data?.httpStatus).toBe(409);
      });

      it("a plain Error is a 500 with its writes rolled back, reported through onError", async () => {
        const crashed = await expectNothingWritten(() => trpcRejection(trpc().users.crash.mutate({})));
        expect(crashed.data?.httpStatus).toBe(500);
        expect(crashed.data?.convoyCode).toBe("INTERNAL_SERVER_ERROR");
        expect(unexpected).toHaveLength(1);
        expect((unexpected[0] as Error).message).toBe(SECRET_DETAIL);
      });

      it("a plain Error's message does not reach tRPC clients outside dev mode", async () => {
        const crashed = await trpcRejection(trpc().users.crash.mutate({}));
        expect(crashed.message).not.toContain("secret");
        expect(crashed.message).toBe("Internal server error");
      });

      it("a ConvoyError's data fields reach tRPC clients", async () => {
        const claimed = await trpcRejection(trpc().users.claim.mutate({ name: "Ada" }));
        expect(claimed.message).toBe("Ada is taken");
        expect(claimed.data?.convoyCode).toBe("CONFLICT");
        expect((claimed.data as { field?: unknown } | undefined)?.field).toBe("name");
      });

      it("a ConvoyError's data does not overwrite tRPC's code and httpStatus", async () => {
        const claimed = await trpcRejection(trpc().users.claim.mutate({ name: "Ada" }));
        expect(claimed.data?.httpStatus).toBe(409);
        expect(claimed.data?.code).toBe("CONFLICT");
      });

      it("an auth hook's ConvoyError keeps its status over tRPC: 401, not 500", async () => {
        const refused = await trpcRejection(trpc({ "x-user": BANNED_USER }).users.whoami.query({}));
        expect(refused.data?.convoyCode).toBe("UNAUTHORIZED");
        expect(refused.data?.httpStatus).toBe(401);
      });

      it("internal functions are not procedures: 404 over tRPC, nothing runs", async () => {
        const client = trpc() as any;
        const secret = await trpcRejection(client.admin.secret.query());
        expect(secret.data?.httpStatus).toBe(404);
        expect(secret.data?.code).toBe("NOT_FOUND");
        const wipe = await expectNothingWritten(() => trpcRejection(client.admin.wipe.mutate()));
        expect(wipe.data?.httpStatus).toBe(404);

        const raw = await fetch(`${server.url}/trpc/admin.secret`);
        expect(raw.status).toBe(404);
        expect(await raw.text()).not.toContain("the internal secret");
        // Queries also appear as live.* subscriptions; internal functions nowhere.
        expect(Object.keys(testRouter._def.procedures).sort()).toEqual([
          "live.users.get",
          "live.users.list",
          "live.users.whoami",
          "users.claim",
          "users.crash",
          "users.create",
          "users.createTwoThenThrow",
          "users.fail",
          "users.get",
          "users.list",
          "users.whoami",
        ]);
      });

      it("a mutation is not callable as a GET query (405), and bodyLimit applies to tRPC too (413)", async () => {
        const get = await expectNothingWritten(() =>
          fetch(`${server.url}/trpc/users.create?input=${encodeURIComponent(JSON.stringify({ name: "Ada" }))}`),
        );
        expect(get.status).toBe(405);
        const tooLarge = await expectNothingWritten(() =>
          trpcRejection(trpc({}, smallServer.url).users.create.mutate({ name: "x".repeat(2048) })),
        );
        expect(tooLarge.data?.httpStatus).toBe(413);
        expect(await trpc({}, smallServer.url).users.list.query({})).toHaveLength(1);
        // A function without required arguments can be called with no input, as on /api/query.
        expect(await trpc({}, smallServer.url).users.list.query()).toHaveLength(1);
      });
    });

    describe("merged into a host tRPC app", () => {
      const host = (user?: string) =>
        createTRPCClient<HostRouter>({
          links: [
            httpBatchLink({
              url: `${hostServer.url}/trpc`,
              headers: user === undefined ? {} : { "x-host-user": user },
            }),
          ],
        });

      it("serves the host's own procedures next to Convoy's", async () => {
        expect(await host().hello.query()).toBe("hi");
        const [hello, users] = await Promise.all([host().hello.query(), host().convoy.users.list.query({})]);
        expect(hello).toBe("hi");
        expect(users.map((user) => user.name)).toEqual(["Seed"]);
      });

      it("ctx.auth is the host context's user, through the auth option", async () => {
        expect(await host("bob").convoy.users.whoami.query({})).toEqual({ subject: "bob" });
        expect(await host().convoy.users.whoami.query({})).toBeNull();
        // The Convoy app's own header means nothing to the host.
        const client = createTRPCClient<HostRouter>({
          links: [httpBatchLink({ url: `${hostServer.url}/trpc`, headers: { "x-user": "alice" } })],
        });
        expect(await client.convoy.users.whoami.query({})).toBeNull();
      });

      it("runs mutations on the given runtime", async () => {
        const id = await host("bob").convoy.users.create.mutate({ name: "Ada" });
        expect(id).toMatch(/^users_/);
        expect(await runtime.call("users.get", { id }, { kind: "query" })).toMatchObject({ _id: id, name: "Ada" });
        expect(await userNames()).toEqual(["Ada", "Seed"]);
      });

      it("errors keep their message and a matching tRPC code; rejected writes are rolled back", async () => {
        const invalid = await expectNothingWritten(() => rejection(host().convoy.users.create.mutate({ name: "" })));
        expect(invalid).toBeInstanceOf(TRPCClientError);
        expect((invalid as TRPCClientError<HostRouter>).data?.httpStatus).toBe(400);

        const failed = (await expectNothingWritten(() =>
          rejection(host().convoy.users.fail.mutate({ name: "Ada" })),
        )) as TRPCClientError<HostRouter>;
        expect(failed).toBeInstanceOf(TRPCClientError);
        expect(failed.message).toBe("A user named Ada already exists");
        expect(failed.data?.code).toBe("BAD_REQUEST");
        expect(failed.data?.httpStatus).toBe(400);
      });

      it("internal functions are absent from the merged router", async () => {
        const procedures = Object.keys(createHostRouter(runtime)._def.procedures);
        expect(procedures).toContain("hello");
        expect(procedures).toContain("convoy.users.create");
        expect(procedures.filter((path) => path.includes("admin"))).toEqual([]);
        const error = await rejection((host("bob") as any).convoy.admin.secret.query());
        expect(error).toBeInstanceOf(TRPCClientError);
        expect((error as TRPCClientError<HostRouter>).data?.httpStatus).toBe(404);
      });
    });
  });
}
