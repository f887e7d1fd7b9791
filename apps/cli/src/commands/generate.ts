// `neural generate <name> ...`: the dataset generators, each also published as its own package with its own bin.
// A generator's package is imported only when it runs (the Cypher one carries Neo4j's parser).
import { Writable } from "node:stream";
import type { GeneratorDefinition } from "@neural/generators";
import { closest } from "../args.js";
import { EXIT, type Command, type Io } from "../command.js";

const GENERATORS: Record<string, () => Promise<GeneratorDefinition>> = {
  cypher: async () => (await import("@neural/generator-cypher")).cypherGenerator,
  "repo-patterns": async () => (await import("@neural/generator-repo-patterns")).repoPatternsGenerator,
  mtg: async () => (await import("@neural/generator-mtg")).mtgGenerator,
  coding: async () => (await import("@neural/generator-coding")).codingGenerator,
  tlp: async () => (await import("@neural/generator-tlp")).tlpGenerator,
  heimdall: async () => (await import("@neural/generator-heimdall")).heimdallGenerator,
};

export const generatorNames = Object.keys(GENERATORS);

/** Rows written with `--output -` go through the CLI's stdout. */
function stdoutOf(io: Io): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      io.out(chunk.toString());
      callback();
    },
  });
}

async function generatorCommand(definition: GeneratorDefinition): Promise<Command> {
  const { commonOptions, executeGenerator } = await import("@neural/generators");
  return {
    name: `generate ${definition.name}`,
    summary: definition.summary.split(/(?<=\.)\s/)[0]!,
    options: [...commonOptions(definition), ...definition.options],
    run: (args, io) => executeGenerator(definition, args.options, { out: io.out, err: io.err, stdout: stdoutOf(io) }),
  };
}

function list(generators: readonly GeneratorDefinition[]): Command {
  return {
    name: "generate",
    positionals: [{ name: "generator", description: `one of ${generatorNames.join(", ")}` }],
    options: [],
    async run(args, io) {
      const name = args.positionals[0];
      const lines = generators.map((g) => `  ${g.name.padEnd(14)} ${g.summary.split(/(?<=\.)\s/)[0]}`);
      if (name) {
        io.err(`neural generate: unknown generator "${name}"${nearestName(name)}; available:\n${lines.join("\n")}`);
        return EXIT.usage;
      }
      io.out(["usage: neural generate <generator> [options]   (neural generate <generator> --help)", "", ...lines].join("\n"));
      return EXIT.ok;
    },
  };
}

function nearestName(name: string): string {
  const near = closest(name, generatorNames);
  return near ? ` (did you mean ${near}?)` : "";
}

/** `neural generate NAME ...` loads only NAME's package; the listing (no name, or an unknown one) loads them all. */
export async function generateCommands(args: readonly string[]): Promise<Command[]> {
  const named = args[0] !== undefined && Object.hasOwn(GENERATORS, args[0]) ? [args[0]] : generatorNames;
  const definitions = await Promise.all(named.map((name) => GENERATORS[name]!()));
  return [list(definitions), ...(await Promise.all(definitions.map(generatorCommand)))];
}
