import { Tokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "./errors.js";
import { checkTokenizerJson, HfConfigError } from "@neural/hf-config";

/** What the dataset pipeline needs from a tokenizer: text ↔ ids and the special tokens. */
export interface TextTokenizer {
  /** Token ids of `text`; added and special tokens written in it become their ids (never re-tokenized as text). */
  encode(text: string): number[];
  /** `text` cut at its added and special tokens: text pieces (with their place in `text`) and token ids. */
  split(text: string): TextPiece[];
  /** Encodes text that holds no added or special token (one piece of `split`). */
  encodePiece(text: string): number[];
  decode(ids: readonly number[]): string;
  tokenToId(token: string): number | undefined;
  /** Number of ids, including added tokens. */
  vocabSize: number;
  /** Characters in the longest token: how much text one token can stand for (bounds the work on a text too long to fit). */
  maxTokenLength?: number;
  bos?: SpecialToken;
  eos?: SpecialToken;
  pad?: SpecialToken;
  /** Whether a BOS token starts every sequence (tokenizer_config `add_bos_token`, or a post-processor that adds it). */
  addBos: boolean;
  /** The model's own jinja chat template, when tokenizer_config.json has one. */
  chatTemplate?: string;
  /** Added tokens marked special (ChatML markers, BOS/EOS...). */
  specialTokens: Map<string, number>;
}

export interface SpecialToken {
  id: number;
  text: string;
}

/** A piece of split text: `text` to tokenize, or the `id` of an added token; `start`/`end` locate it in the input. */
export type TextPiece =
  { text: string; start: number; end: number; id?: undefined } | { id: number; start: number; end: number; text?: undefined };

interface AddedToken {
  id: number;
  content: string;
  lstrip?: boolean;
  rstrip?: boolean;
  special?: boolean;
}

export interface TokenizerFiles {
  /** Parsed tokenizer.json. */
  tokenizer: Record<string, unknown>;
  /** Parsed tokenizer_config.json ({} when absent). */
  config: Record<string, unknown>;
}

/** Builds a TextTokenizer from parsed tokenizer.json + tokenizer_config.json (no file system needed). */
export function createTokenizer(files: TokenizerFiles, label = "tokenizer"): TextTokenizer {
  const { tokenizer: json, config } = files;
  if (typeof json !== "object" || json === null || typeof json.model !== "object" || json.model === null) {
    throw new TokenizerError(`${label}: tokenizer.json has no "model" section`);
  }
  try {
    checkTokenizerJson(json, `${label}: tokenizer.json`);
  } catch (error) {
    throw error instanceof HfConfigError ? new TokenizerError(error.message) : error;
  }
  // The library trusts the file's structure and fails with a TypeError where it is wrong, at load or first use.
  const guard = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      if (error instanceof TokenizerError) throw error;
      throw new TokenizerError(`${label}: tokenizer.json cannot ${what}: ${(error as Error).message}`);
    }
  };
  const { tokenizer, vocab } = guard("be loaded", () => {
    const loaded = new Tokenizer(json, config);
    loaded.decode(loaded.encode("Hello, world! 123", { add_special_tokens: true }).ids);
    return { tokenizer: loaded, vocab: loaded.get_vocab(true) };
  });
  let vocabSize = 0;
  let maxTokenLength = 1;
  for (const [token, id] of vocab) {
    if (typeof token !== "string") continue; // an id no token has
    vocabSize = Math.max(vocabSize, id + 1);
    maxTokenLength = Math.max(maxTokenLength, token.length);
  }

  const specialTokens = new Map<string, number>();
  const addedTokens = (json.added_tokens as AddedToken[] | undefined) ?? [];
  for (const added of addedTokens) {
    if (added.special) specialTokens.set(added.content, added.id);
  }
  const special = (key: string): SpecialToken | undefined => {
    const raw = config[key];
    const text =
      typeof raw === "string"
        ? raw
        : typeof raw === "object" && raw !== null && "content" in raw
          ? String((raw as { content: unknown }).content)
          : undefined;
    if (text === undefined) return undefined;
    const id = tokenizer.token_to_id(text);
    if (id === undefined) throw new TokenizerError(`${label}: tokenizer_config.json ${key} "${text}" is not in the vocabulary`);
    return { id, text };
  };
  const optionalSpecial = (key: string): SpecialToken | undefined => {
    try {
      return special(key);
    } catch {
      return undefined;
    }
  };
  const bos = special("bos_token");
  const eos = special("eos_token");
  const pad = special("pad_token");
  const addBos =
    typeof config.add_bos_token === "boolean"
      ? config.add_bos_token
      : bos !== undefined && postProcessorAddsBos(json.post_processor, bos.text);
  const chatTemplate = typeof config.chat_template === "string" ? config.chat_template : undefined;

  // Every added token, and the BOS/EOS/PAD/UNK the config names, is cut out of the text and becomes its id, as Hugging
  // Face's tokenizers do for added tokens. The library alone would miss added tokens marked `normalized: true` when
  // its normalizer changes them (Llama-2's "</s>" under the ▁-prepending normalizer becomes "▁</s>").
  const splitter = addedTokenSplitter([
    ...addedTokens,
    ...[bos, eos, pad, optionalSpecial("unk_token")].flatMap((t) => (t ? [{ id: t.id, content: t.text }] : [])),
  ]);
  const encodePiece = (text: string): number[] =>
    text === "" ? [] : guard("encode text", () => tokenizer.encode(text, { add_special_tokens: false }).ids);
  return {
    encode: (text) => splitter(text).flatMap((piece) => (piece.id !== undefined ? [piece.id] : encodePiece(piece.text))),
    split: splitter,
    encodePiece,
    decode: (ids) =>
      ids.length === 0
        ? ""
        : guard("decode ids", () => tokenizer.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false })),
    tokenToId: (token) => guard("look up a token", () => tokenizer.token_to_id(token)),
    vocabSize,
    maxTokenLength,
    ...(bos ? { bos } : {}),
    ...(eos ? { eos } : {}),
    ...(pad ? { pad } : {}),
    addBos,
    ...(chatTemplate !== undefined ? { chatTemplate } : {}),
    specialTokens,
  };
}

/** Whether the post-processor (or one in a Sequence, as Llama-3's ByteLevel + TemplateProcessing) starts with BOS. */
function postProcessorAddsBos(postProcessor: unknown, bosText: string): boolean {
  const p = postProcessor as { type?: string; processors?: unknown[]; single?: { SpecialToken?: { id: string } }[] } | null;
  if (p?.type === "Sequence" && Array.isArray(p.processors)) return p.processors.some((q) => postProcessorAddsBos(q, bosText));
  return Array.isArray(p?.single) && p.single[0]?.SpecialToken?.id === bosText;
}

/**
 * Cuts text at added tokens, longest match first, as Hugging Face's AddedVocabulary does; a token with `lstrip` /
 * `rstrip` also takes the whitespace on its left / right.
 */
function addedTokenSplitter(tokens: readonly AddedToken[]): (text: string) => TextPiece[] {
  const byContent = new Map<string, AddedToken>();
  for (const t of tokens) if (t.content !== "" && !byContent.has(t.content)) byContent.set(t.content, t);
  if (byContent.size === 0) return (text) => (text === "" ? [] : [{ text, start: 0, end: text.length }]);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(
    [...byContent.keys()]
      .sort((a, b) => b.length - a.length)
      .map(escape)
      .join("|"),
    "gu",
  );
  return (text) => {
    const pieces: TextPiece[] = [];
    let at = 0;
    let skipLeadingSpace = false;
    for (const match of text.matchAll(pattern)) {
      const token = byContent.get(match[0])!;
      let start = at;
      if (skipLeadingSpace) while (start < match.index && /\s/u.test(text[start]!)) start++;
      let end = match.index;
      if (token.lstrip) while (end > start && /\s/u.test(text[end - 1]!)) end--;
      if (end > start) pieces.push({ text: text.slice(start, end), start, end });
      pieces.push({ id: token.id, start: match.index, end: match.index + match[0].length });
      at = match.index + match[0].length;
      skipLeadingSpace = token.rstrip === true;
    }
    let start = at;
    if (skipLeadingSpace) while (start < text.length && /\s/u.test(text[start]!)) start++;
    if (start < text.length) pieces.push({ text: text.slice(start), start, end: text.length });
    return pieces;
  };
}

/**
 * Tokenizer files with `tokens` added as special tokens where the vocabulary lacks them (Hugging Face's
 * `add_special_tokens`): each takes the next free id, in tokenizer.json's added_tokens and, when the config lists
 * them, tokenizer_config.json's added_tokens_decoder. `added` holds the new tokens' ids, in order (empty: nothing
 * was missing, and `files` is the input). `rstrip`: each takes the whitespace after it.
 */
export function withSpecialTokens(
  files: TokenizerFiles,
  tokens: readonly string[],
  label = "tokenizer",
  options: { rstrip?: boolean } = {},
): { files: TokenizerFiles; added: SpecialToken[] } {
  const current = createTokenizer(files, label);
  const missing = tokens.filter((t) => current.tokenToId(t) === undefined);
  if (missing.length === 0) return { files, added: [] };
  const tokenizer = structuredClone(files.tokenizer);
  const config = structuredClone(files.config);
  const added = missing.map((text, i) => ({ id: current.vocabSize + i, text }));
  const entries = added.map(({ id, text }) => ({
    id,
    content: text,
    single_word: false,
    lstrip: false,
    rstrip: options.rstrip ?? false,
    normalized: false,
    special: true,
  }));
  tokenizer.added_tokens = [...((tokenizer.added_tokens as unknown[] | undefined) ?? []), ...entries];
  const decoder = config.added_tokens_decoder;
  if (typeof decoder === "object" && decoder !== null) {
    for (const { id, ...entry } of entries) (decoder as Record<string, unknown>)[String(id)] = entry;
  }
  return { files: { tokenizer, config }, added };
}
