import { postgresFactory } from "../support/testDatabases.js";
import { describeSseSuite } from "./sseSuite.js";

describeSseSuite(postgresFactory);
