/**
 * App traffic for `bench/relational.bench.ts` while a table migrates: workers calling
 * store mutations back to back (half inserts of new projects, half patches of existing
 * ones), logging each one's start and end, and keeping the documents they should have
 * left, to check the migrated table against.
 */
import { isDeepStrictEqual } from "node:util";
import type { DocumentStore } from "../runtime/store/documentStore.js";
import type { DataModelFromSchema } from "../runtime/schema/dataModel.js";
import { projectDoc, STATUSES, type relationalSchema, type Seeded, type UserId } from "./relationalData.js";

type Store = DocumentStore<DataModelFromSchema<typeof relationalSchema>>;

/** One mutation: when it started and ended (performance.now() ms) and whether it failed. */
export interface OpRecord {
  start: number;
  end: number;
  failed: boolean;
}

/** Mutations on `projects` from `workers` loops until {@link stop}. */
export class MutationLoad {
  readonly ops: OpRecord[] = [];
  readonly errors: unknown[] = [];
  /** `_id` → the fields the table should hold once every mutation committed. */
  readonly expected = new Map<string, Record<string, unknown>>();
  private readonly creationTimes = new Map<string, number>();
  private stopped = false;
  private running: Promise<void>[] = [];
  private counter = 0;

  constructor(
    private readonly store: Store,
    private readonly userIds: readonly UserId[],
    private readonly seeded: readonly Seeded[],
    private readonly workers: number,
  ) {
    for (const doc of seeded) {
      this.expected.set(doc._id, { ...doc.fields });
      this.creationTimes.set(doc._id, doc._creationTime);
    }
  }

  start(): void {
    this.running = Array.from({ length: this.workers }, (_, worker) => this.loop(worker));
  }

  /** Worker w patches only the seeded documents i with i % workers === w, so each document's last patch is known. */
  private async loop(worker: number): Promise<void> {
    let patched = 0;
    while (!this.stopped) {
      const n = this.counter++;
      const start = performance.now();
      let failed = false;
      try {
        if (n % 2 === 0) {
          const doc = projectDoc(this.userIds, this.seeded.length + n);
          const id = await this.store.mutation((db) => db.insert("projects", doc));
          this.expected.set(id, { ...doc });
        } else {
          const id =
            this.seeded[worker + this.workers * (patched++ % Math.floor(this.seeded.length / this.workers))]!._id;
          const patch = { status: STATUSES[n % STATUSES.length]!, hours: n % 500 };
          await this.store.mutation((db) => db.patch("projects", id as never, patch));
          Object.assign(this.expected.get(id)!, patch);
        }
      } catch (error) {
        failed = true;
        this.errors.push(error);
      }
      this.ops.push({ start, end: performance.now(), failed });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /**
   * Reads every project through a store and compares it with what the mutations left:
   * the same ids, the same fields, seeded documents' creation times unchanged. Returns
   * the problems (at most 5), empty when equal.
   */
  async check(reader: Store): Promise<string[]> {
    const documents = await reader.query((db) => db.query("projects").collect());
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const { _id, _creationTime, ...fields } of documents) {
      seen.add(_id);
      const want = this.expected.get(_id);
      if (want === undefined) problems.push(`${_id} should not exist`);
      else if (!isDeepStrictEqual(fields, want))
        problems.push(`${_id}: ${JSON.stringify(fields)} instead of ${JSON.stringify(want)}`);
      const time = this.creationTimes.get(_id);
      if (time !== undefined && time !== _creationTime)
        problems.push(`${_id}: _creationTime ${_creationTime} ≠ ${time}`);
    }
    for (const id of this.expected.keys()) if (!seen.has(id)) problems.push(`${id} is missing`);
    return problems.slice(0, 5);
  }
}
