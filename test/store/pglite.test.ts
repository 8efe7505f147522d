import { pgliteFactory } from "../support/testDatabases.js";
import { describeStoreSuite } from "./storeSuite.js";

describeStoreSuite(pgliteFactory, "jsonb");
describeStoreSuite(pgliteFactory, "relational");
