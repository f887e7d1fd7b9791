// Preference data in TRL's conventions. Paired rows: {"prompt", "chosen", "rejected"} with strings, or with message
// lists (the prompt is the shared turns; chosen and rejected the final assistant turn, as one message or a list
// ending in it), or without "prompt" (chosen and rejected whole conversations: their shared turns are the prompt).
// Unpaired rows (KTO): {"prompt", "completion", "label": true|false}. Each answer is tokenized after its prompt in
// the run's template, and only the final answer's tokens (and its end of turn) are learned. A row with "raw": true
// has a string prompt that is raw text, not a user turn (NornicDB's agentic loop, synthesis, autocomplete and edge-QC
// prompts): its tokens are the prompt's as-is, then the answer's with EOS, as those prompts are served.
import { encodeExample, IGNORE_INDEX, type EncodedExample, type DropReason } from "./encode.js";
import { DatasetError, formatIssue, type RecordIssue } from "./errors.js";
import { isPreferenceRecord, type Message, type Role } from "./formats.js";
import type { ReadEvent } from "./read.js";
import { splitIndices } from "./split.js";
import type { ChatTemplate } from "./templates.js";
import type { TextTokenizer } from "./tokenizer.js";
import { resolveTemplate, type PrepareOptions } from "./prepare.js";

/** `raw`: the prompt is raw text (one user message holds it), not a conversation. */
export type PreferenceExample =
  | { kind: "pair"; prompt: Message[]; chosen: string; rejected: string; raw?: true }
  | { kind: "unpaired"; prompt: Message[]; completion: string; label: boolean; raw?: true };

export { isPreferenceRecord };

type Issue = { issue: RecordIssue };
const ROLES = new Set<Role>(["system", "user", "assistant"]);

/** Validates a preference record and converts it, or returns the issue naming the line and field. */
export function toPreferenceExample(record: unknown, file: string, line: number): { example: PreferenceExample } | Issue {
  const issue = (message: string, field?: string): Issue => ({ issue: { file, line, ...(field ? { field } : {}), message } });
  if (typeof record !== "object" || record === null || Array.isArray(record)) return issue("expected a JSON object");
  const data = record as Record<string, unknown>;
  const messages = (value: unknown, field: string): Message[] | Issue => {
    if (!Array.isArray(value) || value.length === 0) return issue("must be a non-empty string or a non-empty list of messages", field);
    const out: Message[] = [];
    for (let i = 0; i < value.length; i++) {
      const m = value[i] as Record<string, unknown> | null;
      if (typeof m !== "object" || m === null || Array.isArray(m)) return issue("must be a message object", `${field}[${i}]`);
      if (!ROLES.has(m.role as Role)) return issue("must be one of system, user, assistant", `${field}[${i}].role`);
      if (typeof m.content !== "string") return issue("must be string", `${field}[${i}].content`);
      out.push({ role: m.role as Role, content: m.content });
    }
    return out;
  };
  const text = (value: unknown, field: string): string | Issue =>
    typeof value === "string" && /\S/.test(value) ? value : issue("must be a non-empty string", field);
  /** An answer: a string, or messages ending in an assistant turn (the turns before it extend the prompt). */
  const answer = (value: unknown, field: string): { before: Message[]; content: string } | Issue => {
    if (typeof value === "string")
      return /\S/.test(value) ? { before: [], content: value } : issue("must not be empty or only whitespace", field);
    const list = messages(value, field);
    if ("issue" in list) return list;
    const last = list[list.length - 1]!;
    if (last.role !== "assistant") return issue("the last message must be the assistant's answer", `${field}[${list.length - 1}].role`);
    if (!/\S/.test(last.content)) return issue("must not be empty or only whitespace", `${field}[${list.length - 1}].content`);
    return { before: list.slice(0, -1), content: last.content };
  };
  const checkPrompt = (prompt: Message[], field: string): Issue | undefined => {
    for (let i = 0; i < prompt.length; i++) {
      const role = prompt[i]!.role;
      if (role === "system" && i > 0) return issue("a system message may only come first", `${field}[${i}].role`);
      if (role === prompt[i - 1]?.role)
        return issue(`"${role}" follows "${role}": user and assistant turns must alternate`, `${field}[${i}].role`);
    }
    const last = prompt[prompt.length - 1];
    if (last?.role !== "user") return issue("the prompt must end with a user turn", field);
    return undefined;
  };
  if ("raw" in data && typeof data.raw !== "boolean") return issue("must be true (the prompt is raw text) or false", "raw");
  const raw = data.raw === true;
  if (raw) {
    if (typeof data.prompt !== "string") return issue("a raw row's prompt must be the raw text, a string", "prompt");
    for (const field of ["chosen", "rejected", "completion"])
      if (field in data && typeof data[field] !== "string") return issue("must be a string in a raw row", field);
  }
  let prompt: Message[] = [];
  if ("prompt" in data) {
    if (typeof data.prompt === "string") {
      const p = text(data.prompt, "prompt");
      if (typeof p !== "string") return p;
      prompt = [{ role: "user", content: p }];
    } else {
      const p = messages(data.prompt, "prompt");
      if ("issue" in p) return p;
      prompt = p;
    }
  }

  if ("chosen" in data || "rejected" in data) {
    if (!("chosen" in data)) return issue('missing required field "chosen"', "chosen");
    if (!("rejected" in data)) return issue('missing required field "rejected"', "rejected");
    const chosen = answer(data.chosen, "chosen");
    if ("issue" in chosen) return chosen;
    const rejected = answer(data.rejected, "rejected");
    if ("issue" in rejected) return rejected;
    let full = [...prompt, ...chosen.before];
    if (!("prompt" in data)) {
      // implicit prompt: the turns chosen and rejected share
      const same =
        chosen.before.length === rejected.before.length &&
        chosen.before.every((m, i) => m.role === rejected.before[i]!.role && m.content === rejected.before[i]!.content);
      if (!same) return issue("chosen and rejected must share every turn before the final answer (or give a prompt)", "rejected");
      full = chosen.before;
    } else if (rejected.before.length !== chosen.before.length)
      return issue("chosen and rejected must have the same turns before the final answer", "rejected");
    const wrong = checkPrompt(full, "prompt" in data ? "prompt" : "chosen");
    if (wrong) return wrong;
    if (chosen.content === rejected.content) return issue("chosen and rejected are identical: nothing to prefer", "rejected");
    return {
      example: { kind: "pair", prompt: full, chosen: chosen.content, rejected: rejected.content, ...(raw ? { raw: true as const } : {}) },
    };
  }
  if (!("prompt" in data)) return issue('missing required field "prompt"', "prompt");
  if (typeof data.label !== "boolean") return issue("must be true (desirable) or false (undesirable)", "label");
  const completion = answer(data.completion, "completion");
  if ("issue" in completion) return completion;
  const full = [...prompt, ...completion.before];
  const wrong = checkPrompt(full, "prompt");
  if (wrong) return wrong;
  return {
    example: { kind: "unpaired", prompt: full, completion: completion.content, label: data.label, ...(raw ? { raw: true as const } : {}) },
  };
}

export interface EncodePreferenceOptions {
  template: ChatTemplate;
  tokenizer: TextTokenizer;
  maxLength: number;
}

/** The prompt followed by one answer, only the answer's tokens learned; or why it cannot be used. */
export function encodeAnswer(
  prompt: readonly Message[],
  content: string,
  options: EncodePreferenceOptions,
  overlong: "drop" | "truncate" = "drop",
): { encoded: EncodedExample } | { dropped: DropReason } {
  const result = encodeExample(
    { kind: "chat", format: "chat", messages: [...prompt, { role: "assistant", content }] },
    { ...options, trainOnInputs: false, overlong },
  );
  if (result.dropped) return { dropped: result.dropped };
  // earlier assistant turns of the prompt are learned by the template: only the last run of labels is the answer
  const labels = result.example.labels;
  let end = labels.length - 1;
  while (end >= 0 && labels[end] === IGNORE_INDEX) end--;
  let start = end;
  while (start > 0 && labels[start - 1] !== IGNORE_INDEX) start--;
  labels.fill(IGNORE_INDEX, 0, Math.max(0, start));
  return { encoded: result.example };
}

/**
 * A raw-text prompt followed by an answer, as NornicDB serves its raw paths: the prompt tokenized alone, as llama.cpp
 * tokenizes the prompt it is sent (special tokens parsed, BOS when the tokenizer adds one), then the answer and EOS
 * tokenized after it, learned: what the model must generate there. (Tokenizing prompt and answer as one text could
 * merge across the boundary, e.g. the loop prompt's trailing space with an answer's "{", into tokens it is never served.)
 */
export function encodeRawAnswer(
  prompt: string,
  content: string,
  options: EncodePreferenceOptions,
  overlong: "drop" | "truncate" = "drop",
): { encoded: EncodedExample } | { dropped: DropReason } {
  const example = { kind: "text", format: "completion", text: prompt + content, promptEnd: prompt.length } as const;
  const result = encodeExample(example, { ...options, overlong });
  return result.dropped ? { dropped: result.dropped } : { encoded: result.example };
}

/** A row's prompt followed by one of its answers: in the run's template, or as raw text for a raw row. */
export function encodeRowAnswer(
  example: PreferenceExample,
  content: string,
  options: EncodePreferenceOptions,
  overlong: "drop" | "truncate" = "drop",
): { encoded: EncodedExample } | { dropped: DropReason } {
  return example.raw
    ? encodeRawAnswer(example.prompt[0]!.content, content, options, overlong)
    : encodeAnswer(example.prompt, content, options, overlong);
}

/** A usable preference row: a pair's two sequences, or an unpaired completion with its label. */
export type PreparedPreference =
  | { kind: "pair"; line: number; example: PreferenceExample & { kind: "pair" }; chosen: EncodedExample; rejected: EncodedExample }
  | { kind: "unpaired"; line: number; example: PreferenceExample & { kind: "unpaired" }; completion: EncodedExample; label: boolean };

export interface PreparedPreferenceDataset {
  template: ChatTemplate;
  kind: "pair" | "unpaired";
  train: PreparedPreference[];
  eval: PreparedPreference[];
  stats: { records: number; valid: number; invalid: number; issues: RecordIssue[]; dropped: Record<DropReason, number> };
}

/**
 * Reads, validates, templates and tokenizes a preference dataset and splits it. Paired and unpaired rows may not be
 * mixed (a paired row where unpaired ones came first is an issue, and the other way round).
 */
export async function preparePreferenceDataset(
  events: AsyncIterable<ReadEvent>,
  file: string,
  options: PrepareOptions,
): Promise<PreparedPreferenceDataset> {
  const template = resolveTemplate(options.template, options.tokenizer);
  const maxShown = options.maxShown ?? 50;
  const stats: PreparedPreferenceDataset["stats"] = {
    records: 0,
    valid: 0,
    invalid: 0,
    issues: [],
    dropped: { too_long: 0, nothing_to_learn: 0 },
  };
  const kept: PreparedPreference[] = [];
  let kind: "pair" | "unpaired" | undefined;
  const encodeOptions = { template, tokenizer: options.tokenizer, maxLength: options.maxLength };
  for await (const event of events) {
    if (options.maxSamples !== undefined && stats.valid >= options.maxSamples) break;
    stats.records++;
    let converted = event.issue
      ? { issue: event.issue }
      : isPreferenceRecord(event.value)
        ? toPreferenceExample(event.value, file, event.line)
        : undefined;
    if (!converted)
      converted = {
        issue: {
          file,
          line: event.line,
          message: 'not a preference row: expected "prompt", "chosen" and "rejected", or "prompt", "completion" and "label"',
        },
      };
    else if (!("issue" in converted) && kind !== undefined && converted.example.kind !== kind) {
      converted = {
        issue: {
          file,
          line: event.line,
          message: `a ${converted.example.kind} row among ${kind} rows: a dataset is all pairs (chosen/rejected) or all labelled completions`,
        },
      };
    }
    if ("issue" in converted) {
      if (stats.invalid++ < maxShown) stats.issues.push(converted.issue);
      continue;
    }
    stats.valid++;
    const e = converted.example;
    kind = e.kind;
    if (e.kind === "pair") {
      const chosen = encodeRowAnswer(e, e.chosen, encodeOptions);
      const rejected = encodeRowAnswer(e, e.rejected, encodeOptions);
      const dropped = "dropped" in chosen ? chosen.dropped : "dropped" in rejected ? rejected.dropped : undefined;
      if (dropped || !("encoded" in chosen) || !("encoded" in rejected)) stats.dropped[dropped ?? "too_long"]++;
      else kept.push({ kind: "pair", line: event.line, example: e, chosen: chosen.encoded, rejected: rejected.encoded });
    } else {
      const completion = encodeRowAnswer(e, e.completion, encodeOptions);
      if ("dropped" in completion) stats.dropped[completion.dropped]++;
      else kept.push({ kind: "unpaired", line: event.line, example: e, completion: completion.encoded, label: e.label });
    }
  }
  if (kept.length === 0) {
    const first = stats.issues[0];
    throw new DatasetError(
      `no usable preference rows${stats.invalid ? `: ${stats.invalid} invalid${first ? ` (first: ${formatIssue(first)})` : ""}` : ""}${stats.dropped.too_long ? `; ${stats.dropped.too_long} longer than max_length ${options.maxLength}` : ""}`,
      file,
    );
  }
  const split = splitIndices(kept.map(preferenceKey), { validationSplit: options.validationSplit ?? 0.1, seed: options.seed ?? 42 });
  return { template, kind: kind!, train: split.train.map((i) => kept[i]!), eval: split.eval.map((i) => kept[i]!), stats };
}

/** The row as one canonical string (split hashing, duplicates). */
export function preferenceKey(p: { example: PreferenceExample }): string {
  const e = p.example;
  const prompt = (e.raw ? "raw\u0003" : "") + e.prompt.map((m) => `${m.role}\u0000${m.content}`).join("\u0001");
  return e.kind === "pair" ? `${prompt}\u0002${e.chosen}\u0002${e.rejected}` : `${prompt}\u0002${e.completion}\u0002${e.label}`;
}

/**
 * KTO's mismatched rows for its KL estimate: each row's prompt with the next row's completion (TRL pairs each
 * prompt with another row's completion the same way). Overlong rows are truncated: the estimate needs no ends.
 */
export function mismatchedRows(rows: readonly PreparedPreference[], options: EncodePreferenceOptions): EncodedExample[] {
  return rows.map((row, i) => {
    const other = rows[(i + 1) % rows.length]!;
    if (row.kind !== "unpaired" || other.kind !== "unpaired") throw new RangeError("mismatched rows are for unpaired (KTO) data");
    const r = encodeRowAnswer(row.example, other.example.completion, options, "truncate");
    return "encoded" in r
      ? r.encoded
      : { inputIds: row.completion.inputIds, labels: new Int32Array(row.completion.labels.length).fill(IGNORE_INDEX) };
  });
}
