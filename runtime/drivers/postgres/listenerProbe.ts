import { randomBytes } from "node:crypto";
import type pg from "pg";
import { ConvoyError } from "../../errors.js";

/** NOTIFY payloads that only check delivery start with this; listeners drop them. @internal */
export const PROBE_PREFIX = "convoy-listener-probe:";

/** How long the first LISTEN waits for its probe before calling the listener URL unusable. @internal */
export const PROBE_TIMEOUT_MS = 5000;

/**
 * Checks that a listener connection really receives notifications: `notify` sends a
 * probe on `channel` from another connection, and `listener` (which has run LISTEN)
 * must see it. Through PgBouncer in transaction or statement pooling mode, LISTEN runs
 * on a server connection that goes back to the pool at once, so the probe never
 * arrives: that case ends in a ConvoyError that says to use a direct connection.
 * @internal
 */
export async function confirmListenerDelivery(
  listener: pg.Client,
  channel: string,
  notify: (payload: string) => Promise<unknown>,
  shownUrl: string,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<void> {
  const payload = `${PROBE_PREFIX}${randomBytes(8).toString("hex")}`;
  let onNotification!: (message: pg.Notification) => void;
  let timer: NodeJS.Timeout | undefined;
  const arrived = new Promise<boolean>((resolve) => {
    onNotification = (message) => {
      if (message.channel === channel && message.payload === payload) resolve(true);
    };
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  listener.on("notification", onNotification);
  try {
    await notify(payload);
    if (await arrived) return;
  } finally {
    clearTimeout(timer);
    listener.off("notification", onNotification);
  }
  throw new ConvoyError({
    code: "INTERNAL_SERVER_ERROR",
    message:
      `The live-query listener connection (${shownUrl}) ran LISTEN but received no notification within ${timeoutMs / 1000} s. ` +
      "LISTEN needs a session of its own: PgBouncer in transaction or statement pooling mode cannot deliver notifications. " +
      "Point CONVOY_LISTEN_URL (or --listen-url) at PostgreSQL directly, or at a session-mode pool",
  });
}
