import { readFileSync } from "node:fs";
import { closest, formatHelp, parseArgs, UsageError } from "./args.js";
import { EXIT, type Command, type CommandEntry, type Io } from "./command.js";
import { fileSystemMessage } from "./fs-errors.js";

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

/** The version in this package's package.json (one folder above both src/ and dist/). */
export function version(): string {
  return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

export function topLevelHelp(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  return [
    "neural: fine-tune LLMs on JSONL datasets and export GGUF for llama.cpp",
    "",
    "usage: neural <command> [options]     (neural <command> --help for its options; neural --version)",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join("\n");
}

/** The entry or loaded command whose (possibly several-word) name starts `argv`, the longest such. */
function matchName<T extends { name: string }>(items: readonly T[], argv: readonly string[]): T | undefined {
  return items.filter((c) => c.name.split(" ").every((w, i) => argv[i] === w)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** Runs one CLI invocation and returns its exit code. */
export async function runCli(argv: readonly string[], commands: readonly CommandEntry[], io: Io): Promise<number> {
  const [name] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.out(topLevelHelp(commands));
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === "--version" || name === "-v" || name === "-V") {
    io.out(version());
    return EXIT.ok;
  }
  const entry = matchName(commands, argv);
  if (!entry) {
    const near = closest(name, [...new Set(commands.map((c) => c.name.split(" ")[0]!))]);
    io.err(`neural: unknown command "${name}"${near ? ` (did you mean ${near}?)` : ""}\n\n${topLevelHelp(commands)}`);
    return EXIT.usage;
  }
  const loaded = await entry.load(argv.slice(entry.name.split(" ").length));
  const found = matchName(Array.isArray(loaded) ? (loaded as readonly Command[]) : [loaded as Command], argv)!;
  const command: Command & { summary: string } = { ...found, summary: found.summary ?? entry.summary };
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
    const fsMessage = fileSystemMessage(error);
    if (fsMessage !== undefined) {
      io.err(`neural ${command.name}: ${fsMessage}`);
      return EXIT.problems;
    }
    // Typed errors from our libraries describe bad input: print the message, not a stack.
    if (error instanceof Error && !BUILTIN_ERRORS.has(error.name)) {
      io.err(`neural ${command.name}: ${error.message}`);
      return EXIT.problems;
    }
    throw error;
  }
}
