// Positions and versions of the live protocol, checked against Postgres's own rules
// (pg_visible_in_snapshot), and their parsing of bad input.
import { describe, expect, it } from "vitest";
import { isPosition, parseSnapshot, snapshotCovers, versionCovers } from "../../runtime/protocol/snapshotVersion.js";

describe("snapshot versions", () => {
  it("cover a committed position as pg_visible_in_snapshot does", () => {
    const snapshot = parseSnapshot("100:105:101,103")!;
    expect(snapshot.xmin).toBe(100n);
    expect([99, 100, 101, 102, 103, 104, 105, 200].map((xid) => snapshotCovers(snapshot, String(xid)))).toEqual([
      true,
      true,
      false,
      true,
      false,
      true,
      false,
      false,
    ]);
    expect(versionCovers("7:7:", "6")).toBe(true);
    expect(versionCovers("7:7:", "7")).toBe(false);
    // Beyond 2^53: xid8 values are compared exactly.
    expect(versionCovers("9007199254740993:9007199254740995:", "9007199254740994")).toBe(true);
    expect(versionCovers("9007199254740993:9007199254740995:", "9007199254740995")).toBe(false);
  });

  it("refuse what is not a snapshot or a position", () => {
    for (const bad of ["", "1:2", "a:b:", "5:4:", "1:2:x", "1:2:3,", "-1:2:"]) expect(parseSnapshot(bad)).toBeNull();
    expect(versionCovers("garbage", "1")).toBe(false);
    expect(versionCovers("1:9:", "nope")).toBe(false);
    expect([isPosition("42"), isPosition("4.2"), isPosition(42), isPosition(""), isPosition("1".repeat(21))]).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});
