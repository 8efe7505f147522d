import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { packConvoy } from "../support/cliProject.js";

const run = promisify(execFile);

/** Scripts npm runs when the package is installed (npm 11 asks users to allow each one). */
const INSTALL_TIME = ["preinstall", "install", "postinstall", "prepare"];

describe("the published package", () => {
  const scratch = mkdtempSync(join(tmpdir(), "convoy-pack-scripts-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("runs no script when installed; dist/ is built when packing (prepack)", async () => {
    const tarball = await packConvoy(scratch);
    await run("tar", ["-xzf", tarball, "-C", scratch, "package/package.json"]);
    const manifest = JSON.parse(readFileSync(join(scratch, "package/package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    expect(INSTALL_TIME.filter((name) => manifest.scripts[name] !== undefined)).toEqual([]);
    expect(manifest.scripts.prepack).toBe("npm run build");
    const { stdout } = await run("tar", ["-tzf", tarball]);
    expect(stdout).toContain("package/dist/generator/cli/bin.js");
  });
});
