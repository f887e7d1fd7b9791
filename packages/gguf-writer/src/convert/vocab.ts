// Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) -> GGUF tokenizer metadata, as llama.cpp reads it:
// SentencePiece-style `llama` (byte fallback, scores) or byte-level BPE `gpt2` (merges, tokenizer.ggml.pre).
import { checkTokenizerJson, preTokenizerName } from "@neural/hf-config";
import { TokenType, gv, type GgufValue } from "../types.js";
import { GgufConvertError } from "./errors.js";

export interface HfTokenizerInputs {
  tokenizer: Record<string, any>;
  /** tokenizer_config.json, if present. */
  tokenizerConfig?: Record<string, any>;
  /** config.json (for *_token_id fallbacks). */
  config?: Record<string, any>;
  /** chat_template.jinja, if present. */
  chatTemplateFile?: string;
  /** Embedding rows: the token list is padded with [PAD{i}] up to this. */
  vocabSize: number;
  /** For error messages. */
  file?: string;
  /** Override the detected `tokenizer.ggml.pre` (gpt2 tokenizers only). */
  pre?: string;
}

export interface VocabMetadata {
  kvs: Array<[string, GgufValue]>;
  model: "llama" | "gpt2";
  pre: string;
  tokens: string[];
  types: number[];
  special: { bos?: number; eos?: number; unk?: number; pad?: number; eot?: number };
}

function flatten(node: any, key: "pretokenizers" | "normalizers"): any[] {
  if (!node) return [];
  if (node.type === "Sequence") return (node[key] ?? []).flatMap((n: any) => flatten(n, key));
  return [node];
}

/** llama.cpp's pre-tokenizer name for a byte-level BPE tokenizer.json. */
export function detectPre(tokenizer: Record<string, any>, file = "tokenizer.json"): string {
  const pres = flatten(tokenizer.pre_tokenizer, "pretokenizers");
  const splits = pres.filter((p) => p.type === "Split").map((p) => p.pattern?.Regex ?? p.pattern?.String);
  const byteLevel = pres.find((p) => p.type === "ByteLevel");
  if (splits.length === 1) {
    const name = typeof splits[0] === "string" ? preTokenizerName(splits[0]) : undefined;
    if (name) return name;
    throw new GgufConvertError(
      `unknown pre-tokenizer split pattern ${JSON.stringify(splits[0])}; pass the llama.cpp name explicitly (pre)`,
      file,
      "pre_tokenizer",
    );
  }
  if (splits.length === 0 && byteLevel && byteLevel.use_regex !== false) {
    // SmolLM's: each digit its own piece, then GPT-2's split.
    const digits = pres.find((p) => p.type === "Digits");
    if (!digits) return "gpt-2";
    if (digits.individual_digits === true && pres.length === 2) return "smollm";
  }
  throw new GgufConvertError(
    "cannot tell which llama.cpp pre-tokenizer matches this tokenizer; pass it explicitly (pre)",
    file,
    "pre_tokenizer",
  );
}

const tokenContent = (v: unknown): string | undefined =>
  typeof v === "string" ? v : v && typeof v === "object" && typeof (v as any).content === "string" ? (v as any).content : undefined;

/** Looks like a control token (<|...|>), as llama.cpp's converter decides for added tokens not flagged special. */
const looksSpecial = (t: string) => (t.startsWith("<|") && t.endsWith("|>")) || t === "<pad>" || t === "<mask>";

export function buildVocab(input: HfTokenizerInputs): VocabMetadata {
  const file = input.file ?? "tokenizer.json";
  const tj = input.tokenizer;
  // An explicit `pre` names the pattern llama.cpp will use, so the file's own pattern is never compiled here.
  checkTokenizerJson(tj, file, { unknownPatterns: input.pre !== undefined });
  const tc = input.tokenizerConfig ?? {};
  const model = tj.model;
  if (!model || model.type !== "BPE") {
    throw new GgufConvertError(`tokenizer model type ${JSON.stringify(model?.type)} is not supported (BPE only)`, file, "model.type");
  }
  const isSpm = model.byte_fallback === true;
  const kind: "llama" | "gpt2" = isSpm ? "llama" : "gpt2";
  const vocab = model.vocab as Record<string, number>;
  const added = (tj.added_tokens ?? []) as Array<{ id: number; content: string; special?: boolean }>;
  let maxId = -1;
  for (const id of Object.values(vocab)) maxId = Math.max(maxId, id);
  for (const a of added) maxId = Math.max(maxId, a.id);
  if (maxId + 1 > input.vocabSize) {
    throw new GgufConvertError(`the tokenizer uses ids up to ${maxId} but the embedding has only ${input.vocabSize} rows`, file, "vocab");
  }
  const n = input.vocabSize;
  const tokens: (string | undefined)[] = new Array(n);
  for (const [t, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new GgufConvertError(`bad id ${id} for token ${JSON.stringify(t)}`, file, "model.vocab");
    tokens[id] = t;
  }
  const types = new Array<number>(n).fill(TokenType.NORMAL);
  const addedById = new Map<number, { content: string; special?: boolean }>();
  for (const a of added) {
    addedById.set(a.id, a);
    tokens[a.id] = a.content;
  }
  const unkContent = tokenContent(tc.unk_token) ?? (typeof model.unk_token === "string" ? model.unk_token : undefined);
  for (let id = 0; id < n; id++) {
    const t = tokens[id];
    if (t === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TokenType.UNUSED;
      continue;
    }
    const a = addedById.get(id);
    if (a) {
      types[id] = a.special || looksSpecial(t) ? TokenType.CONTROL : TokenType.USER_DEFINED;
      if (isSpm && t === unkContent) types[id] = TokenType.UNKNOWN;
      if (types[id] === TokenType.USER_DEFINED && isSpm) tokens[id] = t.replaceAll("▁", " ");
    } else if (isSpm && /^<0x[0-9A-Fa-f]{2}>$/.test(t)) {
      types[id] = TokenType.BYTE;
    } else if (isSpm && t === unkContent) {
      types[id] = TokenType.UNKNOWN;
    }
  }
  // ChatML markers must be control tokens whatever the tokenizer says, or llama.cpp would split them as text.
  for (let id = 0; id < n; id++) if (tokens[id] === "<|im_start|>" || tokens[id] === "<|im_end|>") types[id] = TokenType.CONTROL;
  const seen = new Map<string, number>();
  for (let id = 0; id < n; id++) {
    const prev = seen.get(tokens[id]!);
    // llama.cpp aborts the process on duplicate token strings: refuse them here.
    if (prev !== undefined)
      throw new GgufConvertError(`token ${JSON.stringify(tokens[id])} appears at ids ${prev} and ${id}`, file, "vocab");
    seen.set(tokens[id]!, id);
  }

  const kvs: Array<[string, GgufValue]> = [];
  const pre = isSpm ? "default" : (input.pre ?? detectPre(tj, file));
  kvs.push(["tokenizer.ggml.model", gv.str(kind)]);
  kvs.push(["tokenizer.ggml.pre", gv.str(pre)]);
  kvs.push(["tokenizer.ggml.tokens", gv.arr("STRING", tokens as string[])]);
  const merges = normalizeMerges(model.merges, file);
  if (isSpm) {
    // Merge priority for llama.cpp's SPM: a piece made by an earlier merge scores higher. That reproduces the HF BPE
    // model's merge order (HF's SentencePiece converter lists every split of a piece, ranked by the piece's score).
    const scores = new Float32Array(n);
    const rank = new Map<string, number>();
    merges.forEach((m, i) => {
      const [a, b] = splitMerge(m);
      const piece = a + b;
      if (!rank.has(piece)) rank.set(piece, i);
    });
    for (let id = 0; id < n; id++) {
      const t = tokens[id]!;
      if (types[id] === TokenType.NORMAL) scores[id] = rank.has(t) ? -rank.get(t)! : [...t].length > 1 ? -1e6 - id : -(merges.length + id);
      else if (types[id] === TokenType.BYTE || types[id] === TokenType.UNKNOWN) scores[id] = 0;
      else scores[id] = -1000;
    }
    kvs.push(["tokenizer.ggml.scores", gv.arr("F32", scores)]);
  }
  kvs.push(["tokenizer.ggml.token_type", gv.arr("I32", types)]);
  if (!isSpm) {
    if (!merges.length) throw new GgufConvertError("a byte-level BPE tokenizer needs merges", file, "model.merges");
    kvs.push(["tokenizer.ggml.merges", gv.arr("STRING", merges)]);
  }

  // Special token ids: tokenizer_config first (matched against the token list), then config.json.
  const idOf = (v: unknown): number | undefined => {
    const c = tokenContent(v);
    if (c === undefined) return undefined;
    const id = seen.get(c);
    return id;
  };
  const cfg = input.config ?? {};
  const cfgId = (k: string): number | undefined => {
    const v = cfg[k];
    const x = Array.isArray(v) ? v[0] : v;
    return Number.isInteger(x) && x >= 0 && x < n ? x : undefined;
  };
  const special: VocabMetadata["special"] = {
    bos: idOf(tc.bos_token) ?? cfgId("bos_token_id"),
    eos: idOf(tc.eos_token) ?? cfgId("eos_token_id"),
    unk: idOf(tc.unk_token) ?? (isSpm ? idOf(model.unk_token) : undefined),
    pad: idOf(tc.pad_token) ?? cfgId("pad_token_id"),
    eot: seen.get("<|im_end|>") ?? seen.get("<|eot_id|>") ?? seen.get("<|end|>"),
  };
  for (const [k, v] of Object.entries(special))
    if (v !== undefined) kvs.push([`tokenizer.ggml.${k === "unk" ? "unknown" : k === "pad" ? "padding" : k}_token_id`, gv.u32(v)]);

  let addBos: boolean | undefined = typeof tc.add_bos_token === "boolean" ? tc.add_bos_token : undefined;
  let addEos: boolean | undefined = typeof tc.add_eos_token === "boolean" ? tc.add_eos_token : undefined;
  const post = tj.post_processor;
  const processors = post ? (post.type === "Sequence" ? (post.processors ?? []) : [post]) : [];
  for (const p of processors) {
    if (p.type === "TemplateProcessing" && Array.isArray(p.single)) {
      const first = p.single[0]?.SpecialToken?.id;
      const last = p.single[p.single.length - 1]?.SpecialToken?.id;
      addBos ??= first !== undefined && seen.get(first) === special.bos;
      addEos ??= last !== undefined && p.single.length > 1 && seen.get(last) === special.eos;
    }
  }
  if (!isSpm && addBos === undefined) addBos = false;
  if (addBos !== undefined) kvs.push(["tokenizer.ggml.add_bos_token", gv.bool(addBos)]);
  if (addEos !== undefined) kvs.push(["tokenizer.ggml.add_eos_token", gv.bool(addEos)]);
  if (isSpm) {
    const normalizers = flatten(tj.normalizer, "normalizers");
    const metaspace = flatten(tj.pre_tokenizer, "pretokenizers").find((p) => p.type === "Metaspace");
    let prefix: boolean;
    if (typeof tc.add_prefix_space === "boolean") prefix = tc.add_prefix_space;
    else if (normalizers.some((x) => x.type === "Prepend" && x.prepend === "▁")) prefix = true;
    else if (metaspace) prefix = (metaspace.prepend_scheme ?? (metaspace.add_prefix_space ? "always" : "never")) !== "never";
    else prefix = false;
    kvs.push(["tokenizer.ggml.add_space_prefix", gv.bool(prefix)]);
  }
  const template = tc.chat_template ?? input.chatTemplateFile;
  if (typeof template === "string") kvs.push(["tokenizer.chat_template", gv.str(template)]);
  else if (Array.isArray(template)) {
    for (const t of template as Array<{ name: string; template: string }>) {
      kvs.push([t.name === "default" ? "tokenizer.chat_template" : `tokenizer.chat_template.${t.name}`, gv.str(t.template)]);
    }
  }
  return { kvs, model: kind, pre, tokens: tokens as string[], types, special };
}

/** Merges as "a b" strings; the newer [a, b] form encodes spaces inside a part as U+0120 (as gguf-py does). */
function normalizeMerges(merges: unknown, file: string): string[] {
  if (merges === undefined || merges === null) return [];
  if (!Array.isArray(merges)) throw new GgufConvertError("merges is not an array", file, "model.merges");
  return merges.map((m, i) => {
    if (typeof m === "string") return m;
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") {
      return m.map((part: string) => part.replaceAll(" ", "\u0120")).join(" ");
    }
    throw new GgufConvertError(`merge ${i} is neither "a b" nor [a, b]`, file, "model.merges");
  });
}

function splitMerge(m: string): [string, string] {
  const at = m.indexOf(" ", 1);
  return at < 0 ? [m, ""] : [m.slice(0, at), m.slice(at + 1)];
}
