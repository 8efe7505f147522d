import { postgresFactory } from "../support/testDatabases.js";
import { describeMigrateSuite } from "./migrateSuite.js";

describeMigrateSuite(postgresFactory);
