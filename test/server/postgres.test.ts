import { postgresFactory } from "../support/testDatabases.js";
import { describeServerSuite } from "./serverSuite.js";

describeServerSuite(postgresFactory);
