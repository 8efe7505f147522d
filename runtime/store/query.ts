import { ConvoyError } from "../errors.js";
import type { GenericTableInfo } from "../schema/dataModel.js";
import type { TableDefinition } from "../schema/defineTable.js";
import type { FieldPath } from "../schema/fieldPaths.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  booleanSql,
  filterBuilder,
  predicateNode,
  type ExpressionNode,
  type FilterBuilder,
  type ExpressionOrValue,
} from "./filter.js";
import { IndexRangeRecorder, type IndexRange, type IndexRangeBuilder, type RecordedIndexRange } from "./indexRange.js";
import type { FieldKey, KeyComparison, StoredDocument, TableLayout } from "./layout/tableLayout.js";
import { sortFieldsOf, sortKeyValues } from "./sortKey.js";
import { SqlParams } from "./sqlText.js";
import { resolveIndex, type ResolvedIndex } from "./tableIndexes.js";
import type { TransactionContext } from "./transactionContext.js";
import { shownValue } from "./shownValue.js";

/** Options of {@link OrderedQuery.paginate}. */
export interface PaginationOptions {
  /** How many documents a page holds at most. */
  numItems: number;
  /** `null` for the first page, then the previous page's `continueCursor`. */
  cursor: string | null;
  /**
   * Ends the page at this cursor (a `continueCursor` this page returned before) instead of
   * after `numItems`: the page keeps the same span as documents come and go, so live
   * pages neither overlap nor leave gaps. `usePaginatedQuery` sets it on loaded pages.
   */
  endCursor?: string | null;
}

/** One page of {@link OrderedQuery.paginate}. */
export interface PaginationResult<TDocument> {
  page: TDocument[];
  /** True when no documents follow this page. */
  isDone: boolean;
  /** Pass as `cursor` to get the next page. */
  continueCursor: string;
}

/** A query whose order is fixed: filter it further and read it. */
export interface OrderedQuery<TInfo extends GenericTableInfo> extends AsyncIterable<TInfo["document"]> {
  /**
   * Keeps the documents the predicate holds for; runs inside Postgres.
   * @example
   * ```ts
   * .filter((q) => q.eq(q.field("done"), false))
   * ```
   */
  filter(predicate: (q: FilterBuilder<TInfo["document"]>) => ExpressionOrValue<boolean>): OrderedQuery<TInfo>;
  /** Every matching document. */
  collect(): Promise<TInfo["document"][]>;
  /** The first `n` matching documents. */
  take(n: number): Promise<TInfo["document"][]>;
  /** The first matching document, or null. */
  first(): Promise<TInfo["document"] | null>;
  /** The only matching document, or null; throws when there is more than one. */
  unique(): Promise<TInfo["document"] | null>;
  /** One page of results and a cursor to the next one. */
  paginate(options: PaginationOptions): Promise<PaginationResult<TInfo["document"]>>;
}

/** A query that can still be ordered. */
export interface Query<TInfo extends GenericTableInfo> extends OrderedQuery<TInfo> {
  filter(predicate: (q: FilterBuilder<TInfo["document"]>) => ExpressionOrValue<boolean>): Query<TInfo>;
  /**
   * Orders by the index (default `"asc"`), or by `field` within the index range.
   * Ordering by a field the index does not lead with sorts in Postgres.
   * @example
   * ```ts
   * .order("desc", "createdAt")
   * ```
   */
  order(order: "asc" | "desc", field?: FieldPath<TInfo["document"]>): OrderedQuery<TInfo>;
}

/** `ctx.db.query(table)`: choose an index (or a full scan), then order, filter, read. */
export interface QueryInitializer<TInfo extends GenericTableInfo> extends Query<TInfo> {
  /**
   * Reads through an index, optionally restricted to a range of it.
   * @example
   * ```ts
   * .withIndex("by_userId", (q) => q.eq("userId", userId))
   * ```
   */
  withIndex<TIndexName extends keyof TInfo["indexes"] & string>(
    indexName: TIndexName,
    range?: (q: IndexRangeBuilder<TInfo["document"], TInfo["indexes"][TIndexName]>) => IndexRange,
  ): Query<TInfo>;
  /** Reads the whole table in creation order; say so explicitly, as Convex asks. */
  fullTableScan(): Query<TInfo>;
}

interface QueryState {
  tableName: string;
  table: TableDefinition;
  layout: TableLayout;
  index: ResolvedIndex;
  range: RecordedIndexRange;
  indexChosen: boolean;
  order: "asc" | "desc" | null;
  orderField: string | null;
  filters: ExpressionNode[];
}

/** Batch size of `for await` over a query. */
const ITERATION_BATCH = 256;

/** The one run-time implementation of the query interfaces above. @internal */
export class QueryImpl {
  constructor(
    private readonly ctx: TransactionContext,
    private readonly state: QueryState,
  ) {}

  static start(ctx: TransactionContext, tableName: string, table: TableDefinition): QueryImpl {
    return new QueryImpl(ctx, {
      tableName,
      table,
      layout: ctx.layouts.of(tableName),
      index: resolveIndex(tableName, table, "by_creation_time"),
      range: { eq: [] },
      indexChosen: false,
      order: null,
      orderField: null,
      filters: [],
    });
  }

  private with(changes: Partial<QueryState>): QueryImpl {
    return new QueryImpl(this.ctx, { ...this.state, ...changes });
  }

  private misuse(message: string): never {
    throw new ConvoyError({ code: "BAD_REQUEST", message: `query("${this.state.tableName}"): ${message}` });
  }

  withIndex(indexName: string, range?: (q: IndexRangeRecorder) => unknown): QueryImpl {
    if (this.state.indexChosen) this.misuse("withIndex/fullTableScan can be called once, before order and filter");
    const index = resolveIndex(this.state.tableName, this.state.table, indexName);
    const recorder = new IndexRangeRecorder(index.name, index.fields);
    if (range !== undefined) range(recorder);
    return this.with({ index, range: recorder.range, indexChosen: true });
  }

  fullTableScan(): QueryImpl {
    if (this.state.indexChosen) this.misuse("withIndex/fullTableScan can be called once, before order and filter");
    return this.with({ indexChosen: true });
  }

  order(order: "asc" | "desc", field?: string): QueryImpl {
    if (this.state.order !== null) this.misuse("order() can be called once");
    if (order !== "asc" && order !== "desc") this.misuse(`order(${JSON.stringify(order)}): use "asc" or "desc"`);
    if (field !== undefined && field !== "_id" && field !== "_creationTime") {
      const fields = Object.keys(this.state.table.validator.shape);
      if (typeof field !== "string" || !fields.includes(field.split(".")[0]!)) {
        this.misuse(
          `order("${order}", ${JSON.stringify(field)}): not a field of this table (fields: ${fields.join(", ")})`,
        );
      }
    }
    return this.with({ indexChosen: true, order, orderField: field ?? null });
  }

  filter(predicate: (q: typeof filterBuilder) => unknown): QueryImpl {
    const node = predicateNode(predicate(filterBuilder));
    return this.with({ indexChosen: true, filters: [...this.state.filters, node] });
  }

  /** The sort key of this query (a total order) and a string naming it, used to check cursors. */
  private sortKey(): { fields: string[]; key: FieldKey[]; identity: string } {
    const { tableName, index, orderField, layout } = this.state;
    const fields = sortFieldsOf(orderField === null ? index.fields : [orderField]);
    const identity = `${tableName}/${index.name}/${this.state.order ?? "asc"}/${orderField ?? ""}`;
    return { fields, key: fields.map((field) => layout.key(field)), identity };
  }

  private rangeConditions(params: SqlParams): string[] {
    const { index, range, layout } = this.state;
    const bound = (position: number, op: KeyComparison, value: unknown): string => {
      const field = index.fields[position]!;
      if (field === "_creationTime" && typeof value !== "number") {
        this.misuse(`withIndex("${index.name}"): _creationTime bounds are numbers (ms)`);
      }
      if (field === "_id" && typeof value !== "string") {
        this.misuse(`withIndex("${index.name}"): _id bounds are id strings`);
      }
      return layout.key(field).compare(op, value, params);
    };
    const conditions = range.eq.map((value, position) => bound(position, "=", value));
    const next = range.eq.length;
    if (range.lower) conditions.push(bound(next, range.lower.inclusive ? ">=" : ">", range.lower.value));
    if (range.upper) conditions.push(bound(next, range.upper.inclusive ? "<=" : "<", range.upper.value));
    return conditions;
  }

  private async run(
    limit: number | null,
    after: unknown[] | null,
    until: unknown[] | null = null,
  ): Promise<StoredDocument[]> {
    const { ctx, state } = this;
    const { layout } = state;
    const params = new SqlParams();
    const { key } = this.sortKey();
    const parts = key.flatMap((field) => field.parts);
    const direction = state.order === "desc" ? "DESC" : "ASC";
    const conditions = [
      ...this.rangeConditions(params),
      ...state.filters.map((node) => booleanSql(node, params, (path) => layout.fieldJson(path))),
    ];
    // Keyset bounds: strictly after `after`, up to and including `until`, in read order.
    const bound = (position: unknown[], ascending: string, descending: string) => {
      const values = key.flatMap((field, i) => field.position(position[i], params));
      conditions.push(
        `(${parts.map((part) => part.sql).join(", ")}) ${direction === "ASC" ? ascending : descending} (${values.join(", ")})`,
      );
    };
    if (after !== null) bound(after, ">", "<");
    if (until !== null) bound(until, "<=", ">=");
    const text =
      `SELECT ${layout.selectList} FROM ${layout.tableSql}` +
      (conditions.length > 0 ? ` WHERE ${conditions.join(" AND ")}` : "") +
      ` ORDER BY ${parts.map((part) => `${part.sql} ${direction}`).join(", ")}` +
      (limit === null ? "" : ` LIMIT ${params.add(limit, "int8")}`);
    ctx.onRead?.({
      kind: "indexRange",
      table: state.tableName,
      index: state.index.name,
      fields: state.index.fields,
      eq: [...state.range.eq],
      ...(state.range.lower ? { lower: state.range.lower } : {}),
      ...(state.range.upper ? { upper: state.range.upper } : {}),
    });
    const rows = await ctx.sql.query<Record<string, unknown>>(text, params.values);
    return rows.map((row) => layout.toDocument(row));
  }

  /** The SQL a read would run, for EXPLAIN in tests. @internal */
  toSql(limit: number | null = null): { text: string; params: unknown[] } {
    let captured: { text: string; params: unknown[] } | undefined;
    const capture = new QueryImpl(
      {
        ...this.ctx,
        onRead: undefined,
        sql: {
          query: async (text, params) => {
            captured = { text, params: [...(params ?? [])] };
            return [];
          },
          queue: () => {},
          queueQuery: async () => [],
        },
      },
      this.state,
    );
    void capture.run(limit, null);
    return captured!;
  }

  async collect(): Promise<Record<string, unknown>[]> {
    return this.run(null, null);
  }

  async take(n: number): Promise<Record<string, unknown>[]> {
    if (!Number.isSafeInteger(n) || n < 0) this.misuse(`take(${shownValue(n)}): pass a whole number >= 0`);
    return this.run(n, null);
  }

  async first(): Promise<Record<string, unknown> | null> {
    const [document] = await this.run(1, null);
    return document ?? null;
  }

  async unique(): Promise<Record<string, unknown> | null> {
    const documents = await this.run(2, null);
    if (documents.length > 1) {
      this.misuse(
        `unique() found more than one document (${documents.map((document) => document._id).join(", ")}, ...); use first() or collect(), or narrow the query`,
      );
    }
    return documents[0] ?? null;
  }

  async paginate(options: PaginationOptions): Promise<PaginationResult<Record<string, unknown>>> {
    const { numItems, cursor } = options ?? ({} as PaginationOptions);
    if (!Number.isSafeInteger(numItems) || numItems < 1) {
      this.misuse(`paginate: numItems must be a whole number >= 1, got ${shownValue(numItems)}`);
    }
    const { fields, key, identity } = this.sortKey();
    const after = cursor === null || cursor === undefined ? null : decodeCursor(cursor, identity, key);
    const endCursor = options.endCursor;
    if (endCursor !== null && endCursor !== undefined) {
      const until = decodeCursor(endCursor, identity, key);
      // A cursor from before any document (an empty first page) ends an empty page.
      const page = until === null ? [] : await this.run(null, after, until);
      const next = await this.run(1, until ?? after);
      return { page, isDone: next.length === 0, continueCursor: endCursor };
    }
    const documents = await this.run(numItems + 1, after);
    const isDone = documents.length <= numItems;
    const page = isDone ? documents : documents.slice(0, numItems);
    const last = page[page.length - 1];
    return {
      page,
      isDone,
      continueCursor: encodeCursor({ query: identity, after: last ? sortKeyValues(last, fields) : after }),
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Record<string, unknown>> {
    const { fields } = this.sortKey();
    let after: unknown[] | null = null;
    for (;;) {
      const documents = await this.run(ITERATION_BATCH, after);
      yield* documents;
      const last = documents[documents.length - 1];
      if (documents.length < ITERATION_BATCH || last === undefined) return;
      after = sortKeyValues(last, fields);
    }
  }
}
