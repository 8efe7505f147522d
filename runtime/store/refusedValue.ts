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
  if (state === "23503") return brokenReference(error);
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

/**
 * A foreign key of a relational table refused the commit: a reference to a document
 * that does not exist, or the deletion of one still referenced. Postgres' detail names
 * the key; the advice says what to change.
 */
function brokenReference(error: unknown): ConvoyError {
  const { detail, message } = error as { detail?: unknown; message?: unknown };
  const shown = (typeof detail === "string" ? detail : typeof message === "string" ? message : "").slice(0, 300);
  const stillReferenced = /still referenced/.test(shown);
  return new ConvoyError({
    code: stillReferenced ? "PRECONDITION_FAILED" : "BAD_REQUEST",
    message: stillReferenced
      ? `The document is still referenced (${shown}): delete or change the documents that reference it first, in this mutation or an earlier one; nothing of this mutation was kept`
      : `A reference points at no document (${shown}): insert the referenced document first, or store the id of one that exists; nothing of this mutation was kept`,
    data: { sqlState: "23503" },
    cause: error,
  });
}
