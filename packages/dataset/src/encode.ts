import type { Example } from "./formats.js";
import { boundSpans } from "./measure.js";
import type { ChatTemplate, TextSpan } from "./templates.js";
import type { TextTokenizer } from "./tokenizer.js";

/** The label of a token that is not learned (prompt, padding): PyTorch's and our cross-entropy's ignore_index. */
export const IGNORE_INDEX = -100;

/**
 * A tokenized example. `labels[i]` is `inputIds[i]` where that token is learned and IGNORE_INDEX elsewhere; the
 * trainer shifts (the logits at position i-1 predict labels[i]), as Hugging Face models do.
 */
export interface EncodedExample {
  inputIds: Int32Array;
  labels: Int32Array;
}

export type OverlongPolicy = "drop" | "truncate";
export type DropReason = "too_long" | "nothing_to_learn";

export interface EncodeOptions {
  template: ChatTemplate;
  tokenizer: TextTokenizer;
  maxLength: number;
  /** Learn the prompt too (all tokens but padding). Default false: only answers and their end-of-turn token. */
  trainOnInputs?: boolean;
  /**
   * What to do with examples longer than maxLength. "drop" (default) skips them: a truncated answer teaches the
   * model to stop without its end-of-turn token. "truncate" keeps the first maxLength tokens.
   */
  overlong?: OverlongPolicy;
}

/** `length`: the example's tokens; for one too long to tokenize whole (see boundSpans), an estimate above maxLength. */
export type EncodeResult = { example: EncodedExample; dropped?: undefined } | { dropped: DropReason; length: number; example?: undefined };

export function encodeExample(example: Example, options: EncodeOptions): EncodeResult {
  const { maxLength } = options;
  const drop = (options.overlong ?? "drop") === "drop";
  const bounded = boundSpans(options.template.render(example), options.tokenizer, maxLength, !drop);
  if (bounded.cut && drop) return { dropped: "too_long", length: bounded.estimate };
  const { ids, labels } = tokenize(bounded.spans, options.tokenizer, options.trainOnInputs === true);
  if (ids.length > maxLength) {
    if (drop) return { dropped: "too_long", length: ids.length };
    ids.length = maxLength;
    labels.length = maxLength;
  }
  // Position 0 is never predicted, so a label there teaches nothing.
  if (!labels.some((label, i) => i > 0 && label !== IGNORE_INDEX)) return { dropped: "nothing_to_learn", length: ids.length };
  return { example: { inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) } };
}

/** Token count of an example as the trainer would see it (for length reports). */
export function tokenLength(example: Example, template: ChatTemplate, tokenizer: TextTokenizer): number {
  return tokenize(template.render(example), tokenizer, false).ids.length;
}

/** Token count of an example, or, for one with more than `limit` tokens, an estimate above `limit` (bounded work). */
export function measureTokens(example: Example, template: ChatTemplate, tokenizer: TextTokenizer, limit: number): number {
  const bounded = boundSpans(template.render(example), tokenizer, limit, false);
  return bounded.cut ? bounded.estimate : tokenize(bounded.spans, tokenizer, false).ids.length;
}

/**
 * Tokenizes the rendered example as one text, as the model reads it when served: added and special tokens become
 * their ids, and the text between two of them is tokenized in one piece (so a SentencePiece "▁" or a BPE merge at a
 * span boundary is what the whole text gives). A token is learned when it starts in a learned span. A span marked
 * `apart` starts a new text: what a served model generates after a prompt it was sent tokenized alone.
 */
function tokenize(spans: readonly TextSpan[], tokenizer: TextTokenizer, trainOnInputs: boolean): { ids: number[]; labels: number[] } {
  const ids: number[] = [];
  const labels: number[] = [];
  let run: TextSpan[] = [];
  for (const span of spans) {
    if (span.apart && run.length) {
      tokenizeText(run, tokenizer, trainOnInputs, ids, labels);
      run = [];
    }
    run.push(span);
  }
  if (run.length) tokenizeText(run, tokenizer, trainOnInputs, ids, labels);
  return { ids, labels };
}

function tokenizeText(spans: readonly TextSpan[], tokenizer: TextTokenizer, trainOnInputs: boolean, ids: number[], labels: number[]): void {
  const text = spans.map((s) => s.text).join("");
  // Span starts (character offsets) and whether each is learned.
  const starts: number[] = [];
  let offset = 0;
  for (const s of spans) {
    starts.push(offset);
    offset += s.text.length;
  }
  const learnedAt = (position: number): boolean => {
    let i = 0;
    while (i + 1 < starts.length && starts[i + 1]! <= position) i++;
    return trainOnInputs || spans[i]!.learn;
  };
  const push = (id: number, learn: boolean) => {
    ids.push(id);
    labels.push(learn ? id : IGNORE_INDEX);
  };
  if (ids.length === 0 && tokenizer.addBos && tokenizer.bos && !text.startsWith(tokenizer.bos.text)) push(tokenizer.bos.id, false);
  for (const piece of tokenizer.split(text)) {
    if (piece.id !== undefined) {
      push(piece.id, learnedAt(piece.start));
      continue;
    }
    const pieceIds = tokenizer.encodePiece(piece.text);
    // Where a span boundary falls inside the piece, the tokens of the text before it that the whole piece shares
    // belong to the earlier span; a token that straddles the boundary goes to the later one.
    let from = 0;
    for (const boundary of starts.filter((b) => b > piece.start && b < piece.end)) {
      const before = tokenizer.encodePiece(piece.text.slice(0, boundary - piece.start));
      let shared = 0;
      while (shared < before.length && shared < pieceIds.length && before[shared] === pieceIds[shared]) shared++;
      const learn = learnedAt(boundary - 1);
      for (; from < shared; from++) push(pieceIds[from]!, learn);
    }
    const learn = learnedAt(piece.end - 1);
    for (; from < pieceIds.length; from++) push(pieceIds[from]!, learn);
  }
}
