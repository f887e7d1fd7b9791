import { encodeExample, IGNORE_INDEX, type EncodedExample, type OverlongPolicy, type DropReason } from "./encode.js";
import { DatasetError, formatIssue, type RecordIssue } from "./errors.js";
import { exampleKey, toExample, type Example } from "./formats.js";
import type { ReadEvent } from "./read.js";
import { splitIndices } from "./split.js";
import { createTemplate, type ChatTemplate, type TemplateName } from "./templates.js";
import type { TextTokenizer } from "./tokenizer.js";

export interface PrepareOptions {
  tokenizer: TextTokenizer;
  /** A template name or a ready template. Default "chatml" (NornicDB's serving format). */
  template?: TemplateName | ChatTemplate;
  maxLength: number;
  trainOnInputs?: boolean;
  overlong?: OverlongPolicy;
  /** Default 0.1. */
  validationSplit?: number;
  seed?: number;
  /** Use only the first N valid records. */
  maxSamples?: number;
  /** How many record issues to keep; the rest are counted. Default 50. */
  maxShown?: number;
}

/** A tokenized example and where it came from. */
export interface PreparedExample {
  line: number;
  example: Example;
  encoded: EncodedExample;
}

export interface PreparedDataset {
  template: ChatTemplate;
  train: PreparedExample[];
  eval: PreparedExample[];
  stats: EncodeStats & {
    trainTokens: number;
    trainLearnedTokens: number;
  };
}

export interface EncodeStats {
  records: number;
  valid: number;
  invalid: number;
  /** The first `maxShown` record issues. */
  issues: RecordIssue[];
  dropped: Record<DropReason, number>;
  /** The token count of each example dropped as too long (an estimate above maxLength for one too long to tokenize whole). */
  tooLongLengths?: number[];
}

/** A template by name, using the tokenizer's EOS/BOS and its own chat_template where it has them. */
export function resolveTemplate(template: TemplateName | ChatTemplate | undefined, tokenizer?: TextTokenizer): ChatTemplate {
  if (typeof template === "object") return template;
  return createTemplate(template ?? "chatml", {
    ...(tokenizer?.eos ? { eos: tokenizer.eos.text } : {}),
    ...(tokenizer?.bos ? { bos: tokenizer.bos.text } : {}),
    ...(tokenizer?.chatTemplate ? { chatTemplate: tokenizer.chatTemplate } : {}),
  });
}

/**
 * Streams tokenized examples from records in constant memory; `stats` (updated as it goes) counts bad records and
 * every dropped example by reason.
 */
export async function* encodeRecords(
  events: AsyncIterable<ReadEvent>,
  file: string,
  options: Omit<PrepareOptions, "validationSplit" | "seed">,
  stats: EncodeStats = { records: 0, valid: 0, invalid: 0, issues: [], dropped: { too_long: 0, nothing_to_learn: 0 } },
): AsyncGenerator<PreparedExample> {
  const template = resolveTemplate(options.template, options.tokenizer);
  const maxShown = options.maxShown ?? 50;
  for await (const event of events) {
    if (options.maxSamples !== undefined && stats.valid >= options.maxSamples) break;
    stats.records++;
    const converted = event.issue ? { issue: event.issue } : toExample(event.value, file, event.line);
    if ("issue" in converted) {
      if (stats.invalid++ < maxShown) stats.issues.push(converted.issue!);
      continue;
    }
    stats.valid++;
    const result = encodeExample(converted.example, {
      template,
      tokenizer: options.tokenizer,
      maxLength: options.maxLength,
      trainOnInputs: options.trainOnInputs ?? false,
      overlong: options.overlong ?? "drop",
    });
    if (result.dropped) {
      stats.dropped[result.dropped]++;
      if (result.dropped === "too_long") (stats.tooLongLengths ??= []).push(result.length);
    } else yield { line: event.line, example: converted.example, encoded: result.example };
  }
}

/**
 * Reads, validates, templates and tokenizes a dataset and splits it into train and eval. Bad records are counted
 * and kept as issues; every dropped example is counted by reason. Throws DatasetError when nothing is usable.
 */
export async function prepareDataset(events: AsyncIterable<ReadEvent>, file: string, options: PrepareOptions): Promise<PreparedDataset> {
  const template = resolveTemplate(options.template, options.tokenizer);
  const stats: EncodeStats = { records: 0, valid: 0, invalid: 0, issues: [], dropped: { too_long: 0, nothing_to_learn: 0 } };
  const kept: PreparedExample[] = [];
  for await (const prepared of encodeRecords(events, file, { ...options, template }, stats)) kept.push(prepared);
  const { records, invalid, issues, dropped } = stats;
  if (kept.length === 0) {
    const why = [
      records === 0 ? "the file has no records" : undefined,
      invalid ? `${invalid} invalid record${invalid === 1 ? "" : "s"}${issues[0] ? ` (first: ${formatIssue(issues[0])})` : ""}` : undefined,
      dropped.too_long ? `${dropped.too_long} longer than max_length ${options.maxLength}` : undefined,
      dropped.nothing_to_learn ? `${dropped.nothing_to_learn} with nothing to learn` : undefined,
    ].filter(Boolean);
    throw new DatasetError(`no usable examples: ${why.join("; ")}`, file);
  }
  const split = splitIndices(
    kept.map((k) => exampleKey(k.example)),
    { validationSplit: options.validationSplit ?? 0.1, seed: options.seed ?? 42 },
  );
  const train = split.train.map((i) => kept[i]!);
  let trainTokens = 0;
  let trainLearnedTokens = 0;
  for (const t of train) {
    trainTokens += t.encoded.inputIds.length;
    for (const label of t.encoded.labels) if (label !== IGNORE_INDEX) trainLearnedTokens++;
  }
  return {
    template,
    train,
    eval: split.eval.map((i) => kept[i]!),
    stats: { ...stats, trainTokens, trainLearnedTokens },
  };
}
