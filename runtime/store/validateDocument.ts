import type { z } from "zod";
import { ConvoyError } from "../errors.js";
import type { TableDefinition } from "../schema/defineTable.js";

/** One problem with a value, as clients receive it. */
export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}

/** Turns zod issues into Convoy's plain `{ path, message }` list. @internal */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((segment) => (typeof segment === "symbol" ? String(segment) : segment)),
    message: issue.message,
  }));
}

/** `a.b[0]: message; ...` for error messages. @internal */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) => {
      const path = issue.path.reduce<string>(
        (text, segment) =>
          typeof segment === "number" ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment,
        "",
      );
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join("; ");
}

function jsonProblem(value: unknown, path: string): string | null {
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number")
    return Number.isFinite(value) ? null : `${path || "value"} is ${value}, which JSON cannot hold`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) return `${path}[${i}] is undefined; arrays cannot hold undefined`;
      const problem = jsonProblem(item, `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (
    typeof value === "object" &&
    (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)
  ) {
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      const problem = jsonProblem(item, path ? `${path}.${key}` : key);
      if (problem) return problem;
    }
    return null;
  }
  const kind = value instanceof Date ? "a Date (store a number of ms instead)" : `a ${typeof value}`;
  return `${path || "value"} is ${kind}; documents hold JSON values only`;
}

/**
 * Validates user fields against the table's zod schema and returns what to store
 * (zod's output, so defaults apply). Throws a BAD_REQUEST `ConvoyError` listing every
 * field problem otherwise.
 * @internal
 */
export function validateDocument(tableName: string, table: TableDefinition, value: unknown): Record<string, unknown> {
  const result = table.validator.safeParse(value);
  if (!result.success) {
    const issues = toValidationIssues(result.error);
    throw new ConvoyError({
      code: "BAD_REQUEST",
      message: `Invalid document for table "${tableName}": ${describeIssues(issues)}`,
      data: { issues },
      cause: result.error,
    });
  }
  const problem = jsonProblem(result.data, "");
  if (problem !== null) {
    throw new ConvoyError({ code: "BAD_REQUEST", message: `Invalid document for table "${tableName}": ${problem}` });
  }
  return result.data;
}
