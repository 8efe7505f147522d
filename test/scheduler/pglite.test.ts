import { pgliteFactory } from "../support/testDatabases.js";
import { describeSchedulerSuite } from "./schedulerSuite.js";

describeSchedulerSuite(pgliteFactory);
