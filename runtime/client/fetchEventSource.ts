import type { EventSourceLike, StreamEvent } from "./watchStream.js";

/** Options of {@link FetchEventSource} (the shape EventSource's second argument has). */
export interface FetchEventSourceInit {
  /** Sends cookies to another origin too. @default false */
  withCredentials?: boolean;
  /** The fetch to read the stream with. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * A Server-Sent Events reader on `fetch` and web streams: what `convoy/client` uses for
 * live queries in Node 20 (which has no EventSource) and in browsers. Unlike a browser's
 * EventSource it can send headers, and a refused stream's `error` event carries the
 * HTTP status (`code`) and the server's answer (`message`), so a 429 or 401 reaches the
 * app. It does not reconnect by itself: after `error` it is closed.
 * @internal
 */
export class FetchEventSource implements EventSourceLike {
  private readonly listeners = new Map<string, ((event: StreamEvent) => void)[]>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(url: string, init: FetchEventSourceInit = {}) {
    const doFetch = init.fetch ?? globalThis.fetch.bind(globalThis);
    void this.read(doFetch, url, init.withCredentials ?? false);
  }

  addEventListener(type: string, listener: (event: StreamEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
  }

  private dispatch(type: string, event: StreamEvent): void {
    if (this.closed) return;
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  private fail(event: StreamEvent): void {
    this.dispatch("error", event);
    this.close();
  }

  private async read(doFetch: typeof fetch, url: string, withCredentials: boolean): Promise<void> {
    let response: Response;
    try {
      response = await doFetch(url, {
        headers: { accept: "text/event-stream" },
        credentials: withCredentials ? "include" : "same-origin",
        cache: "no-store",
        signal: this.abort.signal,
      });
    } catch (error) {
      this.fail({ message: (error as Error).message });
      return;
    }
    if (!response.ok || response.body === null) {
      const message = await response.text().catch(() => "");
      this.fail({ code: response.status, message });
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let type = "message";
    let data: string[] = [];
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        let newline: number;
        while ((newline = buffer.search(/\r\n|\r|\n/)) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
          if (line === "") {
            if (data.length > 0) this.dispatch(type, { data: data.join("\n") });
            type = "message";
            data = [];
            continue;
          }
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon === -1 ? line : line.slice(0, colon);
          const text = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") type = text;
          else if (field === "data") data.push(text);
        }
      }
      this.fail({ message: "The server ended the stream" });
    } catch (error) {
      this.fail({ message: (error as Error).message });
    }
  }
}
