import { describe, expect, it } from "vitest";
import type { FunctionInfo } from "../../generator/codegen/functionTree.js";
import {
  apiTemplate,
  apiTypesTemplate,
  drizzleTemplate,
  functionsTemplate,
  httpTemplate,
  routerTemplate,
  serverTemplate,
} from "../../generator/codegen/templates.js";
import { relationalVariant, testSchema } from "../support/testSchema.js";

const functions: FunctionInfo[] = [
  { modulePath: "users", exportName: "createUser", kind: "mutation", visibility: "public" },
  { modulePath: "projects", exportName: "listProjects", kind: "query", visibility: "public" },
  { modulePath: "projects", exportName: "createProject", kind: "mutation", visibility: "public" },
  { modulePath: "admin/reports", exportName: "daily", kind: "query", visibility: "internal" },
];

describe("generated code", () => {
  it("server.ts", () => expect(serverTemplate()).toMatchSnapshot());
  it("functions.ts nests modules and sorts them", () => expect(functionsTemplate(functions)).toMatchSnapshot());
  it("api.js holds public and internal references, no server import; api.d.ts types them", () => {
    const api = apiTemplate(functions);
    expect(api).toMatchSnapshot();
    expect(api).not.toMatch(/^import (?!type|\{ functionReferences)/m);
    expect(apiTypesTemplate()).toMatchSnapshot();
  });
  it("router.ts", () => expect(routerTemplate()).toMatchSnapshot());
  it("http.ts", () => expect(httpTemplate()).toMatchSnapshot());
  it("drizzle.ts", () => expect(drizzleTemplate(testSchema, "convoy")).toMatchSnapshot());
  it("drizzle.ts with relational tables: typed columns, references", () =>
    expect(drizzleTemplate(relationalVariant(testSchema), "convoy")).toMatchSnapshot());
  it("is the same whatever order the functions were found in", () => {
    expect(functionsTemplate([...functions].reverse())).toBe(functionsTemplate(functions));
    expect(apiTemplate([...functions].reverse())).toBe(apiTemplate(functions));
  });
  it("module names never clash with each other or with the export", () => {
    const tricky: FunctionInfo[] = [
      { modulePath: "admin/reports", exportName: "a", kind: "query", visibility: "public" },
      { modulePath: "admin_reports", exportName: "b", kind: "query", visibility: "public" },
      { modulePath: "functions", exportName: "c", kind: "query", visibility: "public" },
    ];
    const text = functionsTemplate(tricky);
    expect(text).toContain('import * as admin$reports from "../functions/admin/reports.js";');
    expect(text).toContain('import * as admin_reports from "../functions/admin_reports.js";');
    expect(text).toContain('import * as functions$ from "../functions/functions.js";');
    expect(text).toContain("c: functions$.c,");
  });
  it("an app with no functions still generates valid modules", () => {
    expect(functionsTemplate([])).toContain("export const functions = {};");
    expect(apiTemplate([])).toContain("functionReferences({})");
  });
});
