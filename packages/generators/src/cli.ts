// What a generator's bin (and `neural generate <name>`) does with its flags. No process access here: the caller
// passes argv and an Io, and gets an exit code back (0 done, 1 the request cannot be met, 2 usage error).
import type { Writable } from "node:stream";
import { CapacityError, GeneratorError, GeneratorOptionsError } from "./errors.js";
import { planGeneration } from "./generate.js";
import { parseDistribution } from "./plan.js";
import { ROW_FORMATS, type RowFormat } from "./rows.js";
import {
  formatPlan,
  formatSummary,
  runGenerator,
  type GeneratorDefinition,
  type GeneratorOptionSpec,
  type OptionValue,
  type OptionValues,
} from "./run.js";

export interface GeneratorIo {
  out(text: string): void;
  err(text: string): void;
  /** Where `--output -` writes rows. */
  stdout?: Writable;
}

export class GeneratorUsageError extends GeneratorError {
  override name = "GeneratorUsageError";
}

/** The flags every generator takes, before its own. */
export function commonOptions(definition: Pick<GeneratorDefinition, "defaultCount" | "defaultOutput">): GeneratorOptionSpec[] {
  return [
    {
      name: "count",
      type: "number",
      description: "exactly this many rows (or an error naming the most this generator can give)",
      default: definition.defaultCount,
      aliases: ["num_examples"],
    },
    { name: "seed", type: "string", description: "seed: the same seed gives a byte-identical file", default: "42" },
    {
      name: "output",
      type: "string",
      description: "JSONL file to write (directories are created); - for stdout",
      default: definition.defaultOutput,
    },
    { name: "format", type: "string", description: "row format", default: "instruction", choices: ROW_FORMATS },
    { name: "system", type: "string", description: "system prompt to put on every row", unset: "none" },
    { name: "distribution", type: "string", description: "category weights, e.g. a=40,b=60 (default: the generator's own)" },
    { name: "capacity", type: "boolean", description: "print how many unique rows each category can give with these options, and exit" },
    { name: "json", type: "boolean", description: "print the summary as JSON" },
  ];
}

const KIT_ERRORS = new Set(["GeneratorError", "CapacityError", "CypherCheckerError"]);
/** A bad option value is a usage error (exit 2), as an unknown flag is. */
const USAGE_ERRORS = new Set(["GeneratorUsageError", "GeneratorOptionsError"]);

const canonical = (flag: string) => flag.replace(/-/g, "_");

/** A small flag parser for the bins (the CLI uses its own, with the same specs). */
export function parseGeneratorArgs(
  argv: readonly string[],
  specs: readonly GeneratorOptionSpec[],
): { values: OptionValues; help: boolean } {
  const byName = new Map<string, GeneratorOptionSpec>();
  for (const spec of specs) {
    byName.set(canonical(spec.name), spec);
    for (const alias of spec.aliases ?? []) byName.set(canonical(alias), spec);
  }
  const values: OptionValues = {};
  for (const spec of specs) if (spec.default !== undefined) values[spec.name] = spec.default;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-")) throw new GeneratorUsageError(`unexpected argument "${arg}"`);
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const flag = canonical(eq >= 0 ? body.slice(0, eq) : body);
    let inline: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    let spec = byName.get(flag);
    let negated = false;
    if (!spec && flag.startsWith("no_") && byName.get(flag.slice(3))?.type === "boolean") {
      spec = byName.get(flag.slice(3));
      negated = true;
    }
    if (!spec) throw new GeneratorUsageError(`unknown option ${arg.split("=")[0]}`);
    if (spec.type === "boolean") {
      values[spec.name] = inline === undefined ? !negated : /^(true|1)$/i.test(inline) !== negated;
      continue;
    }
    if (inline === undefined) {
      inline = argv[++i];
      if (inline === undefined) throw new GeneratorUsageError(`--${spec.name} needs a value`);
    }
    values[spec.name] = convertValue(spec, inline, values[spec.name]);
  }
  return { values, help };
}

function convertValue(spec: GeneratorOptionSpec, raw: string, previous: OptionValue): OptionValue {
  if (spec.type === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new GeneratorUsageError(`--${spec.name} needs a number, got "${raw}"`);
    return n;
  }
  if (spec.type === "string[]") {
    const before = Array.isArray(previous) && previous !== spec.default ? previous : [];
    return [...before, ...raw.split(",").filter(Boolean)];
  }
  if (spec.choices && !spec.choices.includes(raw))
    throw new GeneratorUsageError(`--${spec.name} must be one of ${spec.choices.join(", ")}; got "${raw}"`);
  return raw;
}

export function formatGeneratorHelp(definition: GeneratorDefinition, command = `neural-generate-${definition.name}`): string {
  const specs = [...commonOptions(definition), ...definition.options];
  const lines = [`usage: ${command} [options]`, "", definition.summary, "", "options:"];
  for (const o of specs) {
    const flag = `--${o.name.replace(/_/g, "-")}${o.type === "boolean" ? "" : o.type === "number" ? " N" : " VALUE"}`;
    const extra = [
      o.choices ? `one of ${o.choices.join("|")}` : "",
      o.default !== undefined && o.default !== false ? `default ${String(o.default)}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    lines.push(`  ${flag.padEnd(28)} ${o.description}${extra ? ` (${extra})` : ""}`);
  }
  return lines.join("\n");
}

/** Runs a generator from already-parsed option values (the bin and `neural generate` share this). */
export async function executeGenerator(definition: GeneratorDefinition, values: OptionValues, io: GeneratorIo): Promise<number> {
  try {
    const count = values.count as number;
    const format = (values.format as RowFormat | undefined) ?? "instruction";
    const distribution =
      typeof values.distribution === "string" && values.distribution ? parseDistribution(values.distribution) : undefined;
    const system = typeof values.system === "string" && values.system ? values.system : undefined;
    const seed = String(values.seed ?? "42");
    const generatorOptions: OptionValues = {};
    for (const spec of definition.options) generatorOptions[spec.name] = values[spec.name];
    if (values.capacity) {
      const spaces = await definition.prepare(generatorOptions);
      io.out(formatPlan(planGeneration(definition.name, spaces, { count: 0, ...(distribution ? { distribution } : {}) })));
      return 0;
    }
    const outputFlag = String(values.output ?? definition.defaultOutput);
    const toStdout = outputFlag === "-";
    if (toStdout && !io.stdout) throw new GeneratorUsageError("--output - needs a stdout stream");
    const summary = await runGenerator(definition, {
      count,
      seed,
      format,
      ...(system ? { system } : {}),
      ...(distribution ? { distribution } : {}),
      generatorOptions,
      output: toStdout ? io.stdout! : outputFlag,
    });
    const text = values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary);
    if (toStdout) io.err(text);
    else io.out(text);
    return 0;
  } catch (error) {
    // By name as well as by class: a bundled generator carries its own copy of this kit.
    const name = error instanceof Error ? error.name : "";
    if (error instanceof GeneratorUsageError || error instanceof GeneratorOptionsError || USAGE_ERRORS.has(name)) {
      io.err(`${definition.name}: ${(error as Error).message}`);
      return 2;
    }
    if (error instanceof CapacityError || error instanceof GeneratorError || KIT_ERRORS.has(name)) {
      io.err(`${definition.name}: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}

/** The whole bin: parse argv, run, report. */
export async function runGeneratorCli(
  definition: GeneratorDefinition,
  argv: readonly string[],
  io: GeneratorIo,
  command?: string,
): Promise<number> {
  let parsed;
  try {
    parsed = parseGeneratorArgs(argv, [...commonOptions(definition), ...definition.options]);
  } catch (error) {
    if (error instanceof GeneratorUsageError) {
      io.err(`${definition.name}: ${error.message}\n\n${formatGeneratorHelp(definition, command)}`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) {
    io.out(formatGeneratorHelp(definition, command));
    return 0;
  }
  return executeGenerator(definition, parsed.values, io);
}
