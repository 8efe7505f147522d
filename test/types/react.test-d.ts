import { describe, expectTypeOf, it } from "vitest";
import { useMutation, useQuery } from "../../react/index.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { Id } from "../../runtime/index.js";
import type { liveTestFunctions } from "../support/liveTestApp.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});
declare const userId: Id<"users">;

describe("convoy/react types", () => {
  it("useQuery infers data and error from the reference", () => {
    const result = useQuery(api.projects.byUser, { userId }, { enabled: true, subscribe: false, staleTime: 1000 });
    expectTypeOf(result.data).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(result.error).toEqualTypeOf<ConvoyError | null>();
    // @ts-expect-error userId must be an id of users
    useQuery(api.projects.byUser, { userId: "x" });
    // @ts-expect-error a mutation is not a query
    useQuery(api.projects.add, { userId, name: "x" });
  });

  it("useMutation infers its variables and result", async () => {
    const add = useMutation(api.projects.add);
    expectTypeOf(add.mutate).parameter(0).toEqualTypeOf<{ userId: Id<"users">; name: string }>();
    expectTypeOf(await add.mutateAsync({ userId, name: "x" })).toEqualTypeOf<Id<"projects">>();
    // @ts-expect-error name is required
    add.mutate({ userId });
    // @ts-expect-error a query is not a mutation
    useMutation(api.projects.byUser);
  });
});
