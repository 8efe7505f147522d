import { postgresFactory } from "../support/testDatabases.js";
import { describeStoreSuite } from "./storeSuite.js";

describeStoreSuite(postgresFactory, "jsonb");
describeStoreSuite(postgresFactory, "relational");
