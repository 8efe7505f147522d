import { z } from "zod";

/** The most documents one page may ask for through {@link paginationOptsValidator}. */
export const MAX_PAGE_ITEMS = 10_000;

/**
 * The zod validator of `paginationOpts`, the argument a paginated query takes (what
 * `usePaginatedQuery` sends): `{ numItems, cursor, endCursor? }`.
 *
 * @example
 * ```ts
 * export const list = query({
 *   args: { userId: defineRef("users"), paginationOpts: paginationOptsValidator },
 *   handler: (ctx, args) =>
 *     ctx.db.query("projects").withIndex("by_userId", (q) => q.eq("userId", args.userId)).paginate(args.paginationOpts),
 * });
 * ```
 */
export const paginationOptsValidator = z.strictObject({
  numItems: z
    .number()
    .int("numItems must be a whole number")
    .min(1, "numItems must be at least 1")
    .max(MAX_PAGE_ITEMS, `numItems must be at most ${MAX_PAGE_ITEMS}`),
  cursor: z.string().nullable(),
  endCursor: z.string().nullable().optional(),
});
