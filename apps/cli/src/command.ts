import type { OptionSpec, ParsedArgs, PositionalSpec } from "./args.js";

/** Where a command writes. Tests capture these; the real CLI writes to stdout/stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** A transient status line (progress bars); a no-op when stderr is not a TTY. */
  status(text: string): void;
  isTTY: boolean;
}

export interface Command {
  name: string;
  summary: string;
  options: readonly OptionSpec[];
  positionals?: readonly PositionalSpec[];
  /** Returns the exit code: 0 success, 1 the input has problems, 2 usage error. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** Exit codes shared by all commands. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;
