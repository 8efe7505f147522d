import { describe, expect, it } from "vitest";
import { generateId, isIdOf, tableOfId } from "../../runtime/schema/ids.js";

describe("document ids", () => {
  it("are unique across many refills of the random pool, and name their table", () => {
    const ids = Array.from({ length: 20_000 }, () => generateId("projects", 1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 300)) expect(tableOfId(id)).toBe("projects");
    // Same millisecond: only the random part differs, and every character of it varies.
    const randomParts = ids.map((id) => id.slice(-16));
    for (let position = 0; position < 16; position++)
      expect(new Set(randomParts.map((part) => part[position])).size).toBe(32);
  });

  it("sort by creation time and are refused for other tables or when malformed", () => {
    const earlier = generateId("users", 1_000);
    const later = generateId("users", 2_000);
    expect(earlier < later).toBe(true);
    expect(isIdOf("users", earlier)).toBe(true);
    expect(isIdOf("projects", earlier)).toBe(false);
    expect(tableOfId(`${earlier}x`)).toBeNull();
    expect(tableOfId("users_")).toBeNull();
    expect(tableOfId(42)).toBeNull();
  });
});
