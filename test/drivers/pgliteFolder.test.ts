import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../runtime/drivers/openDatabase.js";
import { ConvoyError } from "../../runtime/errors.js";

const root = mkdtempSync(join(tmpdir(), "convoy-pglite-folder-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("embedded PGlite in a folder", () => {
  const dataDir = join(root, ".convoy");

  it("says so on first open, keeps data across reopen, and frees the lock on close", async () => {
    const messages: string[] = [];
    const first = await openDatabase({ databaseUrl: undefined, dataDir, onProgress: (m) => messages.push(m) });
    expect(first.kind).toBe("pglite");
    expect(first.description).toContain(join(dataDir, "pgdata"));
    expect(messages[0]).toMatch(/Creating the embedded database .*first run/);
    await first.exec("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
    expect(existsSync(join(dataDir, "pgdata.lock"))).toBe(true);
    await first.close();
    expect(existsSync(join(dataDir, "pgdata.lock"))).toBe(false);

    const reopenMessages: string[] = [];
    const second = await openDatabase({ databaseUrl: undefined, dataDir, onProgress: (m) => reopenMessages.push(m) });
    expect(await second.query("SELECT v FROM kept")).toEqual([{ v: 42 }]);
    expect(reopenMessages.some((m) => m.includes("Creating"))).toBe(false);
    await second.close();
  });

  it("refuses a folder another live process holds, naming the process and what to do", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/support/holdPgliteFolder.ts", join(dataDir, "pgdata")],
      {
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
        child.on("exit", (code) => reject(new Error(`holder exited early with ${code}`)));
      });
      const error = await openDatabase({ databaseUrl: undefined, dataDir }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConvoyError);
      expect((error as ConvoyError).message).toMatch(
        new RegExp(`in use by process ${child.pid}\\. Stop that process, or set DATABASE_URL`),
      );
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.once("exit", resolve));
    }
    const after = await openDatabase({ databaseUrl: undefined, dataDir });
    expect(await after.query("SELECT v FROM kept")).toEqual([{ v: 42 }]);
    await after.close();
  });

  it("takes over a lock file left by a dead process", async () => {
    writeFileSync(join(dataDir, "pgdata.lock"), "999999999");
    const driver = await openDatabase({ databaseUrl: undefined, dataDir });
    expect(await driver.query("SELECT v FROM kept")).toEqual([{ v: 42 }]);
    await driver.close();
  });
});
