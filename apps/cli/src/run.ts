import { formatHelp, parseArgs, UsageError } from "./args.js";
import { EXIT, type Command, type Io } from "./command.js";

const BUILTIN_ERRORS = new Set(["Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError", "EvalError", "URIError"]);

export function processIo(): Io {
  const isTTY = Boolean(process.stderr.isTTY);
  return {
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : text + "\n"),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : text + "\n"),
    status: (text) => {
      if (isTTY) process.stderr.write(`\r\x1b[2K${text}`);
    },
    isTTY,
  };
}

export function topLevelHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  return [
    "neural: fine-tune LLMs on JSONL datasets and export GGUF for llama.cpp",
    "",
    "usage: neural <command> [options]     (neural <command> --help for its options)",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

/** Runs one CLI invocation and returns its exit code. */
export async function runCli(argv: readonly string[], commands: readonly Command[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.out(topLevelHelp(commands));
    return name ? EXIT.ok : EXIT.usage;
  }
  // Commands may have sub-commands written as "tokenizer train": match the longest name.
  const candidates = commands
    .filter((c) => {
      const words = c.name.split(" ");
      return words.every((w, i) => argv[i] === w);
    })
    .sort((a, b) => b.name.length - a.name.length);
  const command = candidates[0];
  if (!command) {
    io.err(`neural: unknown command "${name}"\n\n${topLevelHelp(commands)}`);
    return EXIT.usage;
  }
  const args = argv.slice(command.name.split(" ").length);
  if (args.includes("--help") || args.includes("-h")) {
    io.out(formatHelp(command));
    return EXIT.ok;
  }
  try {
    const parsed = parseArgs(args, command.options, command.positionals);
    return await command.run(parsed, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`neural ${command.name}: ${error.message}\n(see neural ${command.name} --help)`);
      return EXIT.usage;
    }
    // Typed errors from our libraries describe bad input: print the message, not a stack.
    if (error instanceof Error && !BUILTIN_ERRORS.has(error.name)) {
      io.err(`neural ${command.name}: ${error.message}`);
      return EXIT.problems;
    }
    throw error;
  }
}
