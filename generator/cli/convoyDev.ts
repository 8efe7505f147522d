#!/usr/bin/env node
// `convoy-dev` is `convoy dev`, as the spec's `npx convoy-dev` runs it.
import { main } from "./main.js";

main(["dev", ...process.argv.slice(2)]).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
