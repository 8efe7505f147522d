// Every mutation goes to one server and the client's stream to the other, on one
// Postgres database: a load balancer's worst case, every time.
import { describeReadYourWritesSuite, servedBy } from "./readYourWritesSuite.js";
import { twoServersOnPostgres } from "./serverSetups.js";

describeReadYourWritesSuite(servedBy(twoServersOnPostgres()));
