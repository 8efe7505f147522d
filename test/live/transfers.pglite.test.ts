import { pgliteFactory } from "../support/testDatabases.js";
import { oneServer } from "./transfersSetups.js";
import { describeTransfersSuite } from "./transfersSuite.js";

describeTransfersSuite(oneServer(pgliteFactory));
