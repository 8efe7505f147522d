// Server-side rendering: plain Node, no DOM globals. Importing and rendering must not touch `window`.
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { FunctionReference } from "../../runtime/index.js";

describe("convoy/react during server-side rendering", () => {
  it("imports and renders without a window, opening no stream", async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe("undefined");
    const { ConvoyProvider, useQuery } = await import("../../react/index.js");
    const { createConvoyClient } = await import("../../runtime/client/convoyClient.js");
    const { functionReferences } = await import("../../runtime/functions/functionReference.js");
    const api = functionReferences<{ projects: { list: FunctionReference<"query"> } }>({ projects: { list: "query" } });
    function Projects() {
      const { data, isLoading } = useQuery(api.projects.list, {});
      return <p>{isLoading ? "loading" : String(data)}</p>;
    }
    // Port 9 (discard): a request would fail; rendering must not make one.
    const client = createConvoyClient({ url: "http://127.0.0.1:9" });
    const html = renderToString(
      <ConvoyProvider client={client}>
        <Projects />
      </ConvoyProvider>,
    );
    expect(html).toBe("<p>loading</p>");
    client.close();
  });
});
