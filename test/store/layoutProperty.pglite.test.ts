import { pgliteFactory } from "../support/testDatabases.js";
import { describeLayoutPropertySuite } from "./layoutPropertySuite.js";

describeLayoutPropertySuite(pgliteFactory, Number(process.env.LAYOUT_PROPERTY_RUNS ?? 30));
