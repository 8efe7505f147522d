import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireMigrateLock } from "../../generator/migrate/migrateLock.js";
import { migrate, migrationStatus, rollback, type MigrateOptions } from "../../generator/migrate/migrate.js";
import type { StepName } from "../../generator/migrate/migrationPlan.js";
import { STEPS } from "../../generator/migrate/migrationPlan.js";
import { syncSchema } from "../../generator/sync/syncSchema.js";
import { z } from "zod";
import { ConvoyError, defineSchema, defineTable, type Id, type SchemaDefinition } from "../../runtime/index.js";
import { generateId } from "../../runtime/schema/ids.js";
import { createDocumentStore } from "../../runtime/server/createDocumentStore.js";
import type { TestDatabase, TestDriverFactory } from "../support/testDatabases.js";
import {
  allRelationalSchema,
  appView,
  jsonbSchema,
  projectInput,
  promotedSchema,
  seed,
  type MigrationStore,
} from "./migrationSchema.js";

async function rejection(promise: Promise<unknown>): Promise<ConvoyError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a ConvoyError, but it succeeded");
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConvoyError);
  return error as ConvoyError;
}

/** `convoy migrate` between layouts on one driver: the data, the app's view and the table's shape. */
export function describeMigrateSuite(factory: TestDriverFactory): void {
  describe.skipIf(factory.unavailable !== null)(`convoy migrate on ${factory.name}`, () => {
    let database: TestDatabase;
    let plansDir: string;
    let jsonbStore: MigrationStore;
    const table = () => `"${database.schemaName}"."projects"`;

    beforeEach(async () => {
      database = await factory.open();
      plansDir = mkdtempSync(join(tmpdir(), "convoy-plans-"));
      await syncSchema(database.driver, jsonbSchema, { schemaName: database.schemaName });
      jsonbStore = storeOf(jsonbSchema);
    });
    afterEach(async () => {
      await database.dispose();
      rmSync(plansDir, { recursive: true, force: true });
    });

    const storeOf = (schema: SchemaDefinition) =>
      createDocumentStore({
        schema,
        driver: database.driver,
        schemaName: database.schemaName,
      }) as unknown as MigrationStore;
    const options = (schema: SchemaDefinition, extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
      driver: database.driver,
      schema,
      schemaName: database.schemaName,
      plansDir,
      batchSize: 13,
      ...extra,
    });
    const sync = (schema: SchemaDefinition) => syncSchema(database.driver, schema, { schemaName: database.schemaName });
    const columns = async () =>
      (
        await database.driver.query<{ column_name: string; data_type: string; is_nullable: string }>(
          `SELECT column_name, data_type, is_nullable FROM information_schema.columns
            WHERE table_schema = $1 AND table_name = 'projects' ORDER BY ordinal_position`,
          [database.schemaName],
        )
      ).map((row) => `${row.column_name} ${row.data_type}${row.is_nullable === "NO" ? " NOT NULL" : ""}`);
    const storedLayout = async () =>
      (
        await database.driver.query<{ layout: string }>(
          `SELECT layout FROM "${database.schemaName}"."_layouts" WHERE table_name = 'projects'`,
        )
      )[0]?.layout ?? "jsonb";

    it("promotes a table online: documents, queries, order and cursors stay the same; the table is typed columns", async () => {
      const [userId] = await seed(jsonbStore, 4, 40);
      const before = await appView(jsonbStore, userId!);
      const cursor = (
        await jsonbStore.query((db) =>
          db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", userId!))
            .paginate({ numItems: 9, cursor: null }),
        )
      ).continueCursor;
      const nextPage = (store: MigrationStore) =>
        store.query((db) =>
          db
            .query("projects")
            .withIndex("by_userId", (q) => q.eq("userId", userId!))
            .paginate({ numItems: 9, cursor }),
        );
      const nextBefore = await nextPage(jsonbStore);

      const synced = await sync(promotedSchema);
      expect(synced.pendingLayouts).toEqual([
        { table: "projects", stored: "jsonb", declared: "relational", migrating: false },
      ]);
      const report = await migrate(options(promotedSchema));
      expect(report.applied).toEqual(["0001_projects_to_relational"]);
      expect(readdirSync(plansDir)).toEqual(["0001_projects_to_relational.sql"]);
      const planText = readFileSync(join(plansDir, "0001_projects_to_relational.sql"), "utf8");
      for (const step of STEPS) expect(planText).toContain(`-- convoy:step ${step}\n`);
      expect(planText).toMatch(/ADD COLUMN IF NOT EXISTS "user_id" text/);

      // The server that started before the migration (JSONB layout in memory) and a new one agree.
      const promotedStore = storeOf(promotedSchema);
      expect(await appView(jsonbStore, userId!)).toEqual(before);
      expect(await appView(promotedStore, userId!)).toEqual(before);
      expect(JSON.stringify(await appView(promotedStore, userId!))).toBe(JSON.stringify(before));
      expect(await nextPage(promotedStore)).toEqual(nextBefore);

      expect(await storedLayout()).toBe("relational");
      expect(await columns()).toEqual([
        "_id text NOT NULL",
        "_creation_time double precision NOT NULL",
        "name text NOT NULL",
        "user_id text NOT NULL",
        "created_at double precision NOT NULL",
        "priority double precision",
        "status text NOT NULL",
        "archived boolean NOT NULL",
        "note text",
        "tags jsonb NOT NULL",
        "meta jsonb",
        "extra jsonb",
        "order double precision",
        "doc_ text",
      ]);
      const constraints = await database.driver.query<{ conname: string; contype: string; convalidated: boolean }>(
        `SELECT conname, contype, convalidated FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype IN ('c', 'f') ORDER BY conname`,
        [table()],
      );
      expect(constraints).toEqual([
        { conname: "projects__created_at__check", contype: "c", convalidated: true },
        { conname: "projects__order__check", contype: "c", convalidated: true },
        { conname: "projects__priority__check", contype: "c", convalidated: true },
        { conname: "projects__status__check", contype: "c", convalidated: true },
        { conname: "projects__user_id__fkey", contype: "f", convalidated: true },
      ]);
      // The indexes have their names and comments: a sync leaves everything as it is.
      const again = await sync(promotedSchema);
      expect(again).toMatchObject({ createdIndexes: [], droppedIndexes: [], alteredColumns: [], pendingLayouts: [] });
      const status = await migrationStatus(database.driver, database.schemaName);
      expect(status).toMatchObject([{ plan: "0001_projects_to_relational", status: "done", step: "contract" }]);
      expect(status[0]!.rowsDone).toBe(160);
      // Nothing left to do.
      expect(await migrate(options(promotedSchema))).toEqual({ written: [], applied: [], held: [] });
    });

    it("writes at every step land in both shapes: Convoy mutations on either layout, psql in either shape", async () => {
      const [userId] = await seed(jsonbStore, 2, 30);
      const promotedStore = storeOf(promotedSchema);
      const expected = new Map<string, string>(); // _id -> name written last
      // A seeded row the backfill reaches last: before it does, an update that changes neither shape.
      const [{ id: lastSeeded }] = (await database.driver.query(`SELECT max(_id) AS id FROM ${table()}`)) as [
        { id: string },
      ];
      let n = 500;
      const write = async (step: StepName) => {
        await database.driver.query(`UPDATE ${table()} SET doc = doc WHERE _id = $1`, [lastSeeded]);
        // A server that has not noticed anything, and one started with the new schema.
        for (const store of [jsonbStore, promotedStore]) {
          const id = await store.mutation((db) => db.insert("projects", projectInput(userId!, n++)));
          expected.set(id, `${step} insert`);
          await store.mutation((db) => db.patch(id, { name: `${step} insert` }));
        }
        // psql in the JSONB shape (while `doc` exists) and in the column shape (once the columns exist).
        const sqlId = generateId("projects");
        await database.driver.query(`INSERT INTO ${table()} (_id, _creation_time, doc) VALUES ($1, $2, $3::jsonb)`, [
          sqlId,
          Date.now(),
          JSON.stringify({ ...projectInput(userId!, n++), name: `${step} doc`, archived: false, tags: [] }),
        ]);
        expected.set(sqlId, `${step} doc`);
        if (STEPS.indexOf(step) > STEPS.indexOf("expand")) {
          const columnId = generateId("projects");
          await database.driver.query(
            `INSERT INTO ${table()} (_id, _creation_time, name, user_id, created_at, status, archived, note, tags)
             VALUES ($1, $2, 'x', $3, 1, 'open', false, NULL, '[]')`,
            [columnId, Date.now(), userId],
          );
          await database.driver.query(`UPDATE ${table()} SET name = $2 WHERE _id = $1`, [columnId, `${step} columns`]);
          expected.set(columnId, `${step} columns`);
        }
      };
      await sync(promotedSchema);
      await migrate(options(promotedSchema, { beforeStep: write }));
      for (const store of [jsonbStore, promotedStore, storeOf(promotedSchema)]) {
        const all = await store.query((db) => db.query("projects").fullTableScan().collect());
        expect(all).toHaveLength(60 + expected.size);
        for (const [id, name] of expected) expect(all.find((doc) => doc._id === id)?.name, id).toBe(name);
      }
      // The psql rows written in column shape read as whole documents.
      const columnWritten = [...expected].filter(([, name]) => name.endsWith("columns"));
      expect(columnWritten.length).toBe(5);
      const one = await promotedStore.query((db) => db.get(columnWritten[0]![0] as Id<"projects">));
      expect(one).toEqual({
        _id: columnWritten[0]![0],
        _creationTime: expect.any(Number),
        name: columnWritten[0]![1],
        userId,
        createdAt: 1,
        status: "open",
        archived: false,
        note: null,
        tags: [],
      });
    });

    it("refuses documents that do not fit their columns, listing them, and changes nothing", async () => {
      const [userId] = await seed(jsonbStore, 1, 5);
      const insert = (id: string, doc: unknown) =>
        database.driver.query(`INSERT INTO ${table()} (_id, _creation_time, doc) VALUES ($1, 1, $2::jsonb)`, [
          id,
          JSON.stringify(doc),
        ]);
      const good = { ...projectInput(userId!, 1), archived: false, tags: [] };
      await insert("projects_00000000000000000000000001", { ...good, createdAt: "yesterday" });
      await insert("projects_00000000000000000000000002", { ...good, colour: "red" });
      await insert("projects_00000000000000000000000003", { ...good, userId: "users_0000000000000000000000dead" });
      await insert("projects_00000000000000000000000004", { ...good, status: "archived" });
      const columnsBefore = await columns();
      await sync(promotedSchema);
      const error = await rejection(migrate(options(promotedSchema)));
      expect(error.code).toBe("PRECONDITION_FAILED");
      expect(error.message).toContain("nothing was changed");
      expect(error.message).toMatch(/0001: createdAt: "yesterday" does not fit created_at double precision NOT NULL/);
      expect(error.message).toMatch(/0002: fields not in the schema: colour/);
      expect(error.message).toMatch(/0003: userId: users_0000000000000000000000dead is not a document of users/);
      expect(error.message).toMatch(/0004: status: "archived" does not fit status text NOT NULL IN \("open", "done"\)/);
      expect(await columns()).toEqual(columnsBefore);
      expect(await storedLayout()).toBe("jsonb");
      expect(await migrationStatus(database.driver, database.schemaName)).toEqual([]);
      expect((await sync(promotedSchema)).pendingLayouts).toMatchObject([{ table: "projects", migrating: false }]);

      await database.driver.query(`DELETE FROM ${table()} WHERE _id LIKE 'projects_0000000000000000000000000%'`);
      expect((await migrate(options(promotedSchema))).applied).toEqual(["0001_projects_to_relational"]);
    });

    it("refuses a psql write that does not fit while the migration runs, naming the document and field", async () => {
      const [userId] = await seed(jsonbStore, 1, 5);
      await sync(promotedSchema);
      let refused: unknown;
      await migrate(
        options(promotedSchema, {
          beforeStep: async (step) => {
            if (step !== "backfill") return;
            const doc = { ...projectInput(userId!, 2), archived: false, tags: [], createdAt: "noon" };
            refused = await database.driver
              .query(
                `INSERT INTO ${table()} (_id, _creation_time, doc) VALUES ('projects_0000000000000000000000late', 1, $1::jsonb)`,
                [JSON.stringify(doc)],
              )
              .catch((error: unknown) => error);
          },
        }),
      );
      expect(String((refused as Error).message)).toMatch(
        /projects projects_0000000000000000000000late: field createdAt is "noon", which does not fit its column/,
      );
      expect((refused as { code?: string }).code).toBe("22023");
      expect(await jsonbStore.query((db) => db.query("projects").fullTableScan().collect())).toHaveLength(5);
    });

    it("resumes after being stopped before any step, and finishes with the same data", async () => {
      const [userId] = await seed(jsonbStore, 2, 20);
      const before = await appView(jsonbStore, userId!);
      await sync(promotedSchema);
      for (const stopAt of STEPS) {
        if ((await storedLayout()) === "relational") await rollback({ ...options(promotedSchema), table: "projects" });
        const stopped = await migrate(
          options(promotedSchema, {
            tables: ["projects"],
            beforeStep: (step) => {
              if (step === stopAt) throw new Error(`stopped before ${step}`);
            },
          }),
        ).catch((error: unknown) => error);
        expect(String(stopped)).toContain(`stopped before ${stopAt}`);
        const [running] = (await migrationStatus(database.driver, database.schemaName)).filter(
          (row) => row.status === "running",
        );
        expect(running?.step, stopAt).toBe(stopAt === "check" ? "planned" : STEPS[STEPS.indexOf(stopAt) - 1]);
        expect(running?.active).toBe(false);
        // Meanwhile the app reads and writes as usual; sync leaves the migrating table alone.
        expect((await sync(promotedSchema)).pendingLayouts).toMatchObject([{ table: "projects", migrating: true }]);
        expect(await appView(storeOf(promotedSchema), userId!)).toEqual(before);
        await migrate(options(promotedSchema, { tables: ["projects"] }));
        expect(await storedLayout(), stopAt).toBe("relational");
        expect(await appView(storeOf(promotedSchema), userId!)).toEqual(before);
        expect(await appView(jsonbStore, userId!)).toEqual(before);
      }
    });

    it("rolls back: cancels a promotion under way, returns a promoted table to JSONB, and does not promote it again by itself", async () => {
      const [userId] = await seed(jsonbStore, 2, 15);
      const before = await appView(jsonbStore, userId!);
      const columnsBefore = await columns();
      await sync(promotedSchema);
      // Stopped after the switch: servers already use the columns.
      await migrate(
        options(promotedSchema, {
          beforeStep: (step) => {
            if (step === "contract") throw new Error("stop");
          },
        }),
      ).catch(() => {});
      expect(await storedLayout()).toBe("relational");
      expect(await appView(storeOf(promotedSchema), userId!)).toEqual(before);
      expect(await rollback({ ...options(promotedSchema), table: "projects" })).toEqual({
        kind: "cancelled",
        plan: "0001_projects_to_relational",
      });
      expect(await storedLayout()).toBe("jsonb");
      expect(await columns()).toEqual(columnsBefore);
      expect(await appView(storeOf(promotedSchema), userId!)).toEqual(before);

      // Cancelled is not done: the next convoy migrate plans it again.
      expect((await migrate(options(promotedSchema))).applied).toEqual(["0002_projects_to_relational"]);
      const back = await rollback({ ...options(promotedSchema), table: "projects" });
      expect(back).toMatchObject({ kind: "migrated", plan: "0003_projects_to_jsonb" });
      expect(await storedLayout()).toBe("jsonb");
      expect(await columns()).toEqual(columnsBefore);
      expect(JSON.stringify(await appView(storeOf(promotedSchema), userId!))).toBe(JSON.stringify(before));
      expect(await appView(jsonbStore, userId!)).toEqual(before);
      // Sync finds the JSONB indexes in place.
      expect(await sync(promotedSchema)).toMatchObject({ createdIndexes: [], droppedIndexes: [] });

      const held = await migrate(options(promotedSchema));
      expect(held.applied).toEqual([]);
      expect(held.held).toEqual([{ table: "projects", reason: expect.stringMatching(/rolled back to jsonb by 0003/) }]);
      expect((await migrate(options(promotedSchema, { tables: ["projects"] }))).applied).toEqual([
        "0004_projects_to_relational",
      ]);
      const unknown = await rejection(rollback({ ...options(promotedSchema), table: "nope" }));
      expect(unknown.message).toContain('--rollback nope: no table "nope" in the schema. Tables: users, projects');
      expect(await appView(storeOf(promotedSchema), userId!)).toEqual(before);
    });

    it("promotes an empty table and a table others reference; a committed plan finds a fresh database already done", async () => {
      await sync(allRelationalSchema);
      // users (referenced by projects) and projects, both empty, both promoted.
      expect((await migrate(options(allRelationalSchema))).applied).toEqual([
        "0001_users_to_relational",
        "0002_projects_to_relational",
      ]);
      const store = storeOf(allRelationalSchema);
      const userId = await store.mutation((db) => db.insert("users", { name: "Ada", createdAt: 1 }));
      await store.mutation((db) => db.insert("projects", projectInput(userId, 1)));
      const dangling = await rejection(
        store.mutation((db) =>
          db.insert("projects", projectInput("users_0000000000000000000000dead" as Id<"users">, 2)),
        ),
      );
      expect(dangling.code).toBe("BAD_REQUEST");
      expect(dangling.message).toMatch(/A reference points at no document .*users_0000000000000000000000dead/);
      const referenced = await rejection(store.mutation((db) => db.delete(userId)));
      expect(referenced.code).toBe("PRECONDITION_FAILED");

      // Another database (a new developer's, emptied here): sync creates the tables relational; the plans have nothing to do.
      await database.driver.exec(`DROP SCHEMA "${database.schemaName}" CASCADE`);
      await sync(allRelationalSchema);
      expect(await migrate(options(allRelationalSchema))).toEqual({ written: [], applied: [], held: [] });
      expect(await migrationStatus(database.driver, database.schemaName)).toMatchObject([
        { plan: "0001_users_to_relational", status: "done" },
        { plan: "0002_projects_to_relational", status: "done" },
      ]);
    });

    it("refuses a plan made for another version of the table, and a plan file edited while it runs", async () => {
      await seed(jsonbStore, 1, 3);
      await sync(promotedSchema);
      await migrate(options(promotedSchema, { dryRun: true }));
      const file = join(plansDir, "0001_projects_to_relational.sql");
      // The projects table changed after its plan was written: the plan is stale.
      const otherProjects = defineSchema({
        users: promotedSchema.tables.users,
        projects: defineTable({
          ...promotedSchema.tables.projects.validator.shape,
          extraField: z.string().optional(),
        }).relational(),
      });
      await sync(otherProjects);
      const refused = await rejection(migrate(options(otherProjects)));
      expect(refused.code).toBe("PRECONDITION_FAILED");
      expect(refused.message).toContain('was planned for another version of table "projects"');
      rmSync(file);
      await sync(promotedSchema);

      await migrate(
        options(promotedSchema, {
          beforeStep: (step) => {
            if (step === "backfill") throw new Error("stop");
          },
        }),
      ).catch(() => {});
      writeFileSync(file, readFileSync(file, "utf8").replace("LIMIT $2::int", "LIMIT $2::int "));
      const edited = await rejection(migrate(options(promotedSchema)));
      expect(edited.code).toBe("CONFLICT");
      expect(edited.message).toContain("changed after `convoy migrate` started applying it");
    });

    if (factory.name === "postgres") {
      it("two convoy migrate at once: the second waits for the first, or refuses with --no-wait", async () => {
        await seed(jsonbStore, 1, 3);
        await sync(promotedSchema);
        const held = await acquireMigrateLock(database.driver, database.schemaName);
        const refused = await rejection(migrate(options(promotedSchema, { wait: false })));
        expect(refused.code).toBe("CONFLICT");
        expect(refused.message).toMatch(
          /Another `convoy migrate` is running on this database .*Postgres backend pid \d+/,
        );
        const messages: string[] = [];
        let finished = false;
        const waiting = migrate(options(promotedSchema, { onProgress: (message) => messages.push(message) })).then(
          (report) => {
            finished = true;
            return report;
          },
        );
        await expect.poll(() => messages.some((message) => message.includes("waiting for it to finish"))).toBe(true);
        expect(finished).toBe(false);
        await held.release();
        expect((await waiting).applied).toEqual(["0001_projects_to_relational"]);
      });
    }
  });
}
