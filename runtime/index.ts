export { ConvoyError, isConvoyError, type ConvoyErrorCode, type ConvoyErrorOptions } from "./errors.js";
export { defineSchema, type SchemaDefinition, type TableDefinitions } from "./schema/defineSchema.js";
export {
  defineTable,
  TableDefinition,
  type FieldShape,
  type IndexDefinition,
  type LayoutKind,
} from "./schema/defineTable.js";
export { defineRef, type RefValidator } from "./schema/defineRef.js";
export { isIdOf, type Id } from "./schema/ids.js";
export type {
  DataModelFromSchema,
  Doc,
  DocumentOf,
  GenericDataModel,
  GenericTableInfo,
  Register,
  RegisteredDataModel,
  SystemFields,
  TableNamesOf,
} from "./schema/dataModel.js";
export type { FieldPath, FieldValue } from "./schema/fieldPaths.js";
export type { DatabaseReader, DatabaseWriter, PatchValue } from "./store/database.js";
export type {
  ScheduledFunctionDoc,
  ScheduledFunctionState,
  SystemReader,
  SystemTableInfo,
  SystemTables,
} from "./store/systemTables.js";
export type { Scheduler, SchedulableReference, ScheduledFunctionId } from "./scheduler/scheduler.js";
export type { OrderedQuery, PaginationOptions, PaginationResult, Query, QueryInitializer } from "./store/query.js";
export type {
  IndexRange,
  IndexRangeBuilder,
  LowerBoundIndexRangeBuilder,
  UpperBoundIndexRangeBuilder,
} from "./store/indexRange.js";
export type { Expression, ExpressionOrValue, FilterBuilder } from "./store/filter.js";
export type { ValidationIssue } from "./store/validateDocument.js";
export {
  functionBuilders,
  isConvoyFunction,
  type AnyConvoyFunction,
  type ArgsShape,
  type ConvoyFunction,
  type FunctionBuilders,
  type FunctionDefinition,
  type FunctionKind,
  type FunctionVisibility,
  type ActionCtx,
  type MutationCtx,
  type QueryCtx,
} from "./functions/defineFunction.js";
export {
  functionReferences,
  type AnyFunctionReference,
  type ApiFromFunctions,
  type FunctionArgs,
  type FunctionReference,
  type FunctionReturnType,
  type FunctionTree,
  type ReferenceOf,
  type ReferenceTree,
} from "./functions/functionReference.js";
export type { RegisteredIdentity, UserIdentity } from "./functions/auth.js";
export { paginationOptsValidator } from "./functions/paginationOptsValidator.js";
export { httpAction, type HttpAction, type HttpActionCtx, type HttpActionHandler } from "./http/httpAction.js";
export { httpRouter, HttpRouter, HTTP_METHODS, type HttpMethod, type RouteSpec } from "./http/httpRouter.js";
