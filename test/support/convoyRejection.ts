import { expect } from "vitest";
import { ConvoyError } from "../../runtime/errors.js";

/** The ConvoyError `promise` rejects with; fails the test if it resolves or rejects with anything else. */
export async function convoyRejection(promise: Promise<unknown>): Promise<ConvoyError> {
  const error = await promise.then(
    () => new Error("expected the call to fail"),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConvoyError);
  return error as ConvoyError;
}
