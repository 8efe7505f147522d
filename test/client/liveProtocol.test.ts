// The live wire protocol's checks, on their own: what server and client accept and refuse.
import { describe, expect, it } from "vitest";
import { isConvoyError } from "../../runtime/errors.js";
import {
  LIVE_PROTOCOL_VERSION,
  parseQueryError,
  parseReady,
  parseTransition,
  parseSubscribeChange,
  parseWatchRequests,
  protocolErrorWatch,
  protocolRefusal,
} from "../../runtime/protocol/liveProtocol.js";

/** The ConvoyError `run` throws. */
function thrown(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (isConvoyError(error)) return error;
    throw error;
  }
  throw new Error("expected a ConvoyError");
}

describe("protocolRefusal", () => {
  it("accepts the current version and no version at all (curl)", () => {
    expect(protocolRefusal(String(LIVE_PROTOCOL_VERSION))).toBeUndefined();
    expect(protocolRefusal(null)).toBeUndefined();
    expect(protocolRefusal(undefined)).toBeUndefined();
  });

  it("refuses another version with UPGRADE_REQUIRED naming both versions and what to do", () => {
    const newer = protocolRefusal(String(LIVE_PROTOCOL_VERSION + 1))!;
    expect(newer.code).toBe("UPGRADE_REQUIRED");
    expect(newer.data).toEqual({ clientProtocol: LIVE_PROTOCOL_VERSION + 1, serverProtocol: LIVE_PROTOCOL_VERSION });
    expect(newer.message).toMatch(/upgrade convoy on the server/);
    expect(newer.message).toContain(
      `speaks Convoy's live protocol ${LIVE_PROTOCOL_VERSION + 1}, the server speaks ${LIVE_PROTOCOL_VERSION}`,
    );
  });

  it("refuses a version that is not a whole number with BAD_REQUEST", () => {
    for (const bad of ["", "abc", "1.0", "-1", "0", "1,2"]) {
      const error = protocolRefusal(bad)!;
      expect(error.code, bad).toBe("BAD_REQUEST");
      expect(error.message).toMatch(/whole number/);
    }
  });
});

describe("requests the server reads", () => {
  it("parses watches, defaulting args to {}", () => {
    expect(
      parseWatchRequests([
        { id: "a", path: "p.q" },
        { id: "b", path: "p.r", args: { x: 1 } },
      ]),
    ).toEqual([
      { id: "a", path: "p.q", args: {} },
      { id: "b", path: "p.r", args: { x: 1 } },
    ]);
  });

  it("refuses malformed watches with messages that say the shape", () => {
    expect(thrown(() => parseWatchRequests({})).message).toMatch(/JSON array/);
    expect(thrown(() => parseWatchRequests([1])).message).toMatch(/each watch is an object/);
    expect(thrown(() => parseWatchRequests([{ id: "has space", path: "p" }])).message).toMatch(/"id" of 1-64/);
    expect(
      thrown(() =>
        parseWatchRequests([
          { id: "a", path: "p" },
          { id: "a", path: "p" },
        ]),
      ).message,
    ).toMatch(/given twice/);
    expect(thrown(() => parseWatchRequests([{ id: "a", path: 3 }])).message).toMatch(/"path" names the query/);
  });

  it("parses the add/remove body and refuses anything else", () => {
    expect(parseSubscribeChange({})).toEqual({ add: [], remove: [] });
    expect(parseSubscribeChange({ add: [{ id: "a", path: "p" }], remove: ["b"] })).toEqual({
      add: [{ id: "a", path: "p", args: {} }],
      remove: ["b"],
    });
    expect(thrown(() => parseSubscribeChange([])).message).toMatch(/"add": \[/);
    expect(thrown(() => parseSubscribeChange({ drop: [] })).message).toMatch(/Unknown field\(s\) drop/);
    expect(thrown(() => parseSubscribeChange({ remove: [1] })).message).toMatch(/array of watch ids/);
    expect(thrown(() => parseSubscribeChange({ remove: [1] })).code).toBe("BAD_REQUEST");
    expect(parseSubscribeChange({ await: "7391" })).toEqual({ add: [], remove: [], await: "7391" });
    expect(thrown(() => parseSubscribeChange({ await: 7391 })).message).toMatch(/"await" is a mutation's position/);
    expect(thrown(() => parseSubscribeChange({ await: "latest" })).code).toBe("BAD_REQUEST");
  });
});

describe("events the client reads", () => {
  it("parses well-formed events", () => {
    expect(parseReady('{"streamId":"s1","maxWatches":256}')).toEqual({ streamId: "s1", maxWatches: 256 });
    expect(parseTransition('{"version":"10:12:11","results":[{"id":"w0","value":null}]}')).toEqual({
      version: "10:12:11",
      results: [{ id: "w0", value: null }],
    });
    expect(
      parseTransition('{"version":"5:5:","results":[{"id":"w1","error":{"code":"FORBIDDEN","message":"no"}}]}'),
    ).toEqual({ version: "5:5:", results: [{ id: "w1", error: { code: "FORBIDDEN", message: "no" } }] });
    expect(parseTransition('{"version":"5:5:","results":[]}').results).toEqual([]);
    expect(parseTransition('{"version":"5:5:","results":[],"mutations":["m1"]}').mutations).toEqual(["m1"]);
    expect(parseQueryError('{"id":"w0","error":{"code":"NOT_FOUND","message":"gone","data":1}}')).toEqual({
      id: "w0",
      error: { code: "NOT_FOUND", message: "gone", data: 1 },
    });
  });

  it("refuses malformed events with PROTOCOL_ERROR, naming the watch when it can", () => {
    const notJson = thrown(() => parseTransition("<html>"));
    expect(notJson.code).toBe("PROTOCOL_ERROR");
    expect(notJson.message).toMatch(/"transition" event is not JSON \(<html>\).*live protocol 2/);
    expect(protocolErrorWatch(notJson)).toBeUndefined();

    const noValue = thrown(() => parseTransition('{"version":"1:1:","results":[{"id":"w3"}]}'));
    expect(noValue.message).toMatch(/for w3 with neither value nor error/);

    expect(thrown(() => parseTransition("[1]")).message).toMatch(/not a JSON object/);
    expect(thrown(() => parseTransition('{"version":"1:1:","results":[{"value":1}]}')).message).toMatch(
      /without a watch id/,
    );
    expect(thrown(() => parseTransition('{"version":"latest","results":[]}')).message).toMatch(/no snapshot version/);
    expect(thrown(() => parseTransition('{"version":"1:1:","results":{}}')).message).toMatch(/no results array/);
    expect(thrown(() => parseTransition('{"version":"1:1:","results":[],"mutations":[1]}')).message).toMatch(
      /mutations that are not a list of mutation ids/,
    );
    expect(thrown(() => parseReady('{"maxWatches":2}')).message).toMatch(/no streamId/);
    expect(thrown(() => parseReady('{"streamId":"s","maxWatches":0}')).message).toMatch(/no whole maxWatches/);
    const badError = thrown(() => parseQueryError('{"id":"w1","error":"boom"}'));
    expect(badError.message).toMatch(/no \{ code, message \} error/);
    expect(protocolErrorWatch(badError)).toBe("w1");
  });

  it("shortens a long malformed payload in the message", () => {
    const error = thrown(() => parseTransition("x".repeat(5000)));
    expect(error.message.length).toBeLessThan(600);
  });
});
