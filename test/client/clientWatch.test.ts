import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import type { ConvoyServer } from "../../runtime/server/convoyServer.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { testDriverFactories } from "../support/testDatabases.js";
import { restartServer, startTestServer, type TestServer } from "../support/testServer.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`client.watch on ${factory.name}`, () => {
    let started: TestServer;
    /** The server running now (a restart replaces it). */
    let convoy: ConvoyServer;
    let client: ConvoyClient;

    /** Stops the server and starts a new one on the same port and database. */
    const restart = async () => {
      convoy = await restartServer(convoy, started.database, liveTestFunctions);
    };

    beforeAll(async () => {
      started = await startTestServer(factory, liveTestFunctions);
      convoy = started.convoy;
      client = createConvoyClient({ url: started.url, EventSource });
    });
    afterAll(async () => {
      client?.close();
      await convoy?.close({ timeoutMs: 1000 });
      await started?.database.dispose();
    });

    it("delivers the current result, then each change, all watches on one stream", async () => {
      const ada = await client.mutation(api.users.add, { name: "Ada" });
      const bob = await client.mutation(api.users.add, { name: "Bob" });
      const adas: string[][] = [];
      const bobs: string[][] = [];
      const stopAda = client.watch(api.projects.byUser, { userId: ada }, (names) => adas.push(names));
      const stopBob = client.watch(api.projects.byUser, { userId: bob }, (names) => bobs.push(names));
      await expect.poll(() => [adas, bobs], { timeout: 10_000 }).toEqual([[[]], [[]]]);
      expect(convoy.streams).toBe(1);
      await client.mutation(api.projects.add, { userId: ada, name: "a1" });
      await expect.poll(() => adas.at(-1), { timeout: 10_000 }).toEqual(["a1"]);
      expect(bobs).toEqual([[]]);

      stopBob();
      await expect.poll(() => convoy.live.stats().watches, { timeout: 5000 }).toBe(1);
      stopAda();
      await expect.poll(() => convoy.streams, { timeout: 5000 }).toBe(0);
      expect(convoy.live.stats().watches).toBe(0);
    });

    it("reconnects after a server restart and resumes every watch", async () => {
      const ada = await client.mutation(api.users.add, { name: "Ada" });
      const seen: string[][] = [];
      const errors: ConvoyError[] = [];
      const stop = client.watch(
        api.projects.byUser,
        { userId: ada },
        (names) => seen.push(names),
        (error) => errors.push(error),
      );
      await expect.poll(() => seen, { timeout: 10_000 }).toEqual([[]]);
      await restart();
      // The client's kept-alive HTTP connection died with the old server; the first call
      // on it may fail before reaching the new one.
      await expect
        .poll(
          () =>
            client.mutation(api.projects.add, { userId: ada, name: "after restart" }).then(
              () => "written",
              (error: ConvoyError) => error.code,
            ),
          { timeout: 10_000 },
        )
        .toBe("written");
      await expect.poll(() => seen.at(-1), { timeout: 15_000 }).toEqual(["after restart"]);
      expect(errors).toEqual([]);
      stop();
    });

    it("a bad watch reports its error; the others keep working", async () => {
      const ada = await client.mutation(api.users.add, { name: "Ada" });
      const good: string[][] = [];
      const errors: ConvoyError[] = [];
      const stopGood = client.watch(api.projects.byUser, { userId: ada }, (names) => good.push(names));
      const stopBad = client.watch(
        api.projects.byUser,
        { userId: "nope" as never },
        () => {},
        (error) => errors.push(error),
      );
      await expect.poll(() => errors.map((error) => error.code), { timeout: 10_000 }).toEqual(["BAD_REQUEST"]);
      await client.mutation(api.projects.add, { userId: ada, name: "still live" });
      await expect.poll(() => good.at(-1), { timeout: 10_000 }).toEqual(["still live"]);
      stopBad();
      stopGood();
    });
  });
}
