// The example app's tests (examples/*/tests, written with convoy/test) import its
// convoy/_generated/, which a fresh clone does not have: write it before the tests.
import { resolve } from "node:path";
import { buildApp } from "../../generator/generate.js";
import { findProject } from "../../generator/project.js";

const exampleDir = resolve(import.meta.dirname, "../../examples/users-projects");

/** Writes examples/users-projects/convoy/_generated/ as `convoy generate` does (no database needed). */
export async function generateExampleCode(): Promise<void> {
  await buildApp(findProject(exampleDir));
}
