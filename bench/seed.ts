import type { Driver } from "../runtime/drivers/driver.js";
import { generateId } from "../runtime/schema/ids.js";
import { nextCreationTime } from "../runtime/store/creationTime.js";

/** Bulk-loads documents into a Convoy table (quoted, schema-qualified), 1,000 per statement. */
export async function bulkInsertDocuments(driver: Driver, table: string, docs: readonly unknown[]): Promise<void> {
  for (let start = 0; start < docs.length; start += 1000) {
    const ids: string[] = [];
    const times: number[] = [];
    const texts: string[] = [];
    for (const doc of docs.slice(start, start + 1000)) {
      const time = nextCreationTime();
      ids.push(generateId("projects", time));
      times.push(time);
      texts.push(JSON.stringify(doc));
    }
    await driver.query(
      `INSERT INTO ${table} (_id, _creation_time, doc)
       SELECT id, time, doc::jsonb FROM unnest($1::text[], $2::float8[], $3::text[]) AS seed(id, time, doc)`,
      [ids, times, texts],
    );
  }
}
