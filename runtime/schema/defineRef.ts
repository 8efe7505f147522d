import { z } from "zod";
import { ConvoyError } from "../errors.js";
import { TABLE_NAME_PATTERN, tableOfId, type Id } from "./ids.js";

/** The zod schema {@link defineRef} returns: accepts only ids of `TTable`. */
export type RefValidator<TTable extends string> = z.ZodCustom<Id<TTable>, Id<TTable>>;

function describeWrongId(table: string, input: unknown): string {
  const actualTable = tableOfId(input);
  if (actualTable !== null) {
    return `Expected an id of table "${table}", got an id of table "${actualTable}"`;
  }
  const shown = typeof input === "string" ? JSON.stringify(input.slice(0, 80)) : typeof input;
  return `Expected an id of table "${table}", got ${shown}, which is not a Convoy id`;
}

/**
 * A field that references a document of another table. It accepts only ids of that
 * table and types the field as `Id<TTable>`.
 *
 * @example
 * ```ts
 * projects: defineTable({ name: z.string(), userId: defineRef("users") })
 * ```
 */
export function defineRef<TTable extends string>(table: TTable): RefValidator<TTable> {
  if (!TABLE_NAME_PATTERN.test(table)) {
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `defineRef(${JSON.stringify(table)}): a table name starts with a letter and holds only letters, digits and "_"`,
    });
  }
  return z
    .custom<Id<TTable>>((value) => tableOfId(value) === table, {
      error: (issue) => describeWrongId(table, issue.input),
    })
    .meta({ convoyRef: table });
}

/**
 * The table a field schema references, when it was made by {@link defineRef}.
 * @internal
 */
export function referencedTable(schema: z.ZodType): string | undefined {
  const meta = z.globalRegistry.get(schema) as { convoyRef?: unknown } | undefined;
  return typeof meta?.convoyRef === "string" ? meta.convoyRef : undefined;
}
