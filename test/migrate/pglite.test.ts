import { pgliteFactory } from "../support/testDatabases.js";
import { describeMigrateSuite } from "./migrateSuite.js";

describeMigrateSuite(pgliteFactory);
