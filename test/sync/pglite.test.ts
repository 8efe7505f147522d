import { pgliteFactory } from "../support/testDatabases.js";
import { describeSqlWritersSuite } from "./sqlWritersSuite.js";
import { describeSyncSuite } from "./syncSuite.js";

describeSyncSuite(pgliteFactory);
describeSqlWritersSuite(pgliteFactory);
