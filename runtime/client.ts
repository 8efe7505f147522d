export {
  createConvoyClient,
  DEFAULT_PORT,
  type ConvoyClient,
  type ConvoyClientOptions,
  type MutationCallOptions,
  type ResumedMutation,
} from "./client/convoyClient.js";
export {
  localStorageOutbox,
  type MutationOutbox,
  type OutboxEntry,
  type StringStorage,
} from "./client/mutationOutbox.js";
export type { EventSourceConstructor, EventSourceLike, StreamEvent } from "./client/watchStream.js";
export { ConvoyError, isConvoyError, type ConvoyErrorCode } from "./errors.js";
export type {
  AnyFunctionReference,
  FunctionArgs,
  FunctionReference,
  FunctionReturnType,
} from "./functions/functionReference.js";
