import { pgliteFactory } from "../support/testDatabases.js";
import { describeHostileInputSuite } from "./hostileInputSuite.js";
import { describeIsolationSuite } from "./isolationSuite.js";
import { describeLimitsSuite } from "./limitsSuite.js";
import { describeRegressionSuite } from "./regressionSuite.js";
import { describeRollbackSuite } from "./rollbackSuite.js";

describeHostileInputSuite(pgliteFactory);
describeRegressionSuite(pgliteFactory);
describeRollbackSuite(pgliteFactory);
describeIsolationSuite(pgliteFactory);
describeLimitsSuite(pgliteFactory);
