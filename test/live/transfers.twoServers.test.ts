import { twoServersOnPostgres } from "./serverSetups.js";
import { describeTransfersSuite } from "./transfersSuite.js";

describeTransfersSuite(twoServersOnPostgres());
