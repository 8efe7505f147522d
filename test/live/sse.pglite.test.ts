import { pgliteFactory } from "../support/testDatabases.js";
import { describeSseSuite } from "./sseSuite.js";

describeSseSuite(pgliteFactory);
