// @vitest-environment happy-dom
// @vitest-environment-options {"settings":{"fetch":{"disableSameOriginPolicy":true}}}
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvoyProvider, useAction } from "../../react/index.js";
import { createConvoyClient, type ConvoyClient } from "../../runtime/client/convoyClient.js";
import { api, schedulerFunctions } from "../support/schedulerApp.js";
import { pgliteFactory } from "../support/testDatabases.js";
import { startTestServer, type TestServer } from "../support/testServer.js";

let server: TestServer;
let client: ConvoyClient;

beforeAll(async () => {
  server = await startTestServer(pgliteFactory, schedulerFunctions);
  client = createConvoyClient({ url: server.url });
});
afterEach(() => cleanup());
afterAll(() => server?.close());

function Greeter({ name }: { name: string }) {
  const greet = useAction(api.jobs.greet);
  return (
    <div>
      <button onClick={() => greet.mutate({ name })}>greet</button>
      <p data-testid="result">{greet.data?.greeting ?? "none"}</p>
      {greet.error ? <p data-testid="error">{greet.error.message}</p> : null}
    </div>
  );
}

describe("useAction", () => {
  it("runs an action once per call and shows its result", async () => {
    render(
      <ConvoyProvider client={client}>
        <Greeter name="react" />
      </ConvoyProvider>,
    );
    expect(screen.getByTestId("result").textContent).toBe("none");
    await act(async () => screen.getByText("greet").click());
    await waitFor(() => expect(screen.getByTestId("result").textContent).toBe("hello react"), { timeout: 5000 });
  });

  it("shows the server's error for bad arguments", async () => {
    render(
      <ConvoyProvider client={client}>
        <Greeter name={1 as never} />
      </ConvoyProvider>,
    );
    await act(async () => screen.getByText("greet").click());
    await waitFor(() => expect(screen.getByTestId("error").textContent).toContain("Invalid arguments for jobs.greet"), {
      timeout: 5000,
    });
  });
});
