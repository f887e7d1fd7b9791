import { encodeExample, type EncodedExample, type OverlongPolicy, type DropReason } from "./encode.js";
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
  stats: {
    records: number;
    valid: number;
    invalid: number;
    issues: RecordIssue[];
    dropped: Record<DropReason, number>;
    trainTokens: number;
    trainLearnedTokens: number;
  };
}

/**
 * Reads, validates, templates and tokenizes a dataset and splits it into train and eval. Bad records are counted
 * and kept as issues; every dropped example is counted by reason. Throws DatasetError when nothing is usable.
 */
export async function prepareDataset(events: AsyncIterable<ReadEvent>, file: string, options: PrepareOptions): Promise<PreparedDataset> {
  const tokenizer = options.tokenizer;
  const template =
    typeof options.template === "object"
      ? options.template
      : createTemplate(options.template ?? "chatml", {
          ...(tokenizer.eos ? { eos: tokenizer.eos.text } : {}),
          ...(tokenizer.bos ? { bos: tokenizer.bos.text } : {}),
          ...(tokenizer.chatTemplate ? { chatTemplate: tokenizer.chatTemplate } : {}),
        });
  const maxShown = options.maxShown ?? 50;
  const issues: RecordIssue[] = [];
  const dropped: Record<DropReason, number> = { too_long: 0, nothing_to_learn: 0 };
  const kept: PreparedExample[] = [];
  let records = 0;
  let invalid = 0;
  let valid = 0;
  for await (const event of events) {
    if (options.maxSamples !== undefined && valid >= options.maxSamples) break;
    records++;
    const converted = event.issue ? { issue: event.issue } : toExample(event.value, file, event.line);
    if ("issue" in converted) {
      if (invalid++ < maxShown) issues.push(converted.issue!);
      continue;
    }
    valid++;
    const result = encodeExample(converted.example, {
      template,
      tokenizer,
      maxLength: options.maxLength,
      trainOnInputs: options.trainOnInputs ?? false,
      overlong: options.overlong ?? "drop",
    });
    if (result.dropped) {
      dropped[result.dropped]++;
      continue;
    }
    kept.push({ line: event.line, example: converted.example, encoded: result.example });
  }
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
    for (const label of t.encoded.labels) if (label !== -100) trainLearnedTokens++;
  }
  return {
    template,
    train,
    eval: split.eval.map((i) => kept[i]!),
    stats: { records, valid, invalid, issues, dropped, trainTokens, trainLearnedTokens },
  };
}
