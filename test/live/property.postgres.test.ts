import { postgresFactory } from "../support/testDatabases.js";
import { describeLivePropertySuite } from "./propertySuite.js";

describeLivePropertySuite(postgresFactory, { killConnections: true });
