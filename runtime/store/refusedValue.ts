import { sqlState } from "../drivers/driver.js";
import { ConvoyError } from "../errors.js";

/**
 * A Postgres error caused by a value the caller sent (SQLSTATE class 22, data
 * exception; 54, a program limit such as the size of an index entry), as the
 * BAD_REQUEST it is; any other error as it came. The message is Postgres' own, which
 * names the value's problem and never the statement.
 * @internal
 */
export function refusedValue(error: unknown): unknown {
  const state = sqlState(error);
  if (state === undefined || !(state.startsWith("22") || state.startsWith("54"))) return error;
  const detail = String((error as Error).message ?? "").slice(0, 300);
  const advice =
    state === "54000"
      ? ". An index entry holds at most about 2,700 bytes: keep indexed fields short"
      : state === "54001"
        ? ". Flatten the value"
        : "";
  return new ConvoyError({
    code: "BAD_REQUEST",
    message: `Postgres refused a value of this call: ${detail}${advice}`,
    data: { sqlState: state },
    cause: error,
  });
}
