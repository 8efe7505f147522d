import { once } from "node:events";
import { createServer, connect, type Server as TcpServer, type Socket } from "node:net";

/** The first line of an HTTP/1.1 request. */
const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.1\r\n/;

/** What the proxy does with the next request. */
export type Fault = "pass" | "lose-answer" | "bad-gateway";

/**
 * A TCP proxy in front of the server that can lose a connection's answer after the
 * server has sent it (as a dropped network or a killed proxy would), or answer 502
 * without forwarding (as nginx does when its upstream is down).
 */
export class FaultyProxy {
  readonly faults: Fault[] = [];
  requestsForwarded = 0;
  private readonly server: TcpServer;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly upstreamPort: number) {
    this.server = createServer((client) => this.handle(client));
  }

  async listen(port = 0): Promise<number> {
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    return (this.server.address() as { port: number }).port;
  }

  private handle(client: Socket): void {
    this.sockets.add(client);
    client.on("close", () => this.sockets.delete(client));
    client.on("error", () => {});
    const upstream = connect(this.upstreamPort, "127.0.0.1");
    this.sockets.add(upstream);
    upstream.on("close", () => this.sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    // fetch keeps connections alive, so each request (not connection) takes the next fault.
    let fault: Fault = "pass";
    client.on("data", (chunk) => {
      if (REQUEST_LINE.test(chunk.toString("latin1", 0, 64))) fault = this.faults.shift() ?? "pass";
      if (fault === "bad-gateway") {
        upstream.destroy();
        client.end(
          "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 11\r\nconnection: close\r\n\r\nBad Gateway",
        );
        return;
      }
      this.requestsForwarded += REQUEST_LINE.test(chunk.toString("latin1", 0, 64)) ? 1 : 0;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      // The server has answered, so the mutation committed: drop the answer.
      if (fault === "lose-answer") {
        client.destroy();
        upstream.destroy();
      } else client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, "close");
  }
}
