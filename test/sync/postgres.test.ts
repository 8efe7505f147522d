import { postgresFactory } from "../support/testDatabases.js";
import { describeSyncSuite } from "./syncSuite.js";

describeSyncSuite(postgresFactory);
