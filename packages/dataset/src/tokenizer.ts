import { Tokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "./errors.js";
import { checkTokenizerJson } from "./tokenizer-check.js";

/** What the dataset pipeline needs from a tokenizer: text ↔ ids and the special tokens. */
export interface TextTokenizer {
  encode(text: string): number[];
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
  checkTokenizerJson(json, `${label}: tokenizer.json`);
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
  for (const added of (json.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? []) {
    if (added.special) specialTokens.set(added.content, added.id);
  }
  const special = (key: string): SpecialToken | undefined => {
    const raw = config[key];
    const text = typeof raw === "string" ? raw : typeof raw === "object" && raw !== null && "content" in raw ? String((raw as { content: unknown }).content) : undefined;
    if (text === undefined) return undefined;
    const id = tokenizer.token_to_id(text);
    if (id === undefined) throw new TokenizerError(`${label}: tokenizer_config.json ${key} "${text}" is not in the vocabulary`);
    return { id, text };
  };
  const bos = special("bos_token");
  const eos = special("eos_token");
  const pad = special("pad_token");
  const addBos =
    typeof config.add_bos_token === "boolean" ? config.add_bos_token : bos !== undefined && postProcessorAddsBos(json.post_processor, bos.text);
  const chatTemplate = typeof config.chat_template === "string" ? config.chat_template : undefined;

  return {
    encode: (text) => guard("encode text", () => tokenizer.encode(text, { add_special_tokens: false }).ids),
    decode: (ids) => (ids.length === 0 ? "" : guard("decode ids", () => tokenizer.decode(ids as number[], { skip_special_tokens: false, clean_up_tokenization_spaces: false }))),
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

function postProcessorAddsBos(postProcessor: unknown, bosText: string): boolean {
  const single = (postProcessor as { single?: { SpecialToken?: { id: string } }[] } | null)?.single;
  return Array.isArray(single) && single[0]?.SpecialToken?.id === bosText;
}
