export type { Driver, SqlExecutor } from "./drivers/driver.js";
export { openDatabase, type OpenDatabaseOptions } from "./drivers/openDatabase.js";
export { createPostgresDriver, type PostgresDriverOptions } from "./drivers/postgres/postgresDriver.js";
export { createPgliteDriver, type PgliteDriverOptions } from "./drivers/pglite/pgliteDriver.js";
export { createDocumentStore } from "./server/createDocumentStore.js";
export {
  DocumentStore,
  DEFAULT_SCHEMA_NAME,
  type DocumentStoreOptions,
  type TransactionOptions,
} from "./store/documentStore.js";
export type { Read, ReadListener } from "./store/readSet.js";
export {
  ConvoyRuntime,
  createConvoyRuntime,
  type CallOptions,
  type ConvoyRuntimeOptions,
  type CreateConvoyRuntimeOptions,
} from "./server/convoyRuntime.js";
export {
  createConvoyServer,
  type CloseOptions,
  type CloseReport,
  type ConvoyServer,
  type ConvoyServerContext,
  type ConvoyServerFeature,
  type ConvoyServerOptions,
  type ConvoyServerRouterOptions,
} from "./server/convoyServer.js";
export type { LiveQueryEngine, LiveStats, WatchUpdate } from "./live/liveQueryEngine.js";
export {
  createConvoyApp,
  convoyTRPC,
  DEFAULT_MAX_STREAMS_PER_CLIENT,
  type ConvoyApp,
  type ConvoyAppOptions,
} from "./server/expressApp.js";
export type { CorsOrigins } from "./server/cors.js";
export { defineAuth, type AuthHook } from "./functions/auth.js";
export {
  createConvoyRouter,
  type ConvoyContext,
  type ConvoyRouterOptions,
  type ConvoyRouterRecord,
  type TRPCInstance,
} from "./server/trpcRouter.js";
export { cronJobs, Crons, type CronJob, type CronString } from "./scheduler/cronJobs.js";
export type { CronSchedule } from "./scheduler/cronSchedule.js";
export { ManualClock, systemClock, type Clock } from "./scheduler/clock.js";
export {
  ScheduledFunctionRunner,
  type RunReport,
  type ScheduledFunctionRunnerOptions,
} from "./scheduler/scheduledFunctionRunner.js";
export { schedulerFeature, type SchedulerFeature, type SchedulerFeatureOptions } from "./scheduler/schedulerFeature.js";
export { httpRoutes, type HttpRoutesOptions } from "./server/httpRoutes.js";
export { HTTP_ROUTES_PREFIX } from "./http/serveHttpRoute.js";
