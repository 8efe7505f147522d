import { postgresFactory } from "../support/testDatabases.js";
import { describeRelationalSuite } from "./relationalSuite.js";

describeRelationalSuite(postgresFactory);
