// `neural generate <name> ...`: the dataset generators, each also published as its own package with its own bin.
import { Writable } from "node:stream";
import { codingGenerator } from "@neural/generator-coding";
import { cypherGenerator } from "@neural/generator-cypher";
import { mtgGenerator } from "@neural/generator-mtg";
import { repoPatternsGenerator } from "@neural/generator-repo-patterns";
import { tlpGenerator } from "@neural/generator-tlp";
import { commonOptions, executeGenerator, type GeneratorDefinition } from "@neural/generators";
import { EXIT, type Command, type Io } from "../command.js";

export const generators: readonly GeneratorDefinition[] = [cypherGenerator, repoPatternsGenerator, mtgGenerator, codingGenerator, tlpGenerator];

/** Rows written with `--output -` go through the CLI's stdout. */
function stdoutOf(io: Io): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      io.out(chunk.toString());
      callback();
    },
  });
}

function generatorCommand(definition: GeneratorDefinition): Command {
  return {
    name: `generate ${definition.name}`,
    summary: definition.summary.split(/(?<=\.)\s/)[0]!,
    options: [...commonOptions(definition), ...definition.options],
    run: (args, io) => executeGenerator(definition, args.options, { out: io.out, err: io.err, stdout: stdoutOf(io) }),
  };
}

const list: Command = {
  name: "generate",
  summary: `Generate a synthetic dataset: ${generators.map((g) => g.name).join(", ")} (neural generate <name> --help)`,
  positionals: [{ name: "generator", description: `one of ${generators.map((g) => g.name).join(", ")}` }],
  options: [],
  async run(args, io) {
    const name = args.positionals[0];
    const lines = generators.map((g) => `  ${g.name.padEnd(14)} ${g.summary.split(/(?<=\.)\s/)[0]}`);
    if (name) {
      io.err(`neural generate: unknown generator "${name}"; available:\n${lines.join("\n")}`);
      return EXIT.usage;
    }
    io.out(["usage: neural generate <generator> [options]   (neural generate <generator> --help)", "", ...lines].join("\n"));
    return EXIT.ok;
  },
};

export const generateCommands: Command[] = [list, ...generators.map(generatorCommand)];
