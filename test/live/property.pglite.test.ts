import { pgliteFactory } from "../support/testDatabases.js";
import { describeLivePropertySuite } from "./propertySuite.js";

describeLivePropertySuite(pgliteFactory);
