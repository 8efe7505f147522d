export { convoyTest, type ConvoyTest, type ConvoyTestOptions } from "./testing/convoyTest.js";
