import type { IncomingMessage } from "node:http";
import { ConvoyError } from "../errors.js";
import type { UserIdentity } from "../functions/auth.js";

/**
 * The client a request comes from, for stream limits: the signed-in user, else the
 * remote address (`request.ip` under express, which honours `trust proxy`).
 * @internal
 */
export function defaultClientKey(request: IncomingMessage, auth: UserIdentity | null): string {
  if (auth !== null && typeof auth.subject === "string") return `user:${auth.subject}`;
  return `address:${(request as { ip?: string }).ip ?? request.socket.remoteAddress ?? "unknown"}`;
}

/**
 * Counts each client's open live streams (`GET /api/subscribe` streams and tRPC
 * subscriptions) and refuses one over the limit with TOO_MANY_REQUESTS.
 * @internal
 */
export class StreamLimit {
  private readonly open = new Map<string, number>();

  /** @param limit streams one client may hold open at once */
  constructor(readonly limit: number) {}

  /** Streams `client` holds open now. */
  count(client: string): number {
    return this.open.get(client) ?? 0;
  }

  /** Takes a stream slot for `client` and returns its release (safe to call twice), or throws TOO_MANY_REQUESTS. */
  acquire(client: string): () => void {
    const count = this.count(client);
    if (count >= this.limit) {
      throw new ConvoyError({
        code: "TOO_MANY_REQUESTS",
        message: `This client already has ${this.limit} live streams open, the most allowed. Close the ones it no longer needs, or watch several queries over one stream (POST /api/subscribe/<streamId> adds watches), then retry`,
      });
    }
    this.open.set(client, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(client) - 1;
      if (left > 0) this.open.set(client, left);
      else this.open.delete(client);
    };
  }
}
