// The Postgres driver's own connections (listener, lock session) when the server hangs
// up while they connect: the call fails, and nothing reports a loss of a connection
// that never opened.
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDriver } from "../../runtime/drivers/postgres/postgresDriver.js";

describe("connections outside the pool, to a server that hangs up at once", () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Accepts, then closes without a word: pg sees the connection end while starting up.
    server = createServer((socket) => socket.end()).listen(0, "127.0.0.1");
    await once(server, "listening");
    url = `postgres://postgres@127.0.0.1:${(server.address() as { port: number }).port}/nowhere`;
  });
  afterAll(() => {
    server?.close();
  });

  it("listen and openSession reject, and never call onLost", async () => {
    const driver = createPostgresDriver({ connectionString: url });
    const lost: unknown[] = [];
    try {
      await expect(
        driver.listen(
          "channel",
          () => {},
          (error) => lost.push(error),
        ),
      ).rejects.toThrow(/Connection terminated/);
      await expect(driver.openSession!((error) => lost.push(error))).rejects.toThrow(/Connection terminated/);
      // Let any late 'end' event arrive.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(lost).toEqual([]);
    } finally {
      await driver.close();
    }
  });
});
