import { pgliteFactory } from "../support/testDatabases.js";
import { describeRelationalSuite } from "./relationalSuite.js";

describeRelationalSuite(pgliteFactory);
