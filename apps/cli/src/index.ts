// The CLI as a library: run a `neural` command line in-process with your own output (see testing.ts for an example).
export { runCli, processIo, version, topLevelHelp } from "./run.js";
export { commands } from "./commands/index.js";
export { EXIT, type Command, type CommandEntry, type Io } from "./command.js";
export type { OptionSpec, ParsedArgs, PositionalSpec } from "./args.js";
