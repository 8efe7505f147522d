import { describe, expect, it } from "vitest";
import { changeTouchesRead, compareKeys } from "../../runtime/live/readMatcher.js";

describe("compareKeys", () => {
  it("orders key values as jsonb does: types first, an empty array before everything", () => {
    expect(compareKeys(null, "a")).toBe(-1);
    expect(compareKeys("a", 1)).toBe(-1);
    expect(compareKeys(1, true)).toBe(-1);
    expect(compareKeys(true, [1])).toBe(-1);
    expect(compareKeys([1], {})).toBe(-1);
    // jsonb's exception: an empty top-level array sorts before null.
    expect(compareKeys([], null)).toBe(-1);
    expect(compareKeys("x", [])).toBe(1);
    expect(compareKeys([], [])).toBe(0);
  });

  it("sees a change inside a range bounded by an empty array", () => {
    const read = {
      kind: "indexRange" as const,
      table: "t",
      index: "by_kind",
      fields: ["kind", "_creationTime"],
      eq: [],
      lower: { inclusive: false, value: [] },
    };
    const insert = { table: "t", id: "t_1", before: null, after: { creationTime: 1, doc: { kind: "x" } } };
    expect(changeTouchesRead(insert, read)).toBe(true);
  });
});
