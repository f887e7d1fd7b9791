// For the CLI specs: run a command line in-process and capture what it prints.
import { commands } from "./commands/index.js";
import { runCli } from "./run.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function neural(...argv: string[]): Promise<CliResult> {
  return neuralWithInput("", ...argv);
}

/** `neural` with `input` piped to its stdin. */
export async function neuralWithInput(input: string, ...argv: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, commands, {
    out: (t) => (stdout += t.endsWith("\n") ? t : t + "\n"),
    err: (t) => (stderr += t.endsWith("\n") ? t : t + "\n"),
    status: () => {},
    isTTY: false,
    stdin: Object.assign(
      (async function* () {
        if (input) yield input;
      })(),
      { isTTY: false },
    ),
  });
  return { code, stdout, stderr };
}
