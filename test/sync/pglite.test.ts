import { pgliteFactory } from "../support/testDatabases.js";
import { describeSyncSuite } from "./syncSuite.js";

describeSyncSuite(pgliteFactory);
