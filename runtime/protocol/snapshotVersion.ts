/**
 * Positions and versions of Convoy's live protocol, comparable across servers on one
 * database because they are Postgres's own:
 *
 * - a **position** is a committed transaction's id, `pg_current_xact_id()` as decimal
 *   text (`xid8`, never wraps); a mutation's answer carries its position;
 * - a **version** is a snapshot, `pg_current_snapshot()` as text (`xmin:xmax:xip,...`);
 *   a transition carries the version its results were read at.
 *
 * A version covers a position when the snapshot sees that commit, as Postgres's
 * `pg_visible_in_snapshot` decides it. Framework-free, no `node:` imports: the browser
 * client uses it too.
 *
 * @example
 * ```ts
 * versionCovers("100:104:101,103", "102"); // true: 102 committed before the snapshot
 * ```
 */

/** A parsed snapshot. */
export interface Snapshot {
  readonly text: string;
  readonly xmin: bigint;
  readonly xmax: bigint;
  /** Transactions in progress when the snapshot was taken (between xmin and xmax). */
  readonly inProgress: ReadonlySet<bigint>;
}

const SNAPSHOT = /^(\d{1,20}):(\d{1,20}):((?:\d{1,20}(?:,\d{1,20})*)?)$/;
const POSITION = /^\d{1,20}$/;

/** Parses `xmin:xmax:xip,...`; returns null when `text` is not one. */
export function parseSnapshot(text: string): Snapshot | null {
  const match = SNAPSHOT.exec(text);
  if (match === null) return null;
  const xmin = BigInt(match[1]!);
  const xmax = BigInt(match[2]!);
  if (xmin > xmax) return null;
  const inProgress = new Set(match[3] ? match[3].split(",").map((xid) => BigInt(xid)) : []);
  return { text, xmin, xmax, inProgress };
}

/** True when `text` is a position (a transaction id as decimal text). */
export function isPosition(text: unknown): text is string {
  return typeof text === "string" && POSITION.test(text);
}

/** True when the snapshot sees the committed transaction at `position`. */
export function snapshotCovers(snapshot: Snapshot, position: string | bigint): boolean {
  const xid = typeof position === "bigint" ? position : BigInt(position);
  if (xid < snapshot.xmin) return true;
  if (xid >= snapshot.xmax) return false;
  return !snapshot.inProgress.has(xid);
}

/** {@link snapshotCovers} for a version as text; false when it does not parse. */
export function versionCovers(version: string, position: string): boolean {
  const snapshot = parseSnapshot(version);
  return snapshot !== null && isPosition(position) && snapshotCovers(snapshot, position);
}
