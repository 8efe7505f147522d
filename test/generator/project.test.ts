import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { discoverModules } from "../../generator/build/discoverModules.js";
import { findProject } from "../../generator/project.js";
import { readApp } from "../../generator/build/readApp.js";

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function makeTree(files: string[]): string {
  root = mkdtempSync(join(tmpdir(), "convoy-project-"));
  for (const file of files) {
    mkdirSync(join(root, file, ".."), { recursive: true });
    writeFileSync(join(root, file), "export {};\n");
  }
  return root;
}

describe("finding the project", () => {
  it("uses convoy/, else src/convoy/, else --dir", () => {
    expect(findProject(makeTree(["convoy/schema.ts"])).dir).toBe(join(root, "convoy"));
    rmSync(root, { recursive: true });
    expect(findProject(makeTree(["src/convoy/schema.ts"])).dir).toBe(join(root, "src/convoy"));
    rmSync(root, { recursive: true });
    const project = findProject(makeTree(["backend/schema.ts"]), "backend");
    expect(project).toMatchObject({ dir: join(root, "backend"), generatedDir: join(root, "backend/_generated") });
  });

  it("says what to create when there is no schema", () => {
    expect(() => findProject(makeTree(["README.md"]))).toThrow(
      /No convoy\/schema\.ts or src\/convoy\/schema\.ts under .*Create convoy\/schema\.ts/,
    );
  });
});

describe("discovering function modules", () => {
  it("finds nested modules in order and skips tests and declarations", () => {
    makeTree([
      "convoy/schema.ts",
      "convoy/functions/projects.ts",
      "convoy/functions/admin/reports.ts",
      "convoy/functions/projects.test.ts",
      "convoy/functions/types.d.ts",
      "convoy/functions/README.md",
    ]);
    expect(discoverModules(join(root, "convoy")).map((module) => module.modulePath)).toEqual([
      "admin/reports",
      "projects",
    ]);
  });

  it("refuses names that cannot be api keys, and a module beside a folder of the same name", () => {
    makeTree(["convoy/functions/my-projects.ts"]);
    expect(() => discoverModules(join(root, "convoy"))).toThrow(
      /"my-projects" cannot be part of a function path; rename it/,
    );
    rmSync(root, { recursive: true });
    makeTree(["convoy/functions/admin.ts", "convoy/functions/admin/users.ts"]);
    expect(() => discoverModules(join(root, "convoy"))).toThrow(/functions\/admin is both a module and a folder/);
  });
});

describe("reading the loaded app", () => {
  it("requires the schema export", () => {
    expect(() => readApp({ schemaModule: { other: 1 }, modules: [], generatedImports: new Set() }, [])).toThrow(
      /convoy\/schema\.ts must export the schema: export const schema = defineSchema/,
    );
  });
});
