import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { describe, expectTypeOf, it } from "vitest";
import { createConvoyClient } from "../../runtime/client/convoyClient.js";
import type { Id, UserIdentity } from "../../runtime/index.js";
import { api, internal, type HostRouter, type TestRouter } from "../support/serverHarness.js";

/** A users document as the handlers return it. */
interface UserDoc {
  _id: Id<"users">;
  _creationTime: number;
  name: string;
  createdAt: number;
  email?: string | undefined;
}

const links = [httpBatchLink({ url: "http://127.0.0.1:1/trpc" })];
const trpc = createTRPCClient<TestRouter>({ links });
const host = createTRPCClient<HostRouter>({ links });
const convoy = createConvoyClient({ url: "http://127.0.0.1:1" });
declare const userId: Id<"users">;
declare const projectId: Id<"projects">;

describe("typed tRPC client of the Convoy router", () => {
  it("a query takes the function's zod input and returns the handler's awaited result", () => {
    expectTypeOf(trpc.users.get.query).parameter(0).toEqualTypeOf<{ id: Id<"users"> }>();
    expectTypeOf(trpc.users.get.query).returns.resolves.toEqualTypeOf<UserDoc | null>();
    expectTypeOf(trpc.users.list.query).returns.resolves.toEqualTypeOf<UserDoc[]>();
    // tRPC's Serialize<> (no transformer) re-spells UserIdentity's index signature; same values.
    expectTypeOf(trpc.users.whoami.query).returns.resolves.toEqualTypeOf<{
      [x: string]: unknown;
      [x: number]: unknown;
      subject: string;
    } | null>();
  });

  it("a mutation takes zod input (defaults optional) and returns the handler's result", () => {
    expectTypeOf(trpc.users.create.mutate).parameter(0).toEqualTypeOf<{
      name: string;
      createdAt?: number | undefined;
      email?: string | undefined;
    }>();
    expectTypeOf(trpc.users.create.mutate).returns.resolves.toEqualTypeOf<Id<"users">>();
    expectTypeOf(trpc.users.fail.mutate).returns.resolves.toEqualTypeOf<never>();
  });

  it("queries are not mutations, and wrong input does not compile", () => {
    // @ts-expect-error a query has no mutate
    void trpc.users.get.mutate({ id: userId });
    // @ts-expect-error a mutation has no query
    void trpc.users.create.query({ name: "Ada" });
    // @ts-expect-error an id of another table
    void trpc.users.get.query({ id: projectId });
    // @ts-expect-error a plain string is not an id
    void trpc.users.get.query({ id: "users_123" });
    // @ts-expect-error name is required
    void trpc.users.create.mutate({ email: "a@b.c" });
  });

  it("internal functions are not on the client", () => {
    // @ts-expect-error admin.secret is internal
    void trpc.admin.secret.query({});
    // @ts-expect-error admin.wipe is internal
    void trpc.admin.wipe.mutate({});
  });

  it("merged into a host router, Convoy's procedures sit next to the host's, typed the same", () => {
    expectTypeOf(host.hello.query).returns.resolves.toEqualTypeOf<string>();
    expectTypeOf(host.convoy.users.get.query).parameter(0).toEqualTypeOf<{ id: Id<"users"> }>();
    expectTypeOf(host.convoy.users.get.query).returns.resolves.toEqualTypeOf<UserDoc | null>();
    expectTypeOf(host.convoy.users.create.mutate).returns.resolves.toEqualTypeOf<Id<"users">>();
    // @ts-expect-error admin.secret is internal
    void host.convoy.admin.secret.query({});
  });
});

describe("createConvoyClient with function references", () => {
  it("query and mutation take the reference's args and resolve to its return type", () => {
    expectTypeOf(convoy.query(api.users.get, { id: userId })).resolves.toEqualTypeOf<UserDoc | null>();
    expectTypeOf(convoy.query(api.users.list, {})).resolves.toEqualTypeOf<UserDoc[]>();
    expectTypeOf(convoy.query(api.users.whoami, {})).resolves.toEqualTypeOf<UserIdentity | null>();
    expectTypeOf(convoy.mutation(api.users.create, { name: "Ada" })).resolves.toEqualTypeOf<Id<"users">>();
    expectTypeOf(api.users.get.path).toEqualTypeOf<string>();
    expectTypeOf(api.users.get.kind).toEqualTypeOf<"query">();
  });

  it("wrong args, wrong kinds and internal references do not compile", () => {
    // @ts-expect-error an id of another table
    void convoy.query(api.users.get, { id: projectId });
    // @ts-expect-error a misspelled argument
    void convoy.query(api.users.get, { userId });
    // @ts-expect-error args are required, even when empty
    void convoy.query(api.users.list);
    // @ts-expect-error createdAt is a number
    void convoy.mutation(api.users.create, { name: "Ada", createdAt: "now" });
    // @ts-expect-error a mutation is not a query
    void convoy.query(api.users.create, { name: "Ada" });
    // @ts-expect-error a query is not a mutation
    void convoy.mutation(api.users.list, {});
    // @ts-expect-error internal references are for the server only
    void convoy.query(internal.admin.secret, {});
    // @ts-expect-error admin.secret is not a public reference
    void api.admin.secret;
  });
});
