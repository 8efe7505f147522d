#!/usr/bin/env node
// The `convoy` command.
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
