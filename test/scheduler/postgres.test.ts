import { postgresFactory } from "../support/testDatabases.js";
import { describeSchedulerSuite } from "./schedulerSuite.js";

describeSchedulerSuite(postgresFactory);
