import { pgliteFactory } from "../support/testDatabases.js";
import { describeServerSuite } from "./serverSuite.js";

describeServerSuite(pgliteFactory);
