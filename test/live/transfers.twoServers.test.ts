import { twoServersOnPostgres } from "./transfersSetups.js";
import { describeTransfersSuite } from "./transfersSuite.js";

describeTransfersSuite(twoServersOnPostgres());
