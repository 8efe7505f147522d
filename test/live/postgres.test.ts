import { postgresFactory } from "../support/testDatabases.js";
import { describeLiveSuite } from "./liveSuite.js";

describeLiveSuite(postgresFactory);
