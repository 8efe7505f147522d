import { announcingObserver } from "../live/announcingObserver.js";
import type { DataModelFromSchema } from "../schema/dataModel.js";
import type { SchemaDefinition, TableDefinitions } from "../schema/defineSchema.js";
import {
  checkSchemaName,
  DEFAULT_SCHEMA_NAME,
  DocumentStore,
  type DocumentStoreOptions,
} from "../store/documentStore.js";

/**
 * Creates the document store for a schema on a driver. Run `syncSchema` first so
 * the tables exist. Without an `observer`, its commits are announced to listening
 * servers after they commit.
 *
 * @example
 * ```ts
 * const store = createDocumentStore({ schema, driver: await openDatabase() });
 * ```
 */
export function createDocumentStore<TSchema extends SchemaDefinition<TableDefinitions>>(
  options: DocumentStoreOptions<TSchema>,
): DocumentStore<DataModelFromSchema<TSchema>> {
  const schemaName = checkSchemaName(options.schemaName ?? DEFAULT_SCHEMA_NAME);
  const announcer = announcingObserver(options.driver, schemaName);
  const observer = options.observer;
  return new DocumentStore({ ...options, observer: () => observer?.() ?? announcer });
}
