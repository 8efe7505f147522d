import type { z } from "zod";
import { ConvoyError } from "../errors.js";
import type { TableDefinition } from "../schema/defineTable.js";
import { storableValueProblem } from "./storableValue.js";

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
  const problem = storableValueProblem(result.data);
  if (problem !== null) {
    throw new ConvoyError({ code: "BAD_REQUEST", message: `Invalid document for table "${tableName}": ${problem}` });
  }
  return result.data;
}
