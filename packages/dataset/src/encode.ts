import type { Example } from "./formats.js";
import type { ChatTemplate } from "./templates.js";
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

export type EncodeResult = { example: EncodedExample; dropped?: undefined } | { dropped: DropReason; length: number; example?: undefined };

export function encodeExample(example: Example, options: EncodeOptions): EncodeResult {
  const { ids, labels } = tokenize(example, options.template, options.tokenizer, options.trainOnInputs === true);
  const { maxLength } = options;
  if (ids.length > maxLength) {
    if ((options.overlong ?? "drop") === "drop") return { dropped: "too_long", length: ids.length };
    ids.length = maxLength;
    labels.length = maxLength;
  }
  // Position 0 is never predicted, so a label there teaches nothing.
  if (!labels.some((label, i) => i > 0 && label !== IGNORE_INDEX)) return { dropped: "nothing_to_learn", length: ids.length };
  return { example: { inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) } };
}

/** Token count of an example as the trainer would see it (for length reports). */
export function tokenLength(example: Example, template: ChatTemplate, tokenizer: TextTokenizer): number {
  return tokenize(example, template, tokenizer, false).ids.length;
}

function tokenize(example: Example, template: ChatTemplate, tokenizer: TextTokenizer, trainOnInputs: boolean): { ids: number[]; labels: number[] } {
  const ids: number[] = [];
  const labels: number[] = [];
  const spans = template.render(example);
  if (tokenizer.addBos && tokenizer.bos && !spans[0]?.text.startsWith(tokenizer.bos.text)) {
    ids.push(tokenizer.bos.id);
    labels.push(IGNORE_INDEX);
  }
  for (const span of spans) {
    const learn = span.learn || trainOnInputs;
    for (const id of tokenizer.encode(span.text)) {
      ids.push(id);
      labels.push(learn ? id : IGNORE_INDEX);
    }
  }
  return { ids, labels };
}
