import { ConvoyError } from "../errors.js";
import type { FieldValue } from "../schema/fieldPaths.js";

declare const indexRangeBrand: unique symbol;

/** What a `withIndex` range callback returns. */
export interface IndexRange {
  readonly [indexRangeBrand]?: true;
}

/** Lower then upper bound on one field, after equalities on the fields before it. */
export interface UpperBoundIndexRangeBuilder<TDocument, TField extends string> extends IndexRange {
  lt(field: TField, value: FieldValue<TDocument, TField>): IndexRange;
  lte(field: TField, value: FieldValue<TDocument, TField>): IndexRange;
}

/** Bounds on the next field, after equalities on the fields before it. */
export interface LowerBoundIndexRangeBuilder<TDocument, TField extends string> extends UpperBoundIndexRangeBuilder<
  TDocument,
  TField
> {
  gt(field: TField, value: FieldValue<TDocument, TField>): UpperBoundIndexRangeBuilder<TDocument, TField>;
  gte(field: TField, value: FieldValue<TDocument, TField>): UpperBoundIndexRangeBuilder<TDocument, TField>;
}

/**
 * Builds an index range as Convex does: `eq` on a prefix of the index fields, in
 * order, then optional bounds on the next field.
 *
 * @example
 * ```ts
 * q.eq("userId", userId).gte("createdAt", since).lt("createdAt", until)
 * ```
 */
export type IndexRangeBuilder<TDocument, TFields extends readonly string[]> = TFields extends readonly [
  infer THead extends string,
  ...infer TRest extends string[],
]
  ? LowerBoundIndexRangeBuilder<TDocument, THead> & {
      eq(field: THead, value: FieldValue<TDocument, THead>): IndexRangeBuilder<TDocument, TRest>;
    }
  : IndexRange;

/** A bound of a range: the field's value and whether it is included. */
export interface RangeBound {
  value: unknown;
  inclusive: boolean;
}

/** An index range as recorded at run time. @internal */
export interface RecordedIndexRange {
  /** Values for the first `eq.length` index fields. */
  eq: unknown[];
  lower?: RangeBound;
  upper?: RangeBound;
}

type Step = "eq" | "lower" | "upper";

/**
 * The run-time side of {@link IndexRangeBuilder}: records the calls and rejects any
 * that break the eq-prefix-then-bounds rule with an error that says which rule.
 * @internal
 */
export class IndexRangeRecorder {
  readonly range: RecordedIndexRange = { eq: [] };
  private last: Step = "eq";

  constructor(
    private readonly indexName: string,
    private readonly fields: readonly string[],
  ) {}

  private fail(message: string): never {
    throw new ConvoyError({ code: "BAD_REQUEST", message: `withIndex("${this.indexName}"): ${message}` });
  }

  private expectField(field: unknown, method: string): void {
    const position = this.range.eq.length;
    const expected = this.fields[position];
    if (expected === undefined) {
      this.fail(`${method}(${JSON.stringify(field)}) comes after every field of the index (${this.fields.join(", ")})`);
    }
    if (field !== expected) {
      this.fail(
        `${method}(${JSON.stringify(field)}) must name "${expected}": ranges go through the index fields in order (${this.fields.join(", ")})`,
      );
    }
  }

  eq(field: string, value: unknown): this {
    if (this.last !== "eq") this.fail(`eq("${field}") cannot follow a gt/gte/lt/lte bound`);
    this.expectField(field, "eq");
    this.range.eq.push(value);
    return this;
  }

  private lowerBound(field: string, value: unknown, inclusive: boolean): this {
    if (this.last !== "eq") this.fail(`${inclusive ? "gte" : "gt"}("${field}") must come before lt/lte and only once`);
    this.expectField(field, inclusive ? "gte" : "gt");
    this.range.lower = { value, inclusive };
    this.last = "lower";
    return this;
  }

  private upperBound(field: string, value: unknown, inclusive: boolean): this {
    if (this.last === "upper") this.fail(`${inclusive ? "lte" : "lt"}("${field}") given twice`);
    this.expectField(field, inclusive ? "lte" : "lt");
    this.range.upper = { value, inclusive };
    this.last = "upper";
    return this;
  }

  gt(field: string, value: unknown): this {
    return this.lowerBound(field, value, false);
  }
  gte(field: string, value: unknown): this {
    return this.lowerBound(field, value, true);
  }
  lt(field: string, value: unknown): this {
    return this.upperBound(field, value, false);
  }
  lte(field: string, value: unknown): this {
    return this.upperBound(field, value, true);
  }
}
