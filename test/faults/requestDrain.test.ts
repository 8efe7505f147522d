// The request drain behind graceful shutdown, on a real HTTP server and real sockets.
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RequestDrain } from "../../runtime/server/requestDrain.js";

function handler(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (url.pathname === "/api/subscribe") {
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write(": open\n\n");
    return;
  }
  const ms = Number(url.searchParams.get("ms") ?? 0);
  setTimeout(() => response.end("done"), ms);
}

async function listen(drain: RequestDrain): Promise<{ server: Server; port: number }> {
  const server = createServer(drain.listener).listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as { port: number }).port };
}

function get(port: number, path: string): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("RequestDrain", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  it("waits for requests in flight, closes their connections, and refuses new requests on open connections", async () => {
    const drain = new RequestDrain(handler);
    const listening = await listen(drain);
    server = listening.server;
    // A connection opened before the drain, used after it (as a keep-alive connection would be).
    const idle = connect(listening.port, "127.0.0.1");
    await once(idle, "connect");
    const slow = get(listening.port, "/?ms=400");
    await expect.poll(() => drain.busy).toBe(1);

    const drained = drain.drain(5000);
    let reply = "";
    idle.setEncoding("utf8");
    idle.on("data", (chunk: string) => (reply += chunk));
    idle.write("GET /?ms=0 HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await once(idle, "end");
    expect(reply).toMatch(/^HTTP\/1\.1 503 /);
    expect(reply.toLowerCase()).toContain("connection: close");
    expect(reply).toContain('"code":"SERVICE_UNAVAILABLE"');

    expect(await slow).toEqual({ status: 200, connection: "close", body: "done" });
    expect(await drained).toBe(true);
    expect(drain.busy).toBe(0);
  });

  it("does not wait for event streams", async () => {
    const drain = new RequestDrain(handler);
    const listening = await listen(drain);
    server = listening.server;
    const stream = request({ host: "127.0.0.1", port: listening.port, path: "/api/subscribe", agent: false });
    stream.on("error", () => {});
    stream.end();
    await once(stream, "response");
    expect(drain.busy).toBe(0);
    expect(await drain.drain(5000)).toBe(true);
  });

  it("gives up at the deadline and reports what still runs", async () => {
    const drain = new RequestDrain(handler);
    const listening = await listen(drain);
    server = listening.server;
    const slow = get(listening.port, "/?ms=3000").catch((error: Error) => error);
    await expect.poll(() => drain.busy).toBe(1);
    const started = Date.now();
    expect(await drain.drain(200)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(drain.busy).toBe(1);
    server.closeAllConnections();
    expect(await slow).toBeInstanceOf(Error);
  });
});
