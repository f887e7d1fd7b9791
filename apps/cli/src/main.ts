import { commands } from "./commands/index.js";
import { processIo, runCli } from "./run.js";

const io = processIo();
runCli(process.argv.slice(2), commands, io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.err(`neural: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
