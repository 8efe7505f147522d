import { describe, expect, it } from "vitest";
import { shownValue } from "../../runtime/store/shownValue.js";

describe("shownValue", () => {
  it("shows strings quoted and cut, and other primitives as written", () => {
    expect(shownValue("abc")).toBe('"abc"');
    expect(shownValue("x".repeat(100), 5)).toBe('"xxxxx"');
    expect([shownValue(-1), shownValue(null), shownValue(undefined), shownValue(true)]).toEqual([
      "-1",
      "null",
      "undefined",
      "true",
    ]);
    expect([shownValue(10n), shownValue(Symbol("s"))]).toEqual(["10n", "a symbol"]);
  });

  it("never throws on objects String() cannot convert, and cuts long JSON", () => {
    expect(shownValue(JSON.parse('[{"toString":""}]'))).toBe('[{"toString":""}]');
    expect(shownValue(Object.create(null))).toBe("{}");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(shownValue(cyclic)).toBe("an object");
    expect(shownValue([1n])).toBe("an array");
    expect(shownValue({ long: "y".repeat(200) }, 10)).toBe('{"long":"y...');
  });
});
