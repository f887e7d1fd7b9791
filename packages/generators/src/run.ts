// One generator run from options to a file (or stream), with the summary the bins and the CLI print.
import type { Writable } from "node:stream";
import { createGeneration, type CategoryStats, type GenerationOptions, type GenerationPlan } from "./generate.js";
import type { CategorySpace } from "./plan.js";
import type { Row, RowFormat } from "./rows.js";
import { createJsonlWriter, createStreamJsonlWriter, type JsonlWriter } from "./writer.js";

export type OptionType = "string" | "number" | "boolean" | "string[]";
export type OptionValue = string | number | boolean | string[] | undefined;
export type OptionValues = Record<string, OptionValue>;

/** A generator-specific option; the same shape as the CLI's option specs (snake_case names, kebab aliases). */
export interface GeneratorOptionSpec {
  name: string;
  type: OptionType;
  description: string;
  default?: string | number | boolean | string[];
  aliases?: string[];
  choices?: readonly string[];
  /** For an option without a default: what leaving it out means (help shows it as the default). */
  unset?: string;
}

export interface GeneratorDefinition {
  /** The name after `neural generate`, e.g. "cypher". */
  name: string;
  summary: string;
  options: readonly GeneratorOptionSpec[];
  /** Where rows go when --output is not given. */
  defaultOutput: string;
  defaultCount: number;
  /** Builds the category spaces for these options (may read files or load grammars). */
  prepare(options: OptionValues): Promise<CategorySpace[]> | CategorySpace[];
}

export interface RunOptions extends GenerationOptions {
  /** The generator's own options (see its `options`). */
  generatorOptions?: OptionValues;
  /** A file path, or a stream such as process.stdout. */
  output?: string | Writable;
  onProgress?: (rows: number, count: number) => void;
}

export interface GenerationSummary {
  generator: string;
  count: number;
  seed: string;
  format: RowFormat;
  output: string;
  bytes: number;
  capacity: number;
  maxCount: number;
  candidates: number;
  duplicates: number;
  rejected: number;
  categories: CategoryStats[];
  seconds: number;
  rowsPerSecond: number;
}

/** The generator's own options with its defaults filled in. */
export function withDefaults(definition: Pick<GeneratorDefinition, "options">, options: OptionValues = {}): OptionValues {
  const out: OptionValues = {};
  for (const spec of definition.options) out[spec.name] = options[spec.name] ?? spec.default;
  for (const [k, v] of Object.entries(options)) if (!(k in out)) out[k] = v;
  return out;
}

/** Generates straight into memory (tests, small runs). */
export async function collectRows(
  definition: GeneratorDefinition,
  options: RunOptions,
): Promise<{ rows: Row[]; summary: GenerationSummary }> {
  const rows: Row[] = [];
  const summary = await generateInto(
    definition,
    options,
    {
      write: async (row) => {
        rows.push(row as Row);
      },
      close: async () => ({ rows: rows.length, bytes: 0 }),
      abort: async () => {},
    },
    "(memory)",
  );
  return { rows, summary };
}

/** Prepares the generator, checks the count against its capacity, and streams the rows to the output. */
export async function runGenerator(definition: GeneratorDefinition, options: RunOptions): Promise<GenerationSummary> {
  const output = options.output ?? definition.defaultOutput;
  // Plan before touching the output: a CapacityError must not leave an empty file behind.
  const spaces = await definition.prepare(withDefaults(definition, options.generatorOptions));
  const generation = createGeneration(definition.name, spaces, options);
  const writer = typeof output === "string" ? await createJsonlWriter(output) : createStreamJsonlWriter(output);
  return writeGeneration(definition, generation, options, writer, typeof output === "string" ? output : "(stream)");
}

async function generateInto(
  definition: GeneratorDefinition,
  options: RunOptions,
  writer: JsonlWriter,
  label: string,
): Promise<GenerationSummary> {
  const spaces = await definition.prepare(withDefaults(definition, options.generatorOptions));
  return writeGeneration(definition, createGeneration(definition.name, spaces, options), options, writer, label);
}

async function writeGeneration(
  definition: GeneratorDefinition,
  generation: ReturnType<typeof createGeneration>,
  options: RunOptions,
  writer: JsonlWriter,
  label: string,
): Promise<GenerationSummary> {
  const start = performance.now();
  let written = 0;
  try {
    for (const row of generation.rows) {
      await writer.write(row);
      written++;
      if (options.onProgress && written % 1000 === 0) options.onProgress(written, generation.plan.count);
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const { bytes } = await writer.close();
  const seconds = (performance.now() - start) / 1000;
  const stats = generation.stats();
  return summarize(definition.name, generation.plan, stats, options, label, bytes, seconds);
}

function summarize(
  generator: string,
  plan: GenerationPlan,
  stats: ReturnType<ReturnType<typeof createGeneration>["stats"]>,
  options: RunOptions,
  output: string,
  bytes: number,
  seconds: number,
): GenerationSummary {
  return {
    generator,
    count: stats.rows,
    seed: String(options.seed),
    format: options.format ?? "instruction",
    output,
    bytes,
    capacity: plan.capacity,
    maxCount: plan.maxCount,
    candidates: stats.candidates,
    duplicates: stats.duplicates,
    rejected: stats.rejected,
    categories: stats.categories,
    seconds,
    rowsPerSecond: seconds > 0 ? stats.rows / seconds : 0,
  };
}

/** A plain-text summary: totals, then requested vs actual per category. */
export function formatSummary(summary: GenerationSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const width = Math.max(8, ...summary.categories.map((c) => c.category.length));
  const lines = [
    `${summary.generator}: ${summary.count} rows (${summary.format}) -> ${summary.output}  seed ${summary.seed}  ` +
      `${summary.seconds.toFixed(2)} s, ${Math.round(summary.rowsPerSecond)} rows/s`,
    `candidates ${summary.candidates}, duplicates skipped ${summary.duplicates}, rejected ${summary.rejected}; ` +
      `at most ${summary.maxCount} rows with these options`,
    `${"category".padEnd(width)}  requested        actual           capacity`,
  ];
  for (const c of summary.categories) {
    const actual = summary.count ? c.rows / summary.count : 0;
    lines.push(
      `${c.category.padEnd(width)}  ${String(c.requested).padStart(6)} ${pct(c.share).padStart(6)}  ${String(c.rows).padStart(6)} ${pct(actual).padStart(6)}  ${String(c.capacity).padStart(10)}`,
    );
  }
  return lines.join("\n");
}

/** The capacity report behind `--capacity`. */
export function formatPlan(plan: GenerationPlan): string {
  const width = Math.max(8, ...plan.categories.map((c) => c.category.length));
  return [
    `${plan.generator}: at most ${plan.maxCount} unique rows with these options and this distribution (${plan.capacity} candidates in all)`,
    ...plan.categories.map(
      (c) => `  ${c.category.padEnd(width)}  share ${(c.share * 100).toFixed(1).padStart(5)}%  capacity ${c.capacity}`,
    ),
  ].join("\n");
}
