// A byte-level BPE tokenizer trainer. Its output is a tokenizer.json that @huggingface/tokenizers loads and whose
// pre-tokenizer llama.cpp knows by name (tokenizer.ggml.pre), so training-time and serving-time tokenization agree.
import { CHATML_JINJA } from "./templates.js";
import { PRETOKENIZER_PATTERNS, type PreTokenizerName } from "@neural/hf-config";

/** The same patterns for JavaScript's RegExp (no inline `(?i:` groups). */
function jsPattern(name: PreTokenizerName): RegExp {
  const contractions = "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]";
  const source = PRETOKENIZER_PATTERNS[name].replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", `(?:${contractions})`);
  return new RegExp(source, "gu");
}

/** GPT-2's reversible map from bytes to printable characters. */
export function byteToUnicode(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return table;
}

export interface TrainTokenizerOptions {
  vocabSize: number;
  pretokenizer?: PreTokenizerName;
  /** Added as control tokens after the learned vocabulary. Default: <|endoftext|>, <|im_start|>, <|im_end|>. */
  specialTokens?: readonly string[];
  /** A pair must occur at least this often to be merged. Default 2. */
  minFrequency?: number;
  modelMaxLength?: number;
  /** Called now and then with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

export interface TrainedTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  vocabSize: number;
  merges: number;
}

export const CHATML_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;

export async function trainTokenizer(
  texts: Iterable<string> | AsyncIterable<string>,
  options: TrainTokenizerOptions,
): Promise<TrainedTokenizer> {
  const pretokenizer = options.pretokenizer ?? "qwen2";
  const specials = [...(options.specialTokens ?? CHATML_SPECIAL_TOKENS)];
  const minFrequency = options.minFrequency ?? 2;
  const targetBase = options.vocabSize - specials.length;
  if (targetBase < 256)
    throw new RangeError(`vocab_size must be at least ${256 + specials.length} (256 bytes + ${specials.length} special tokens)`);

  // 1. Count pre-tokenized words (special-token strings in the data are not learned as text).
  const bytesToChar = byteToUnicode();
  const encoder = new TextEncoder();
  const splitter = jsPattern(pretokenizer);
  const specialSplit = new RegExp(specials.map(escapeRegExp).join("|"), "g");
  const wordCounts = new Map<string, number>();
  for await (const text of texts) {
    for (const part of text.split(specialSplit)) {
      for (const match of part.matchAll(splitter)) {
        wordCounts.set(match[0], (wordCounts.get(match[0]) ?? 0) + 1);
      }
    }
  }

  // 2. Words as arrays of token ids; ids 0..255 are the bytes.
  const vocab = new Map<string, number>();
  const tokens: string[] = [];
  for (let b = 0; b < 256; b++) {
    vocab.set(bytesToChar[b]!, b);
    tokens.push(bytesToChar[b]!);
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push(Array.from(encoder.encode(word)));
    counts.push(count);
  }

  // 3. Pair statistics with an index from pair to the words that contain it.
  const SHIFT = 2 ** 21; // ids < 2^21, keys < 2^42: exact in a double
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: number) => {
    const word = words[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * SHIFT + word[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * counts[w]!);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  // 4. Merge the most frequent pair until the vocabulary is full (ties: the smaller pair key, for determinism).
  const merges: [string, string][] = [];
  const wanted = targetBase - 256;
  while (tokens.length < targetBase) {
    const top = heap.pop();
    if (!top) break;
    const current = pairCount.get(top.key) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push(current, top.key); // stale entry: re-queue with the true count
      continue;
    }
    if (current < minFrequency) break;
    const a = Math.floor(top.key / SHIFT);
    const b = top.key % SHIFT;
    const merged = tokens[a]! + tokens[b]!;
    let id = vocab.get(merged);
    if (id === undefined) {
      id = tokens.length;
      vocab.set(merged, id);
      tokens.push(merged);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    const touched = new Set<number>();
    for (const w of pairWords.get(top.key) ?? []) {
      const word = words[w]!;
      let has = false;
      for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) has = true;
      if (!has) continue;
      addPairs(w, -1);
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(word[i]!);
      }
      words[w] = next;
      addPairs(w, 1);
      for (let i = 0; i + 1 < next.length; i++) touched.add(next[i]! * SHIFT + next[i + 1]!);
    }
    pairCount.delete(top.key);
    pairWords.delete(top.key);
    for (const key of touched) {
      const count = pairCount.get(key) ?? 0;
      if (count > 0) heap.push(count, key);
    }
    if (merges.length % 256 === 0) options.onProgress?.(merges.length, wanted);
  }
  options.onProgress?.(merges.length, wanted);

  // 5. Special tokens after the learned vocabulary.
  const addedTokens = specials.map((content, k) => ({
    id: tokens.length + k,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: pretokenizer === "gpt-2" };
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer:
      pretokenizer === "gpt-2"
        ? byteLevel
        : {
            type: "Sequence",
            pretokenizers: [
              { type: "Split", pattern: { Regex: PRETOKENIZER_PATTERNS[pretokenizer] }, behavior: "Isolated", invert: false },
              { ...byteLevel, use_regex: false },
            ],
          },
    post_processor: { ...byteLevel, use_regex: false },
    decoder: { ...byteLevel, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      merges,
    },
  };
  const has = (t: string) => specials.includes(t);
  const tokenizerConfig = {
    tokenizer_class: "PreTrainedTokenizerFast",
    add_bos_token: false,
    add_eos_token: false,
    bos_token: null,
    eos_token: has("<|im_end|>") ? "<|im_end|>" : (specials[0] ?? null),
    pad_token: has("<|endoftext|>") ? "<|endoftext|>" : (specials[0] ?? null),
    unk_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: options.modelMaxLength ?? 2048,
    chat_template: CHATML_JINJA,
    added_tokens_decoder: Object.fromEntries(addedTokens.map(({ id, ...rest }) => [String(id), rest])),
    // Read by @neural/gguf-writer: the llama.cpp pre-tokenizer this tokenizer was trained with.
    neural_pretokenizer: pretokenizer,
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: tokens.length + specials.length, merges: merges.length };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A binary max-heap of (count, pair key); ties pop the smaller key first. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } | undefined {
    if (this.counts.length === 0) return undefined;
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.before(l, best)) best = l;
        if (r < this.counts.length && this.before(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }

  private before(i: number, j: number): boolean {
    return this.counts[i]! > this.counts[j]! || (this.counts[i] === this.counts[j] && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
}
