import { pgliteFactory } from "../support/testDatabases.js";
import { oneServer } from "./serverSetups.js";
import { describeTransfersSuite } from "./transfersSuite.js";

describeTransfersSuite(oneServer(pgliteFactory));
