import { answerOf, exampleKey, toExample, type FormatName } from "./formats.js";
import type { RecordIssue } from "./errors.js";
import type { ReadEvent } from "./read.js";
import { hash53 } from "./random.js";
import type { ChatTemplate } from "./templates.js";
import { resolveTemplate } from "./prepare.js";
import { measureTokens } from "./encode.js";
import type { TextTokenizer } from "./tokenizer.js";
import { isPreferenceRecord, toPreferenceExample } from "./preference.js";
import type { Example } from "./formats.js";

/** A check of every valid example's answer (the CLI's --check-cypher passes one that parses Cypher). */
export interface AnswerCheck {
  /** The key of its results in the report's `checks`. */
  name: string;
  /** What the failed answers do, for the report's problems (e.g. "do not parse as Cypher"). */
  failure: string;
  /** Nothing when the answer passes, else what is wrong with it (one line). */
  check(answer: string): string | undefined | Promise<string | undefined>;
}

/** How many answers a check looked at and which failed (the first maxShown, with their lines). */
export interface CheckReport {
  checked: number;
  failed: number;
  shown: RecordIssue[];
  omitted: number;
}

export interface ValidateOptions {
  /** Measure lengths in this tokenizer's tokens (else in characters of the rendered example). */
  tokenizer?: TextTokenizer;
  /** Template used to render examples for length measurement. Default ChatML. */
  template?: ChatTemplate;
  /**
   * Report the examples longer than this (tokens with a tokenizer, else characters), with their lines. A row more
   * than twice as long (or longer than 32768 tokens when unset) is not tokenized whole: its length is an estimate.
   */
  maxLength?: number;
  /** How many record errors (and duplicate groups, failed checks) to list; the rest are counted. Default 50. */
  maxShown?: number;
  /** Duplicate rows (after whitespace/case normalization) above this share of valid rows are a problem. Default 0. */
  maxDuplicateRatio?: number;
  /** Largest/smallest category above this ratio: a problem when set, else a warning above 3. */
  maxCategoryRatio?: number;
  /** Share of examples over maxLength above which it is a problem. When unset, overlong examples are a warning. */
  maxOverlongRatio?: number;
  /** Checks of each valid example's answer. */
  checks?: readonly AnswerCheck[];
  onProgress?: (records: number) => void;
}

export interface DuplicateReport {
  /** Rows that repeat an earlier row. */
  rows: number;
  ratio: number;
  groups: { lines: number[] }[];
  omittedGroups: number;
}

export interface LengthReport {
  unit: "tokens" | "characters";
  count: number;
  min: number;
  mean: number;
  p50: number;
  p95: number;
  max: number;
  histogram: { from: number; to: number; count: number }[];
  maxLength?: number;
  overMaxLength?: number;
}

export interface ValidationReport {
  file: string;
  records: number;
  valid: number;
  invalid: number;
  formats: Record<FormatName, number>;
  categories: Record<string, number>;
  uncategorized: number;
  errors: { total: number; shown: RecordIssue[]; omitted: number };
  duplicates: { exact: DuplicateReport; normalized: DuplicateReport };
  lengths: LengthReport | null;
  categoryBalance: { ratio: number; smallest: { category: string; count: number }; largest: { category: string; count: number } } | null;
  /** Each check's results, by its name. */
  checks: Record<string, CheckReport>;
  /** Preference rows (TRL's formats): pairs, labelled completions and their prompts' lengths; absent without any. */
  preference?: { pairs: number; desirable: number; undesirable: number; promptLengths: LengthReport | null };
  problems: string[];
  warnings: string[];
  ok: boolean;
}

/** Checks a dataset record by record (streaming) and reports formats, errors, duplicates, lengths and balance. */
export async function validateRecords(
  events: AsyncIterable<ReadEvent>,
  file: string,
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const maxShown = options.maxShown ?? 50;
  const template = options.template ?? resolveTemplate("chatml", options.tokenizer);
  const formats: Record<FormatName, number> = { instruction: 0, chat: 0, prompt_completion: 0, completion: 0 };
  const categories = new Map<string, number>();
  let uncategorized = 0;
  const errors: RecordIssue[] = [];
  let errorCount = 0;
  let records = 0;
  let valid = 0;
  const exact = new DuplicateTracker(maxShown);
  const normalized = new DuplicateTracker(maxShown);
  let lengths = new Uint32Array(1024);
  const overlongLines: number[] = [];
  const checks = (options.checks ?? []).map((c) => ({ c, report: { checked: 0, failed: 0, shown: [] as RecordIssue[], omitted: 0 } }));
  const preference = { pairs: 0, desirable: 0, undesirable: 0 };
  let promptLengths = new Uint32Array(0);
  const measure = (e: Example) =>
    options.tokenizer
      ? measureTokens(e, template, options.tokenizer, options.maxLength ?? 32_768)
      : template.render(e).reduce((n, s) => n + s.text.length, 0);

  for await (const event of events) {
    records++;
    if (records % 10_000 === 0) options.onProgress?.(records);
    if (event.issue) {
      if (errorCount++ < maxShown) errors.push(event.issue);
      continue;
    }
    // a preference row stands as its prompt and chosen answer (the longer answer for its length)
    let longer: Example | undefined;
    let converted: ReturnType<typeof toExample>;
    if (isPreferenceRecord(event.value)) {
      const pref = toPreferenceExample(event.value, file, event.line);
      if ("issue" in pref) converted = pref;
      else {
        const p = pref.example;
        // a raw row is its prompt's text followed by the answer (with EOS, as the trainer encodes it)
        const chat = (answer: string): Example =>
          p.raw
            ? { kind: "text", format: "completion", text: p.prompt[0]!.content + answer }
            : { kind: "chat", format: "chat", messages: [...p.prompt, { role: "assistant", content: answer }] };
        converted = { example: chat(p.kind === "pair" ? p.chosen : p.completion) };
        if (p.kind === "pair") {
          preference.pairs++;
          longer = chat(p.rejected);
        } else if (p.label) preference.desirable++;
        else preference.undesirable++;
        if (preference.pairs + preference.desirable + preference.undesirable > promptLengths.length) {
          const grown = new Uint32Array(Math.max(1024, promptLengths.length * 2));
          grown.set(promptLengths);
          promptLengths = grown;
        }
        promptLengths[preference.pairs + preference.desirable + preference.undesirable - 1] = measure(chat(""));
      }
    } else converted = toExample(event.value, file, event.line);
    if ("issue" in converted) {
      if (errorCount++ < maxShown) errors.push(converted.issue);
      continue;
    }
    const example = converted.example;
    if (valid === lengths.length) {
      const grown = new Uint32Array(lengths.length * 2);
      grown.set(lengths);
      lengths = grown;
    }
    lengths[valid] = Math.max(measure(example), longer ? measure(longer) : 0);
    if (options.maxLength !== undefined && lengths[valid]! > options.maxLength && overlongLines.length < maxShown)
      overlongLines.push(event.line);
    valid++;
    if (!isPreferenceRecord(event.value)) formats[example.format]++;
    if (example.category !== undefined) categories.set(example.category, (categories.get(example.category) ?? 0) + 1);
    else uncategorized++;
    exact.add(exampleKey(example), event.line);
    normalized.add(exampleKey(example, true), event.line);
    for (const { c, report } of checks) {
      report.checked++;
      const message = await c.check(answerOf(example));
      if (message === undefined) continue;
      if (report.failed++ < maxShown) report.shown.push({ file, line: event.line, field: "answer", message });
      else report.omitted++;
    }
  }

  const problems: string[] = [];
  const warnings: string[] = [];
  if (records === 0) problems.push("no records: the file is empty");
  else if (valid === 0) problems.push("no valid records");
  if (errorCount > 0) problems.push(`${errorCount} invalid record${errorCount === 1 ? "" : "s"}`);
  if (preference.pairs > 0 && preference.desirable + preference.undesirable > 0) {
    problems.push(
      `${preference.pairs} chosen/rejected pairs and ${preference.desirable + preference.undesirable} labelled completions: a preference dataset is one or the other`,
    );
  }
  if (
    preference.pairs + preference.desirable + preference.undesirable > 0 &&
    valid > preference.pairs + preference.desirable + preference.undesirable
  ) {
    warnings.push(
      `${valid - preference.pairs - preference.desirable - preference.undesirable} rows are not preference rows: --method sft reads those, the preference methods these`,
    );
  }

  const dupExact = exact.report(valid);
  const dupNormalized = normalized.report(valid);
  const maxDup = options.maxDuplicateRatio ?? 0;
  if (dupNormalized.rows > 0) {
    const text = `${dupNormalized.rows} duplicate row${dupNormalized.rows === 1 ? "" : "s"} (${dupExact.rows} exact, ${pct(dupNormalized.ratio)} of valid rows)`;
    (dupNormalized.ratio > maxDup ? problems : warnings).push(text);
  }

  const lengthReport =
    valid > 0 ? summarizeLengths(lengths.subarray(0, valid), options.tokenizer ? "tokens" : "characters", options.maxLength) : null;
  if (lengthReport?.overMaxLength) {
    const share = lengthReport.overMaxLength / lengthReport.count;
    const more = lengthReport.overMaxLength > overlongLines.length ? ", ..." : "";
    const text =
      `${lengthReport.overMaxLength} example${lengthReport.overMaxLength === 1 ? "" : "s"} longer than max_length ${lengthReport.maxLength} ${lengthReport.unit} (${pct(share)}): ` +
      `line${overlongLines.length === 1 && !more ? "" : "s"} ${overlongLines.join(", ")}${more}`;
    (options.maxOverlongRatio !== undefined && share > options.maxOverlongRatio ? problems : warnings).push(text);
  }

  let categoryBalance: ValidationReport["categoryBalance"] = null;
  if (categories.size >= 2) {
    const sorted = [...categories].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
    const [smallName, small] = sorted[0]!;
    const [largeName, large] = sorted[sorted.length - 1]!;
    categoryBalance = {
      ratio: large / small,
      smallest: { category: smallName, count: small },
      largest: { category: largeName, count: large },
    };
    const limit = options.maxCategoryRatio ?? 3;
    if (categoryBalance.ratio > limit) {
      const text = `categories are unbalanced: "${largeName}" has ${large} rows, "${smallName}" ${small} (ratio ${categoryBalance.ratio.toFixed(1)} > ${limit})`;
      (options.maxCategoryRatio !== undefined ? problems : warnings).push(text);
    }
  }
  if (categories.size > 0 && uncategorized > 0) warnings.push(`${uncategorized} valid rows have no category`);
  for (const { c, report } of checks)
    if (report.failed > 0) problems.push(`${report.failed} answer${report.failed === 1 ? "" : "s"} ${c.failure}`);

  return {
    file,
    records,
    valid,
    invalid: errorCount,
    formats,
    categories: Object.fromEntries([...categories].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    uncategorized,
    errors: { total: errorCount, shown: errors, omitted: Math.max(0, errorCount - errors.length) },
    duplicates: { exact: dupExact, normalized: dupNormalized },
    lengths: lengthReport,
    categoryBalance,
    checks: Object.fromEntries(checks.map(({ c, report }) => [c.name, report])),
    ...(preference.pairs + preference.desirable + preference.undesirable > 0
      ? {
          preference: {
            ...preference,
            promptLengths: summarizeLengths(
              promptLengths.subarray(0, preference.pairs + preference.desirable + preference.undesirable),
              options.tokenizer ? "tokens" : "characters",
            ),
          },
        }
      : {}),
    problems,
    warnings,
    ok: problems.length === 0,
  };
}

class DuplicateTracker {
  /** First line of each distinct row; negated once the row has been seen again. */
  private first = new Map<string, number>();
  private groups = new Map<string, number[]>();
  private groupCount = 0;
  private rows = 0;

  constructor(private maxShown: number) {}

  add(text: string, line: number): void {
    // Two independent 53-bit hashes: a false match among 10^9 rows is ~1e-14 likely, and memory stays small.
    const key = hash53(text, 1).toString(36) + ":" + hash53(text, 2).toString(36);
    const earlier = this.first.get(key);
    if (earlier === undefined) {
      this.first.set(key, line);
      return;
    }
    this.rows++;
    if (earlier > 0) {
      this.first.set(key, -earlier);
      this.groupCount++;
      if (this.groups.size < this.maxShown) this.groups.set(key, [earlier]);
    }
    const group = this.groups.get(key);
    if (group && group.length < 20) group.push(line);
  }

  report(valid: number): DuplicateReport {
    const groups = [...this.groups.values()].map((lines) => ({ lines }));
    return { rows: this.rows, ratio: valid ? this.rows / valid : 0, groups, omittedGroups: this.groupCount - groups.length };
  }
}

function summarizeLengths(values: Uint32Array, unit: "tokens" | "characters", maxLength?: number): LengthReport {
  const sorted = Uint32Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))]!;
  const max = sorted[sorted.length - 1]!;
  const step = niceStep(max / 10);
  const bins = Math.floor(max / step) + 1;
  const histogram = Array.from({ length: bins }, (_, i) => ({ from: i * step, to: (i + 1) * step, count: 0 }));
  let sum = 0;
  let over = 0;
  for (const v of sorted) {
    histogram[Math.floor(v / step)]!.count++;
    sum += v;
    if (maxLength !== undefined && v > maxLength) over++;
  }
  return {
    unit,
    count: sorted.length,
    min: sorted[0]!,
    mean: sum / sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    max,
    histogram,
    ...(maxLength !== undefined ? { maxLength, overMaxLength: over } : {}),
  };
}

function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1)}%`;
}

export function stripCodeFence(text: string): string {
  const m = /^\s*```[\w-]*\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1]! : text;
}
