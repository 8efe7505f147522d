import { postgresFactory } from "../support/testDatabases.js";
import { describeHostileInputSuite } from "./hostileInputSuite.js";
import { describeIsolationSuite } from "./isolationSuite.js";
import { describeLimitsSuite } from "./limitsSuite.js";
import { describeRegressionSuite } from "./regressionSuite.js";
import { describeRollbackSuite } from "./rollbackSuite.js";

describeHostileInputSuite(postgresFactory);
describeRegressionSuite(postgresFactory);
describeRollbackSuite(postgresFactory);
describeIsolationSuite(postgresFactory);
describeLimitsSuite(postgresFactory);
