import { pgliteFactory } from "../support/testDatabases.js";
import { describeLiveSuite } from "./liveSuite.js";

describeLiveSuite(pgliteFactory);
