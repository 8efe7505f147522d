import { ConvoyError } from "../errors.js";
import type { FieldPath, FieldValue } from "../schema/fieldPaths.js";
import type { SqlParams } from "./sqlText.js";
import { MAX_VALUE_DEPTH } from "./storableValue.js";

type CompareOp = "eq" | "neq" | "lt" | "lte" | "gt" | "gte";
type ArithmeticOp = "add" | "sub" | "mul" | "div" | "mod";

/** @internal */
export type ExpressionNode =
  | { kind: "field"; path: string }
  | { kind: "literal"; value: unknown }
  | { kind: "compare"; op: CompareOp; left: ExpressionNode; right: ExpressionNode }
  | { kind: "logical"; op: "and" | "or"; args: ExpressionNode[] }
  | { kind: "not"; arg: ExpressionNode }
  | { kind: "arithmetic"; op: ArithmeticOp; left: ExpressionNode; right: ExpressionNode }
  | { kind: "neg"; arg: ExpressionNode };

/** A value computed per document inside `filter`. `T` is its type. */
export class Expression<T> {
  declare readonly _type: T;
  /** @internal */
  constructor(readonly node: ExpressionNode) {}
}

/** An expression or a plain value of the same type. */
export type ExpressionOrValue<T> = Expression<T> | T;

/**
 * The `q` of `filter(q => ...)`: builds a predicate that runs inside Postgres.
 * A missing field is `undefined`, equal only to `undefined` and less than any value.
 *
 * @example
 * ```ts
 * ctx.db.query("projects").filter((q) => q.and(q.eq(q.field("userId"), userId), q.gt(q.field("createdAt"), since)))
 * ```
 */
export interface FilterBuilder<TDocument> {
  field<TPath extends FieldPath<TDocument>>(path: TPath): Expression<FieldValue<TDocument, TPath>>;
  eq<T>(left: ExpressionOrValue<T>, right: ExpressionOrValue<T>): Expression<boolean>;
  neq<T>(left: ExpressionOrValue<T>, right: ExpressionOrValue<T>): Expression<boolean>;
  lt<T>(left: ExpressionOrValue<T>, right: ExpressionOrValue<T>): Expression<boolean>;
  lte<T>(left: ExpressionOrValue<T>, right: ExpressionOrValue<T>): Expression<boolean>;
  gt<T>(left: ExpressionOrValue<T>, right: ExpressionOrValue<T>): Expression<boolean>;
  gte<T>(left: ExpressionOrValue<T>, right: ExpressionOrValue<T>): Expression<boolean>;
  and(...conditions: ExpressionOrValue<boolean>[]): Expression<boolean>;
  or(...conditions: ExpressionOrValue<boolean>[]): Expression<boolean>;
  not(condition: ExpressionOrValue<boolean>): Expression<boolean>;
  add(left: ExpressionOrValue<number>, right: ExpressionOrValue<number>): Expression<number>;
  sub(left: ExpressionOrValue<number>, right: ExpressionOrValue<number>): Expression<number>;
  mul(left: ExpressionOrValue<number>, right: ExpressionOrValue<number>): Expression<number>;
  div(left: ExpressionOrValue<number>, right: ExpressionOrValue<number>): Expression<number>;
  mod(left: ExpressionOrValue<number>, right: ExpressionOrValue<number>): Expression<number>;
  neg(value: ExpressionOrValue<number>): Expression<number>;
}

function toNode(value: unknown): ExpressionNode {
  return value instanceof Expression ? value.node : { kind: "literal", value };
}

/** The run-time filter builder. @internal */
export const filterBuilder: FilterBuilder<Record<string, unknown>> = {
  field: (path) => new Expression({ kind: "field", path }),
  eq: (l, r) => new Expression({ kind: "compare", op: "eq", left: toNode(l), right: toNode(r) }),
  neq: (l, r) => new Expression({ kind: "compare", op: "neq", left: toNode(l), right: toNode(r) }),
  lt: (l, r) => new Expression({ kind: "compare", op: "lt", left: toNode(l), right: toNode(r) }),
  lte: (l, r) => new Expression({ kind: "compare", op: "lte", left: toNode(l), right: toNode(r) }),
  gt: (l, r) => new Expression({ kind: "compare", op: "gt", left: toNode(l), right: toNode(r) }),
  gte: (l, r) => new Expression({ kind: "compare", op: "gte", left: toNode(l), right: toNode(r) }),
  and: (...args) => new Expression({ kind: "logical", op: "and", args: args.map(toNode) }),
  or: (...args) => new Expression({ kind: "logical", op: "or", args: args.map(toNode) }),
  not: (arg) => new Expression({ kind: "not", arg: toNode(arg) }),
  add: (l, r) => new Expression({ kind: "arithmetic", op: "add", left: toNode(l), right: toNode(r) }),
  sub: (l, r) => new Expression({ kind: "arithmetic", op: "sub", left: toNode(l), right: toNode(r) }),
  mul: (l, r) => new Expression({ kind: "arithmetic", op: "mul", left: toNode(l), right: toNode(r) }),
  div: (l, r) => new Expression({ kind: "arithmetic", op: "div", left: toNode(l), right: toNode(r) }),
  mod: (l, r) => new Expression({ kind: "arithmetic", op: "mod", left: toNode(l), right: toNode(r) }),
  neg: (arg) => new Expression({ kind: "neg", arg: toNode(arg) }),
};

/** Turns whatever a filter callback returned into a node, rejecting non-expressions. @internal */
export function predicateNode(result: unknown): ExpressionNode {
  if (result instanceof Expression) return result.node;
  if (typeof result === "boolean") return { kind: "literal", value: result };
  throw new ConvoyError({
    code: "BAD_REQUEST",
    message:
      'filter(q => ...) must return an expression built with q (for example q.eq(q.field("name"), value)), not a JavaScript value; plain JS conditions belong after collect()',
  });
}

function checkJsonLiteral(value: unknown, depth = 0): void {
  if (value === undefined || value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number" && Number.isFinite(value)) return;
  // Deeper values are refused, with their own message, when they become parameters.
  if (depth > MAX_VALUE_DEPTH) return;
  if (Array.isArray(value)) return value.forEach((item) => checkJsonLiteral(item, depth + 1));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).forEach((item) => checkJsonLiteral(item, depth + 1));
  }
  throw new ConvoyError({
    code: "BAD_REQUEST",
    message: `filter: ${value instanceof Date ? "a Date" : `a value of type ${typeof value}`} cannot be compared in a query; use JSON values (strings, finite numbers, booleans, null, arrays, plain objects)`,
  });
}

const ARITHMETIC_SQL: Record<ArithmeticOp, string> = { add: "+", sub: "-", mul: "*", div: "/", mod: "%" };

/** The jsonb SQL of a field path in the table filtered (its layout's `fieldJson`). @internal */
export type FieldJson = (path: string) => string;

/** Compiles a node to a SQL expression of type jsonb (NULL for undefined). @internal */
export function jsonbSql(node: ExpressionNode, params: SqlParams, fieldJson: FieldJson): string {
  switch (node.kind) {
    case "field":
      return fieldJson(node.path);
    case "literal":
      checkJsonLiteral(node.value);
      return params.json(node.value);
    case "arithmetic":
      return `to_jsonb((${jsonbSql(node.left, params, fieldJson)})::numeric ${ARITHMETIC_SQL[node.op]} (${jsonbSql(node.right, params, fieldJson)})::numeric)`;
    case "neg":
      return `to_jsonb(-((${jsonbSql(node.arg, params, fieldJson)})::numeric))`;
    default:
      return `to_jsonb(${booleanSql(node, params, fieldJson)})`;
  }
}

/** `left < right` (or `<=`) where undefined (SQL NULL) sorts before every value. */
function lessThanSql(left: string, right: string, inclusive: boolean): string {
  const whenLeftMissing = inclusive ? "true" : `${right} IS NOT NULL`;
  return `(CASE WHEN ${left} IS NULL THEN ${whenLeftMissing} WHEN ${right} IS NULL THEN false ELSE ${left} ${inclusive ? "<=" : "<"} ${right} END)`;
}

/** Compiles a node to a SQL boolean expression (never NULL). @internal */
export function booleanSql(node: ExpressionNode, params: SqlParams, fieldJson: FieldJson): string {
  switch (node.kind) {
    case "compare": {
      const left = jsonbSql(node.left, params, fieldJson);
      const right = jsonbSql(node.right, params, fieldJson);
      switch (node.op) {
        case "eq":
          return `(${left} IS NOT DISTINCT FROM ${right})`;
        case "neq":
          return `(${left} IS DISTINCT FROM ${right})`;
        case "lt":
          return lessThanSql(left, right, false);
        case "lte":
          return lessThanSql(left, right, true);
        case "gt":
          return lessThanSql(right, left, false);
        case "gte":
          return lessThanSql(right, left, true);
      }
      break;
    }
    case "logical": {
      if (node.args.length === 0) return node.op === "and" ? "true" : "false";
      return `(${node.args.map((arg) => booleanSql(arg, params, fieldJson)).join(node.op === "and" ? " AND " : " OR ")})`;
    }
    case "not":
      return `(NOT ${booleanSql(node.arg, params, fieldJson)})`;
    case "literal":
      if (typeof node.value === "boolean") return node.value ? "true" : "false";
      break;
  }
  return `(${jsonbSql(node, params, fieldJson)} IS NOT DISTINCT FROM 'true'::jsonb)`;
}
