// The host app's own tRPC router, with Convoy merged under `convoy`.
import { initTRPC } from "@trpc/server";
import type { CreateExpressContextOptions } from "@trpc/server/adapters/express";
import type { ConvoyServer } from "../../../runtime/server/convoyServer.js";
import type { liveTestFunctions } from "../../support/liveTestApp.js";

/** The host's context: the signed-in user, from its session cookie. */
export interface HostContext {
  user: { id: string } | null;
}

export function createHostContext({ req }: CreateExpressContextOptions): HostContext {
  const match = /(?:^|;\s*)user=([^;]+)/.exec(req.headers.cookie ?? "");
  return { user: match ? { id: decodeURIComponent(match[1]!) } : null };
}

export function createHostRouter(convoy: ConvoyServer<typeof liveTestFunctions>) {
  const t = initTRPC.context<HostContext>().create();
  return t.router({
    whoami: t.procedure.query(({ ctx }) => ctx.user?.id ?? null),
    convoy: convoy.router(t),
  });
}
export type HostRouter = ReturnType<typeof createHostRouter>;
