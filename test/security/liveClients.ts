import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { EventSource } from "eventsource";
import { convoyTRPC } from "../../runtime/server/expressApp.js";
import { createConvoyRouter } from "../../runtime/server/trpcRouter.js";
import { transitionResults } from "../support/transitionEvents.js";
import { securityFunctions } from "./securityApp.js";

const _routerForTypes = () => createConvoyRouter(convoyTRPC, securityFunctions);
/** The tRPC router type of the security app. */
export type SecurityRouter = ReturnType<typeof _routerForTypes>;

/** A fetch that adds `headers` to every request (EventSource cannot set headers itself). */
export function fetchWith(headers: Record<string, string>): typeof fetch {
  return (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as object), ...headers } });
}

/**
 * What one EventSource received, by event type; each `transition` is followed by the
 * `result`/`queryError` events of its results.
 */
export interface SseClient {
  events: { event: string; data: any }[];
  source: EventSource;
  /** Waits for an event of `type` that `predicate` accepts and has not been returned before. */
  next(type: string, predicate?: (data: any) => boolean): Promise<any>;
  /** Resolves when the connection fails (a refused stream), with the status. */
  failed: Promise<number | undefined>;
  close(): void;
}

/** Opens `GET /api/subscribe<query>` with a real EventSource sending `headers`. */
export function openSse(url: string, query: string, headers: Record<string, string> = {}): SseClient {
  const source = new EventSource(`${url}/api/subscribe${query}`, { fetch: fetchWith(headers) });
  const events: { event: string; data: any }[] = [];
  const waiters = new Set<() => void>();
  for (const type of ["ready", "transition", "queryError"]) {
    source.addEventListener(type, (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data);
      // A transition's results, one by one as `result`/`queryError`, after the transition itself.
      const results = type === "transition" ? transitionResults(data) : [];
      events.push({ event: type, data }, ...results.map(({ type, data }) => ({ event: type, data })));
      for (const wake of waiters) wake();
    });
  }
  const failed = new Promise<number | undefined>((resolve) => {
    source.addEventListener("error", (event) => {
      if (source.readyState === EventSource.CLOSED) resolve((event as { code?: number }).code);
    });
  });
  const consumed = new Set<number>();
  return {
    events,
    source,
    failed,
    close: () => source.close(),
    async next(type, predicate = () => true) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const index = events.findIndex((event, i) => !consumed.has(i) && event.event === type && predicate(event.data));
        if (index >= 0) {
          consumed.add(index);
          return events[index]!.data;
        }
        if (Date.now() > deadline) throw new Error(`no ${type} event; got ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 200);
        });
      }
    },
  };
}

/** A tRPC client of the security app sending `headers`, subscriptions over SSE. */
export function trpcClient(url: string, headers: Record<string, string> = {}) {
  return createTRPCClient<SecurityRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === "subscription",
        true: httpSubscriptionLink({
          url: `${url}/trpc`,
          EventSource,
          eventSourceOptions: { fetch: fetchWith(headers) },
        }),
        false: httpBatchLink({ url: `${url}/trpc`, headers }),
      }),
    ],
  });
}
