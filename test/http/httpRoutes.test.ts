// HTTP routes (convoy/http.ts) on a real express server made by createConvoyServer, on
// both drivers: the raw body arrives byte for byte, ctx.run* reach the database with the
// caller's identity, and bad routes, methods and handlers get clear answers.
import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { startServer } from "../../generator/serve.js";
import { httpAction, httpRouter } from "../../runtime/index.js";
import { httpRoutes } from "../../runtime/server/httpRoutes.js";
import { awkwardBody, httpTestFunctions, httpTestRouter, signWebhook } from "../support/httpTestApp.js";
import { pgliteFactory, testDriverFactories } from "../support/testDatabases.js";
import { testSchema } from "../support/testSchema.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

for (const factory of testDriverFactories) {
  describe.skipIf(factory.unavailable !== null)(`HTTP routes on ${factory.name}`, () => {
    let server: TestServer;
    const errors: unknown[] = [];
    beforeAll(async () => {
      server = await startTestServer(factory, httpTestFunctions, {
        features: [httpRoutes(httpTestRouter)],
        auth: (request) => {
          const user = request.headers["x-user"];
          return typeof user === "string" ? { subject: user } : null;
        },
        onError: (error) => errors.push(error),
      });
    });
    afterAll(() => server?.close());

    const countOf = async (name: string) =>
      (
        await server.database.driver.query<{ value: number }>(
          `SELECT (doc->>'value')::int AS value FROM "${server.database.schemaName}".counters WHERE doc->>'name' = $1`,
          [name],
        )
      ).map((row) => row.value);

    it("hands a signed webhook its body byte for byte (invalid UTF-8, BOM, CRLF, trailing spaces)", async () => {
      const response = await fetch(`${server.url}/http/webhooks/payments`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-signature": signWebhook(awkwardBody) },
        body: awkwardBody,
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        received: awkwardBody.length,
        sha256: createHmac("sha256", "").update(awkwardBody).digest("hex"),
      });
      expect(await countOf("payment")).toEqual([awkwardBody.length]);
    });

    it("refuses a webhook whose body changed by one byte (the check is real)", async () => {
      const tampered = Buffer.from(awkwardBody);
      tampered[tampered.length - 1] = 0x21;
      const response = await fetch(`${server.url}/http/webhooks/payments`, {
        method: "POST",
        headers: { "x-signature": signWebhook(awkwardBody) },
        body: tampered,
      });
      expect(response.status).toBe(401);
    });

    it("keeps the raw bytes of a chunked body sent in pieces", async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const url = new URL(`${server.url}/http/webhooks/payments`);
        const request = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: "POST",
            headers: { "x-signature": signWebhook(awkwardBody), "transfer-encoding": "chunked" },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
        for (let i = 0; i < awkwardBody.length; i += 7) request.write(awkwardBody.subarray(i, i + 7));
        request.end();
      });
      expect(status).toBe(200);
    });

    it("runs mutations and queries from a route, with the request's identity", async () => {
      const created = await fetch(`${server.url}/http/users`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "Grace" }),
      });
      expect(created.status).toBe(201);
      expect(await created.json()).toEqual({ id: expect.any(String) });
      const listed = await fetch(`${server.url}/http/users?name=Grace`);
      expect(await listed.json()).toEqual(["Grace"]);
      const me = await fetch(`${server.url}/http/me`, { headers: { "x-user": "ada" } });
      expect(await me.json()).toEqual({ auth: "ada", viaQuery: "ada" });
      const anonymous = await fetch(`${server.url}/http/me`);
      expect(await anonymous.json()).toEqual({ auth: null, viaQuery: null });
    });

    it("gives a route an action's ctx: runAction and the scheduler", async () => {
      const response = await fetch(`${server.url}/http/actions/record`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "from-route" }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ scheduled: true });
      // The action's own record at once; the two scheduled ones when the scheduler runs them.
      const deadline = Date.now() + 10_000;
      while ((await countOf("from-route")).length < 3 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect((await countOf("from-route")).sort()).toEqual([1, 2, 3]);
    });

    it("serves a path prefix, with every response header (two set-cookie) intact", async () => {
      const response = await fetch(`${server.url}/http/files/a/b.txt?x=1`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("file /http/files/a/b.txt");
      expect(response.headers.get("x-route")).toBe("files");
      expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    });

    it("answers an unknown path 404 and a wrong method 405 with Allow, clearly", async () => {
      const missing = await fetch(`${server.url}/http/nope`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { message: string } }).error.message).toContain(
        "No HTTP route for GET /http/nope",
      );
      const wrongMethod = await fetch(`${server.url}/http/webhooks/payments`);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get("allow")).toBe("POST");
      expect(((await wrongMethod.json()) as { error: { message: string } }).error.message).toContain(
        "/webhooks/payments does not answer GET; it answers POST",
      );
    });

    it("answers a throwing handler 500 without its message, and logs the error", async () => {
      errors.length = 0;
      const response = await fetch(`${server.url}/http/boom`);
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(text).not.toContain("secret");
      expect(JSON.parse(text)).toEqual({ error: { code: "INTERNAL_SERVER_ERROR", message: "Internal server error" } });
      expect(errors).toHaveLength(1);
      expect(String((errors[0] as Error).message)).toContain("secret database password");
      const notResponse = await fetch(`${server.url}/http/not-a-response`);
      expect(notResponse.status).toBe(500);
      expect(String((errors[1] as Error).message)).toContain("return a Response");
    });

    it("passes a function's ConvoyError through with its status, and rolls its writes back", async () => {
      const response = await fetch(`${server.url}/http/refused`, { method: "POST" });
      expect(response.status).toBe(409);
      expect(await response.json()).toEqual({ error: { code: "CONFLICT", message: "Refused after writing" } });
      const ghosts = await fetch(`${server.url}/http/users?name=ghost`);
      expect(await ghosts.json()).toEqual([]);
    });

    it("refuses a body over the limit with 413", async () => {
      const response = await fetch(`${server.url}/http/webhooks/payments`, {
        method: "POST",
        body: new Uint8Array(1024 * 1024 + 1),
      });
      expect(response.status).toBe(413);
    });
  });
}

describe("HTTP routes mounted in a host app", () => {
  it("says what to do when a body parser ran before convoy.handler", async () => {
    const factory = testDriverFactories[0]!;
    const server = await startTestServer(factory, httpTestFunctions, {
      features: [httpRoutes(httpTestRouter)],
      listen: false,
    });
    const host = express();
    host.use(express.raw({ type: () => true }));
    host.use(server.convoy.handler);
    const listening = host.listen(0, "127.0.0.1");
    await new Promise((resolve) => listening.once("listening", resolve));
    try {
      const { port } = listening.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/http/webhooks/payments`, {
        method: "POST",
        body: awkwardBody,
      });
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain(
        "mount convoy.handler first",
      );
    } finally {
      listening.close();
      await server.close();
    }
  });
});

describe("HTTP routes under convoy serve / dev's server", () => {
  it("serves the loaded app's routes and swaps them with a new build (convoy dev)", async () => {
    const database = await pgliteFactory.open();
    await syncSchema(database.driver, testSchema);
    const first = httpRouter();
    first.route({ path: "/version", method: "GET", handler: httpAction(() => new Response("one")) });
    const running = await startServer({
      driver: database.driver,
      app: { schema: testSchema, functions: httpTestFunctions, infos: [], http: first },
      port: 0,
      host: "127.0.0.1",
      dev: true,
      log: () => {},
    });
    try {
      expect(await (await fetch(`${running.url}/http/version`)).text()).toBe("one");
      const second = httpRouter();
      second.route({ path: "/version", method: "GET", handler: httpAction(() => new Response("two")) });
      running.setApp(httpTestFunctions, testSchema, undefined, second);
      expect(await (await fetch(`${running.url}/http/version`)).text()).toBe("two");
      running.setApp(httpTestFunctions, testSchema, undefined, undefined);
      const none = await fetch(`${running.url}/http/version`);
      expect(none.status).toBe(404);
      expect(await none.text()).toContain("no convoy/http.ts");
    } finally {
      await running.close({ timeoutMs: 2000 });
    }
  });
});
