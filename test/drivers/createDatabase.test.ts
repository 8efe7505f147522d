import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { openDatabase } from "../../runtime/drivers/openDatabase.js";
import { ConvoyError } from "../../runtime/errors.js";

const baseUrl = inject("postgresUrl");

describe.skipIf(baseUrl === null)("openDatabase on Postgres", () => {
  it("creates the database named in DATABASE_URL when it is missing", async () => {
    const name = `convoy_new_${randomBytes(4).toString("hex")}`;
    const url = new URL(baseUrl!);
    url.pathname = `/${name}`;
    const messages: string[] = [];
    const driver = await openDatabase({ databaseUrl: url.toString(), onProgress: (m) => messages.push(m) });
    try {
      expect(driver.kind).toBe("postgres");
      expect(messages).toContain("Created the database");
      expect(await driver.query("SELECT current_database() AS db")).toEqual([{ db: name }]);
    } finally {
      await driver.close();
      const admin = new pg.Client({ connectionString: baseUrl! });
      await admin.connect();
      await admin.query(`DROP DATABASE "${name}"`);
      await admin.end();
    }
  });

  it("fails with a clear error when the server cannot be reached", async () => {
    const error = await openDatabase({ databaseUrl: "postgres://postgres@127.0.0.1:1/nothing" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConvoyError);
    expect((error as ConvoyError).message).toMatch(
      /Cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/nothing.*DATABASE_URL/,
    );
  });
});
