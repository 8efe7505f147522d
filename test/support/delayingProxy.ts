import { once } from "node:events";
import { createServer, request as forward, type IncomingMessage, type Server } from "node:http";

/** An answer the proxy holds back: the server has answered, the client has not seen it yet. */
interface HeldAnswer {
  release: () => void;
}

/**
 * An HTTP proxy in front of a real server that streams everything through (SSE too)
 * except answers to requests matching `holdNext`: those it reads in full and keeps
 * until `release()`, as a slow network would deliver an answer after newer news.
 */
export class DelayingProxy {
  /** Requests forwarded, by path (without the query string). */
  readonly requests = new Map<string, number>();
  private readonly server: Server;
  private holdNext: ((request: IncomingMessage) => boolean) | null = null;
  private held: HeldAnswer[] = [];
  private heldWaiters: (() => void)[] = [];

  constructor(private readonly upstream: string) {
    this.server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0]!;
      this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
      const hold = this.holdNext?.(request) ?? false;
      if (hold) this.holdNext = null;
      const target = new URL(request.url ?? "/", this.upstream);
      const outgoing = forward(target, { method: request.method, headers: request.headers }, (answer) => {
        if (!hold) {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          response.flushHeaders();
          answer.pipe(response);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.on("end", () => {
          this.held.push({
            release: () => {
              response.writeHead(answer.statusCode ?? 502, answer.headers);
              response.end(Buffer.concat(chunks));
            },
          });
          for (const waiter of this.heldWaiters.splice(0)) waiter();
        });
      });
      outgoing.on("error", () => response.destroy());
      request.pipe(outgoing);
      response.on("close", () => outgoing.destroy());
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** Requests to `path` forwarded so far. */
  count(path: string): number {
    return this.requests.get(path) ?? 0;
  }

  /** Holds the answer to the next request that matches. */
  hold(matches: (request: IncomingMessage) => boolean): void {
    this.holdNext = matches;
  }

  /** Resolves once an answer is held (the server answered it). */
  async answerHeld(): Promise<void> {
    if (this.held.length > 0) return;
    await new Promise<void>((resolve) => this.heldWaiters.push(resolve));
  }

  /** Delivers the held answers. */
  release(): void {
    for (const answer of this.held.splice(0)) answer.release();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, "close");
  }
}
