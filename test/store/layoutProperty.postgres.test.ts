import { postgresFactory } from "../support/testDatabases.js";
import { describeLayoutPropertySuite } from "./layoutPropertySuite.js";

describeLayoutPropertySuite(postgresFactory, Number(process.env.LAYOUT_PROPERTY_RUNS ?? 30));
