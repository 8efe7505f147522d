import { describe, expect, it } from "vitest";
import type { ColumnSpec } from "../../runtime/schema/relationalColumns.js";
import { RelationalLayout } from "../../runtime/store/layout/relationalLayout.js";

const spec = (field: string, column: string, nullMeans: ColumnSpec["nullMeans"] = "never"): ColumnSpec => ({
  field,
  column,
  type: "text",
  nullMeans,
});

describe("RelationalLayout.toDocument", () => {
  const layout = new RelationalLayout("convoy", "things", `"convoy"."things"`, [
    spec("name", "name"),
    spec("__proto__", "proto"),
    spec("constructor", "constructor"),
    spec("toString", "to_string", "null"),
    spec("note", "note", "missing"),
  ]);

  it("keeps fields named like Object.prototype members as the document's own fields", () => {
    const document = layout.toDocument({
      _id: "things_1",
      _creation_time: 5,
      name: "n",
      proto: "p",
      constructor: "c",
      to_string: "t",
      note: null,
    });
    expect(Object.getPrototypeOf(document)).toBe(Object.prototype);
    expect(Object.keys(document).sort()).toEqual(
      ["__proto__", "_creationTime", "_id", "constructor", "name", "toString"].sort(),
    );
    expect(Object.getOwnPropertyDescriptor(document, "__proto__")).toEqual({
      value: "p",
      enumerable: true,
      writable: true,
      configurable: true,
    });
    expect(JSON.parse(JSON.stringify(document))).toEqual({
      _id: "things_1",
      _creationTime: 5,
      name: "n",
      ["__proto__"]: "p",
      constructor: "c",
      toString: "t",
    });
  });

  it("reads SQL NULL as null for a nullable field and as missing for an optional one", () => {
    const document = layout.toDocument({
      _id: "things_2",
      _creation_time: 6,
      name: "n",
      proto: "p",
      constructor: "c",
      to_string: null,
      note: null,
    });
    expect(Object.getOwnPropertyDescriptor(document, "toString")?.value).toBeNull();
    expect("note" in document).toBe(false);
  });
});
