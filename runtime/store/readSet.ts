import type { RangeBound } from "./indexRange.js";

/**
 * One thing a function read, as the live-query engine needs it to decide whether a
 * change can affect the result.
 */
export type Read =
  /** Documents fetched by id with `get`. */
  | { kind: "ids"; table: string; ids: string[] }
  /**
   * A range of an index: `eq` holds values for the first index fields, then optional
   * bounds on the next one. `by_creation_time` with no bounds is the whole table.
   */
  | {
      kind: "indexRange";
      table: string;
      index: string;
      fields: readonly string[];
      eq: unknown[];
      lower?: RangeBound;
      upper?: RangeBound;
    };

/** Receives every read a transaction makes, in order. */
export type ReadListener = (read: Read) => void;
