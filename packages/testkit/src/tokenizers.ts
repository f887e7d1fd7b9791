// Small but real Hugging Face tokenizers (tokenizer.json + tokenizer_config.json), trained deterministically by BPE
// on a built-in corpus: a SentencePiece-style `llama` tokenizer (▁ for spaces, byte fallback, <unk>/<s>/</s>; or
// Gemma's layout) and byte-level BPE tokenizers with the Qwen2, Llama-3 or SmolLM split. All carry ChatML markers.

export type TokenizerKind = "spm" | "spm-phi3" | "spm-gemma" | "bpe-qwen2" | "bpe-llama3" | "bpe-smollm";

export interface HfTokenizerFiles {
  /** tokenizer.json contents */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json contents */
  config: Record<string, unknown>;
  /** Number of ids used (base vocabulary plus added tokens). */
  size: number;
  /** Ids of notable tokens. */
  ids: { bos: number | null; eos: number; pad: number | null; unk: number | null; imStart: number; imEnd: number };
}

const CORPUS = `The quick brown fox jumps over the lazy dog. A graph database stores nodes and relationships.
MATCH (n:Person)-[:KNOWS]->(m:Person) WHERE n.name = 'Alice' RETURN m.name, count(*) AS friends ORDER BY friends DESC LIMIT 10;
def hello_world(name: str) -> str:
    return f"Hello, {name}!"  # greet the user
function add(a, b) { return a + b; } const x = [1, 2, 3].map((v) => v * 2);
The model is trained on instructions and answers. Users ask questions, and the assistant answers them.
I'm sure they'll say it's fine, we've seen that you'd like it. Numbers: 12345 67890 3.14159 2024-11-25.
in the of and to is that for on with as at by from this are be or an it was which not have has
system user assistant hello world token tokens model models data train training export quantize llama`;

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Learns `n` BPE merges over words given as symbol arrays; deterministic tie-breaking. */
function learnMerges(words: string[][], n: number): Array<[string, string]> {
  const merges: Array<[string, string]> = [];
  const seqs = words.map((w) => [...w]);
  for (let step = 0; step < n; step++) {
    const counts = new Map<string, number>();
    for (const s of seqs) {
      for (let i = 0; i + 1 < s.length; i++) {
        const key = `${s[i]}\u0000${s[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [k, c] of counts) {
      if (c > bestCount || (c === bestCount && best !== undefined && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (!best) break;
    const [a, b] = best.split("\u0000") as [string, string];
    merges.push([a, b]);
    for (const s of seqs) {
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) s.splice(i, 2, a + b);
      }
    }
  }
  return merges;
}

const addedToken = (id: number, content: string, special = true, rstrip = false) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip,
  normalized: false,
  special,
});

function addedTokensDecoder(tokens: Array<{ id: number; content: string; special: boolean; rstrip: boolean }>) {
  return Object.fromEntries(
    tokens.map((t) => [
      String(t.id),
      { content: t.content, lstrip: false, normalized: false, rstrip: t.rstrip, single_word: false, special: t.special },
    ]),
  );
}

/**
 * SentencePiece-style tokenizer as HF's LlamaTokenizerFast stores it: BPE model with byte_fallback over ▁-words.
 * `gemma`: Gemma 3's layout (<pad> <eos> <bos> <unk> first, then <start_of_turn> <end_of_turn>; no space prefix).
 */
export function spmTokenizer(options: { merges?: number; phi3?: boolean; gemma?: boolean } = {}): HfTokenizerFiles {
  const words = CORPUS.split(/\s+/)
    .filter(Boolean)
    .map((w) => ["▁", ...w]);
  const chars = [...new Set(words.flat())].sort();
  const learned = learnMerges(words, options.merges ?? 160);
  const gemma = options.gemma === true;
  const leading = gemma ? ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"] : ["<unk>", "<s>", "</s>"];
  const vocab: Record<string, number> = Object.fromEntries(leading.map((t, i) => [t, i]));
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = leading.length + b;
  let next = leading.length + 256;
  for (const c of chars) if (!(c in vocab)) vocab[c] = next++;
  const order: string[] = [];
  for (const [a, b] of learned) {
    if (!(a + b in vocab)) {
      vocab[a + b] = next++;
      order.push(a + b);
    }
  }
  // Like HF's SentencePiece converter: every split of a piece into two pieces is a merge, ranked by the piece.
  const merges: string[] = [];
  for (const piece of order) {
    const cps = [...piece];
    const splits: Array<[string, string]> = [];
    for (let i = 1; i < cps.length; i++) {
      const l = cps.slice(0, i).join("");
      const r = cps.slice(i).join("");
      if (l in vocab && r in vocab) splits.push([l, r]);
    }
    splits.sort((x, y) => vocab[x[0]]! - vocab[y[0]]! || vocab[x[1]]! - vocab[y[1]]!);
    for (const [l, r] of splits) merges.push(`${l} ${r}`);
  }
  // Phi-3 adds <|endoftext|> and <|end|>, and its special tokens strip the whitespace after them (rstrip), as
  // llama.cpp also assumes for any model whose name contains "phi3".
  const phi3 = options.phi3 === true;
  const added = gemma
    ? leading.map((t, i) => addedToken(i, t))
    : [addedToken(0, "<unk>"), addedToken(1, "<s>"), addedToken(2, "</s>", true, phi3)];
  if (phi3) added.push(addedToken(next++, "<|endoftext|>"), addedToken(next++, "<|end|>", true, true));
  const imStart = next++;
  const imEnd = next++;
  added.push(addedToken(imStart, "<|im_start|>", true, phi3), addedToken(imEnd, "<|im_end|>", true, phi3));
  const bosToken = gemma ? "<bos>" : "<s>";
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    // Gemma's tokenizer replaces spaces but prepends none.
    normalizer: gemma
      ? { type: "Replace", pattern: { String: " " }, content: "▁" }
      : {
          type: "Sequence",
          normalizers: [
            { type: "Prepend", prepend: "▁" },
            { type: "Replace", pattern: { String: " " }, content: "▁" },
          ],
        },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bosToken, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bosToken, type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: bosToken, type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { [bosToken]: { id: bosToken, ids: [vocab[bosToken]!], tokens: [bosToken] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        ...(gemma ? [] : [{ type: "Strip", content: " ", start: 1, stop: 0 }]),
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const config = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: addedTokensDecoder(added),
    bos_token: "<s>",
    eos_token: "</s>",
    unk_token: "<unk>",
    pad_token: "</s>",
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: 2048,
    tokenizer_class: "LlamaTokenizer",
    ...(phi3 ? { eos_token: "<|endoftext|>", pad_token: "<|endoftext|>" } : {}),
    ...(gemma
      ? { bos_token: "<bos>", eos_token: "<eos>", unk_token: "<unk>", pad_token: "<pad>", tokenizer_class: "GemmaTokenizer", legacy: false }
      : {}),
  };
  const ids = gemma ? { bos: 2, eos: 1, pad: 0, unk: 3 } : { bos: 1, eos: 2, pad: 2, unk: 0 };
  return { tokenizer, config, size: next, ids: { ...ids, imStart, imEnd } };
}

/** GPT-2's reversible byte -> printable character map. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const map: string[] = new Array(256);
  for (const b of bs) map[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (map[b] === undefined) map[b] = String.fromCodePoint(256 + n++);
  return map;
}

/** The split patterns as HF writes them (Rust regex syntax). */
export const SPLIT_PATTERNS = {
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  llama3:
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
} as const;

/** The same patterns for JavaScript (no inline (?i:) group in Node 20). */
const JS_PATTERNS = {
  qwen2: /'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu,
  llama3:
    /'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu,
};

/** Byte-level BPE (GPT-2 family) with the Qwen2 or Llama-3 split pattern. */
export function bpeTokenizer(flavor: "qwen2" | "llama3", options: { merges?: number } = {}): HfTokenizerFiles {
  const byteMap = bytesToUnicode();
  const enc = new TextEncoder();
  const words = [...CORPUS.matchAll(JS_PATTERNS[flavor])].map((m) => [...enc.encode(m[0])].map((b) => byteMap[b]!));
  const learned = learnMerges(words, options.merges ?? 200);
  const vocab: Record<string, number> = {};
  let next = 0;
  for (let b = 0; b < 256; b++) vocab[byteMap[b]!] = next++;
  const merges: string[] = [];
  for (const [a, b] of learned) {
    merges.push(`${a} ${b}`);
    if (!(a + b in vocab)) vocab[a + b] = next++;
  }
  const specials =
    flavor === "qwen2"
      ? ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
      : ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"];
  const ids: Record<string, number> = {};
  const added = specials.map((s) => {
    ids[s] = next;
    return addedToken(next++, s);
  });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: flavor === "qwen2" ? { type: "NFC" } : null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: SPLIT_PATTERNS[flavor] }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor:
      flavor === "qwen2"
        ? { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false }
        : {
            type: "TemplateProcessing",
            single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
            pair: [
              { SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } },
              { Sequence: { id: "A", type_id: 0 } },
              { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } },
              { Sequence: { id: "B", type_id: 1 } },
            ],
            special_tokens: {
              "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [ids["<|begin_of_text|>"]], tokens: ["<|begin_of_text|>"] },
            },
          },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: flavor === "llama3",
      vocab,
      merges,
    },
  };
  const config =
    flavor === "qwen2"
      ? {
          added_tokens_decoder: addedTokensDecoder(added),
          bos_token: null,
          eos_token: "<|im_end|>",
          pad_token: "<|endoftext|>",
          unk_token: null,
          chat_template: CHATML_TEMPLATE,
          clean_up_tokenization_spaces: false,
          errors: "replace",
          model_max_length: 32768,
          split_special_tokens: false,
          tokenizer_class: "Qwen2Tokenizer",
        }
      : {
          added_tokens_decoder: addedTokensDecoder(added),
          bos_token: "<|begin_of_text|>",
          eos_token: "<|im_end|>",
          pad_token: "<|end_of_text|>",
          chat_template: CHATML_TEMPLATE,
          clean_up_tokenization_spaces: true,
          model_input_names: ["input_ids", "attention_mask"],
          model_max_length: 131072,
          tokenizer_class: "PreTrainedTokenizerFast",
        };
  return {
    tokenizer,
    config,
    size: next,
    ids: {
      bos: flavor === "qwen2" ? null : ids["<|begin_of_text|>"]!,
      eos: ids["<|im_end|>"]!,
      pad: flavor === "qwen2" ? ids["<|endoftext|>"]! : ids["<|end_of_text|>"]!,
      unk: null,
      imStart: ids["<|im_start|>"]!,
      imEnd: ids["<|im_end|>"]!,
    },
  };
}

/**
 * Byte-level BPE as SmolLM2's tokenizer.json has it: digits split one by one, then GPT-2's split (llama.cpp's
 * "smollm" pre-tokenizer), and its special tokens first: <|endoftext|> 0, <|im_start|> 1 (BOS), <|im_end|> 2 (EOS).
 */
export function smollmTokenizer(options: { merges?: number } = {}): HfTokenizerFiles {
  const byteMap = bytesToUnicode();
  const enc = new TextEncoder();
  const gpt2 = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const pieces = CORPUS.split(/(\p{N})/u).flatMap((part) => (/^\p{N}$/u.test(part) ? [part] : [...part.matchAll(gpt2)].map((m) => m[0])));
  const learned = learnMerges(
    pieces.filter(Boolean).map((w) => [...enc.encode(w)].map((b) => byteMap[b]!)),
    options.merges ?? 200,
  );
  const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
  const added = specials.map((t, i) => addedToken(i, t));
  const vocab: Record<string, number> = Object.fromEntries(specials.map((t, i) => [t, i]));
  let next = specials.length;
  for (let b = 0; b < 256; b++) vocab[byteMap[b]!] = next++;
  const merges: string[] = [];
  for (const [a, b] of learned) {
    merges.push(`${a} ${b}`);
    if (!(a + b in vocab)) vocab[a + b] = next++;
  }
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Digits", individual_digits: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const config = {
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder(added),
    additional_special_tokens: ["<|im_start|>", "<|im_end|>"],
    bos_token: "<|im_start|>",
    eos_token: "<|im_end|>",
    pad_token: "<|im_end|>",
    unk_token: "<|endoftext|>",
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    model_max_length: 8192,
    tokenizer_class: "GPT2Tokenizer",
    vocab_size: 49152,
  };
  return { tokenizer, config, size: next, ids: { bos: 1, eos: 2, pad: 2, unk: 0, imStart: 1, imEnd: 2 } };
}

export function makeTokenizer(kind: TokenizerKind): HfTokenizerFiles {
  switch (kind) {
    case "spm":
    case "spm-phi3":
    case "spm-gemma":
      return spmTokenizer({ phi3: kind === "spm-phi3", gemma: kind === "spm-gemma" });
    case "bpe-qwen2":
      return bpeTokenizer("qwen2");
    case "bpe-llama3":
      return bpeTokenizer("llama3");
    case "bpe-smollm":
      return smollmTokenizer();
  }
}

/** Mixed text for tokenizer equality tests: Unicode, code, ChatML markers, whitespace runs, numbers. */
export const MIXED_TEXTS: readonly string[] = [
  "Hello world! The quick brown fox.",
  "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nMATCH (n:Person) RETURN n.name<|im_end|>\n<|im_start|>assistant\n",
  "def add(a, b):\n    return a + b  # sum\n\n\tindented\ttabs   and   spaces  ",
  "Ünïcödé: café, naïve, Straße, 日本語のテキスト, emoji 🚀🦙 and ✅; Ελληνικά; русский текст",
  "I'm sure they'll say it's fine. We've SEEN that YOU'D like it; 'RE 'LL",
  "Numbers 1234567 3.14159 2024-11-25 and x=[1,2,3].map((v)=>v*2);",
  "  leading spaces, trailing newline\n",
  "<|im_end|><|im_start|>back to back specials<|im_end|>",
];
