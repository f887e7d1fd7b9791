export { CapacityError, GeneratorError, GeneratorOptionsError, type CategoryCapacity } from "./errors.js";
export { createRng, hash128, hashHex, LazyPermutation, type Rng } from "./rng.js";
export {
  normalizedKey,
  ROW_FORMATS,
  toRow,
  userContent,
  type ChatMessage,
  type ChatRow,
  type Example,
  type InstructionRow,
  type OwnRow,
  type Row,
  type RowFormat,
} from "./rows.js";
export { allocate, maxCount, parseDistribution, resolveShares, type CategorySpace, type Distribution, type Share } from "./plan.js";
export {
  createGeneration,
  measureCapacity,
  planGeneration,
  type CategoryPlan,
  type CategoryStats,
  type Generation,
  type GenerationOptions,
  type GenerationPlan,
  type GenerationStats,
} from "./generate.js";
export { createJsonlWriter, createStreamJsonlWriter, type JsonlWriter } from "./writer.js";
export {
  collectRows,
  formatPlan,
  formatSummary,
  runGenerator,
  type GenerationSummary,
  type GeneratorDefinition,
  type GeneratorOptionSpec,
  type OptionType,
  type OptionValue,
  type OptionValues,
  type RunOptions,
} from "./run.js";
export {
  commonOptions,
  executeGenerator,
  formatGeneratorHelp,
  GeneratorUsageError,
  parseGeneratorArgs,
  runGeneratorCli,
  type GeneratorIo,
} from "./cli.js";
export { capitalize, digits, fill, joinList, plural, product, union, type Indexed } from "./combine.js";
