import type { Server } from "node:http";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import type { ConvoyError } from "../../runtime/errors.js";
import { functionReferences, type ApiFromFunctions } from "../../runtime/functions/functionReference.js";
import { type LiveQueryEngine } from "../../runtime/live/liveQueryEngine.js";
import { createConvoyApp, type ConvoyApp } from "../../runtime/server/expressApp.js";
import { liveTestFunctions } from "../support/liveTestApp.js";
import { startLive, type LiveHarness } from "../support/liveHarness.js";
import { testDriverFactories } from "../support/testDatabases.js";

const api = functionReferences<ApiFromFunctions<typeof liveTestFunctions>>({
  projects: { byUser: "query", add: "mutation" },
  users: { add: "mutation" },
});

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`client.watch on ${factory.name}`, () => {
    let live: LiveHarness;
    let engine: LiveQueryEngine;
    let convoy: ConvoyApp;
    let server: Server;
    let port: number;
    let client: ConvoyClient;

    const listen = async (atPort: number) => {
      server = convoy.app.listen(atPort, "127.0.0.1");
      await new Promise((resolve) => server.once("listening", resolve));
      port = (server.address() as { port: number }).port;
    };
    const stopServer = async () => {
      convoy.streams?.closeAll();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };

    beforeAll(async () => {
      live = await startLive(factory, liveTestFunctions);
      engine = live.engine;
      convoy = createConvoyApp({ runtime: live.runtime, functions: liveTestFunctions, live: engine });
      await listen(0);
      client = createConvoyClient({ url: `http://127.0.0.1:${port}`, EventSource });
    });
    afterAll(async () => {
      client?.close();
      await stopServer();
      await live?.dispose();
    });

    it("delivers the current result, then each change, all watches on one stream", async () => {
      const ada = await client.mutation(api.users.add, { name: "Ada" });
      const bob = await client.mutation(api.users.add, { name: "Bob" });
      const adas: string[][] = [];
      const bobs: string[][] = [];
      const stopAda = client.watch(api.projects.byUser, { userId: ada }, (names) => adas.push(names));
      const stopBob = client.watch(api.projects.byUser, { userId: bob }, (names) => bobs.push(names));
      await expect.poll(() => [adas, bobs], { timeout: 10_000 }).toEqual([[[]], [[]]]);
      expect(convoy.streams?.size).toBe(1);
      await client.mutation(api.projects.add, { userId: ada, name: "a1" });
      await expect.poll(() => adas.at(-1), { timeout: 10_000 }).toEqual(["a1"]);
      expect(bobs).toEqual([[]]);

      stopBob();
      await expect.poll(() => engine.stats().watches, { timeout: 5000 }).toBe(1);
      stopAda();
      await expect.poll(() => convoy.streams?.size, { timeout: 5000 }).toBe(0);
      expect(engine.stats().watches).toBe(0);
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
      await stopServer();
      await listen(port);
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
