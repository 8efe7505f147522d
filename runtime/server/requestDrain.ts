import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

const REFUSAL = JSON.stringify({
  error: { code: "SERVICE_UNAVAILABLE", message: "The server is shutting down; nothing was run. Retry the request" },
});

/**
 * Event streams never finish by themselves: `GET /api/subscribe`, and any request an
 * EventSource makes (tRPC subscriptions).
 */
function isEventStream(request: IncomingMessage): boolean {
  if (request.method !== "GET") return false;
  const url = (request as { originalUrl?: string }).originalUrl ?? request.url ?? "";
  return /^\/api\/subscribe(\?|$)/.test(url) || /text\/event-stream/.test(request.headers.accept ?? "");
}

/**
 * Knows which requests are in flight, so a shutdown can let them finish. Once
 * {@link RequestDrain.drain} is called, new requests (on keep-alive connections still
 * open) are answered 503 without running anything, and responses still being prepared
 * close their connection when sent. Wrap a whole server with {@link RequestDrain.listener},
 * or only the routes mounted in someone else's server with {@link RequestDrain.middleware}.
 * @internal
 */
export class RequestDrain {
  /** Requests running, each with whether it is an event stream. */
  private readonly inFlight = new Map<ServerResponse, boolean>();
  private draining = false;

  constructor(private readonly handler: (request: IncomingMessage, response: ServerResponse) => void = () => {}) {}

  /** Counts a request in, or answers it 503 when draining; false when refused. */
  private admit(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.inFlight.has(response)) return true;
    if (this.draining) {
      response.writeHead(503, { "content-type": "application/json", connection: "close", "retry-after": "1" });
      response.end(REFUSAL);
      return false;
    }
    this.inFlight.set(response, isEventStream(request));
    response.once("close", () => this.inFlight.delete(response));
    return true;
  }

  /** The listener to give `http.createServer`: every request of the server is counted. */
  readonly listener: RequestListener = (request, response) => {
    if (this.admit(request, response)) this.handler(request, response);
  };

  /** Connect/express middleware counting the requests that reach it (a request already counted passes). */
  readonly middleware = (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (this.admit(request, response)) next();
  };

  /** Requests still running, not counting event streams (which never finish by themselves). */
  get busy(): number {
    let count = 0;
    for (const stream of this.inFlight.values()) if (!stream) count++;
    return count;
  }

  /**
   * Refuses new requests from now on and waits for the running ones, event streams
   * aside. Resolves true when they all finished, false when `timeoutMs` passed first.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    for (const response of this.inFlight.keys()) {
      if (!response.headersSent) response.setHeader("connection", "close");
    }
    const deadline = Date.now() + timeoutMs;
    while (this.busy > 0) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(25, deadline - Date.now())));
    }
    return true;
  }
}
