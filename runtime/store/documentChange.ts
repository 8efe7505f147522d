/** A document as a change saw it: its creation time and user fields. */
export interface ChangedDocument {
  creationTime: number;
  doc: Record<string, unknown>;
}

/**
 * One change to one document, from the change log or from the mutation that made it
 * (`id` null: the whole table, e.g. TRUNCATE). `before` is null for an insert, `after`
 * for a delete.
 */
export interface Change {
  table: string;
  id: string | null;
  before: ChangedDocument | null;
  after: ChangedDocument | null;
  /** The committed transaction's id as text (`xid8`), where the reader knows it (the change log). */
  position?: string;
}

/** Receives every write a mutation makes, in order. */
export type WriteListener = (change: Change) => void;
