#!/usr/bin/env node
import { runGeneratorCli } from "@neural/generators";
import { heimdallGenerator } from "./index.js";

process.exitCode = await runGeneratorCli(heimdallGenerator, process.argv.slice(2), {
  out: (text) => process.stdout.write(text + "\n"),
  err: (text) => process.stderr.write(text + "\n"),
  stdout: process.stdout,
});
