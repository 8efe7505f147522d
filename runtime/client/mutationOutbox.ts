/** A mutation waiting in an outbox: what to call, and the id that makes resending it safe. */
export interface OutboxEntry {
  path: string;
  args: unknown;
  mutationId: string;
}

/**
 * Where a client keeps the mutations it has not yet seen applied, so that they survive
 * a page reload or a closed tab and are sent again by the next client on the same
 * outbox. `load` and `save` are called with the whole list, oldest first.
 */
export interface MutationOutbox {
  load(): OutboxEntry[];
  save(entries: OutboxEntry[]): void;
}

/** What {@link localStorageOutbox} needs of `localStorage`. */
export interface StringStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * An outbox in the browser's `localStorage` under `key` (one per server and user, if a
 * page talks to several).
 *
 * @example
 * ```ts
 * const client = createConvoyClient({ outbox: localStorageOutbox(), mutationRetryMs: Infinity });
 * ```
 */
export function localStorageOutbox(
  key = "convoy:outbox",
  storage: StringStorage | undefined = (globalThis as { localStorage?: StringStorage }).localStorage,
): MutationOutbox {
  if (storage === undefined) {
    throw new TypeError("localStorageOutbox: there is no localStorage here; pass a storage, or use no outbox");
  }
  return {
    load() {
      const text = storage.getItem(key);
      if (text === null) return [];
      try {
        const entries: unknown = JSON.parse(text);
        return Array.isArray(entries) ? entries.filter(isOutboxEntry) : [];
      } catch {
        return []; // not ours, or damaged: nothing to resend
      }
    },
    save(entries) {
      storage.setItem(key, JSON.stringify(entries));
    },
  };
}

function isOutboxEntry(value: unknown): value is OutboxEntry {
  const entry = value as Partial<OutboxEntry> | null;
  return typeof entry?.path === "string" && typeof entry.mutationId === "string" && "args" in entry;
}
