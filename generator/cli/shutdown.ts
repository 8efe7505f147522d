import { ConvoyError } from "../../runtime/errors.js";
import type { CloseReport } from "../serve.js";

/** Where shutdown messages go. */
interface ShutdownOutput {
  log: (message: string) => void;
  error: (message: string) => void;
}

/** Seconds a shutdown waits for requests in flight: `CONVOY_SHUTDOWN_TIMEOUT`, else 10. */
export function shutdownTimeoutMs(): number {
  const text = process.env.CONVOY_SHUTDOWN_TIMEOUT;
  if (text === undefined || text === "") return 10_000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `CONVOY_SHUTDOWN_TIMEOUT=${text}: give the seconds a shutdown waits for requests in flight, e.g. 10`,
    });
  }
  return seconds * 1000;
}

/**
 * On SIGTERM or SIGINT, runs `close` (which drains the server within `timeoutMs`),
 * prints what it did and exits 0; exits 1 when requests had to be cut off or closing
 * failed. A second signal exits at once.
 */
export function exitOnSignals(
  close: (timeoutMs: number) => Promise<CloseReport | undefined>,
  out: ShutdownOutput,
  timeoutMs = shutdownTimeoutMs(),
): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) {
      out.error(`${signal} again: exiting now without waiting`);
      process.exit(1);
    }
    closing = true;
    out.log(`${signal}: shutting down; finishing requests in flight (up to ${timeoutMs / 1000} s)`);
    // Closing the database and the live engine after the drain is quick; never hang on them.
    setTimeout(() => {
      out.error(`Still shutting down ${timeoutMs / 1000 + 5} s after ${signal}: exiting anyway`);
      process.exit(1);
    }, timeoutMs + 5000).unref();
    close(timeoutMs).then(
      (report) => {
        if (report && !report.drained) {
          out.error(
            `Shut down after ${timeoutMs / 1000} s with ${report.unfinished} request(s) still running: ` +
              "they were cut off (their transactions roll back)",
          );
          process.exit(1);
        }
        out.log(
          report
            ? `Shut down: ${report.requests} request(s) in flight finished, ${report.streams} stream(s) closed`
            : "Shut down",
        );
        process.exit(0);
      },
      (error: unknown) => {
        out.error(`Shutdown failed: ${(error as Error)?.stack ?? String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
