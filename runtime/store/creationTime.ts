/** Steps of 2^-8 ms are exact in a double at today's epoch milliseconds. */
const STEP = 2 ** -8;
let last = 0;

/**
 * The `_creationTime` of a new document: the current time in ms, made strictly
 * increasing within the process so documents inserted in one millisecond keep their
 * insertion order.
 * @internal
 */
export function nextCreationTime(): number {
  last = Math.max(Date.now(), last + STEP);
  return last;
}
