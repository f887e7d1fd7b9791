import type { OptionSpec, ParsedArgs, PositionalSpec } from "./args.js";

/** Where a command writes. Tests capture these; the real CLI writes to stdout/stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** A transient status line (progress bars); a no-op when stderr is not a TTY. */
  status(text: string): void;
  isTTY: boolean;
  /** Standard input, for commands that read what is piped to them (default: process.stdin). */
  stdin?: AsyncIterable<string | Buffer> & { isTTY?: boolean };
}

export interface Command {
  name: string;
  /** The help's summary; commands listed in commands/index.ts take theirs from there. */
  summary?: string;
  options: readonly OptionSpec[];
  positionals?: readonly PositionalSpec[];
  /** Returns the exit code: 0 success, 1 the input has problems, 2 usage error. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/**
 * A command as `neural --help` lists it: its name and summary, and the module that implements it, imported only when
 * the command runs (so `neural --help` and `neural --version` load none of the libraries). A module may implement
 * sub-commands ("generate tlp"): `load` then gives them all.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  /** `args`: the command line after the name, so that a module of sub-commands can load only the one named. */
  load(args: readonly string[]): Promise<Command | readonly Command[]>;
}

/** Exit codes shared by all commands. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;
