import { pgliteFactory } from "../support/testDatabases.js";
import { describeReadYourWritesSuite, servedBy } from "./readYourWritesSuite.js";
import { oneServer } from "./serverSetups.js";

describeReadYourWritesSuite(servedBy(oneServer(pgliteFactory)));
