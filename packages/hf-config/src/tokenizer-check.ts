// tokenizer.json is input from whoever published the model, and @huggingface/tokenizers compiles every regular
// expression in it and builds its tables from every token as given. A pattern such as `(\S+\s*)*!` backtracks for
// longer than any run lasts and a single 10 MB token costs gigabytes, so the file is checked before it is loaded:
// only the split patterns llama.cpp knows by name, and bounded sizes. One check, used by the dataset pipeline (train,
// prepare, validate) and by GGUF export; it throws HfConfigError naming the file and field.
import { HfConfigError } from "./errors.js";

export type PreTokenizerName = "qwen2" | "llama-bpe" | "gpt-2";

/**
 * Split patterns as tokenizer.json writes them (Oniguruma/Rust syntax), by the name llama.cpp gives each
 * (`tokenizer.ggml.pre`). They are the only regular expressions a tokenizer.json may hold: llama.cpp serves a model
 * with its own copy of the named pattern, so a pattern it does not know would tokenize differently once exported.
 */
export const PRETOKENIZER_PATTERNS: Readonly<Record<PreTokenizerName, string>> = {
  "gpt-2": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  "llama-bpe":
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

/** llama.cpp's name for a split pattern, or undefined for a pattern it does not know. */
export function preTokenizerName(pattern: string): PreTokenizerName | undefined {
  return (Object.keys(PRETOKENIZER_PATTERNS) as PreTokenizerName[]).find((name) => PRETOKENIZER_PATTERNS[name] === pattern);
}

/** The most a tokenizer file may hold. Real ones stay far below: Gemma 3 has 262,144 ids, 514,906 merges and a 33 MB tokenizer.json; no released vocabulary has a token over 128 characters. */
export const TOKENIZER_LIMITS = {
  fileBytes: 256 * 2 ** 20,
  ids: 2 ** 21,
  merges: 2 ** 22,
  tokenChars: 1024,
  /** Nesting of normalizer/pre-tokenizer/decoder sequences. */
  depth: 32,
} as const;

/**
 * Checks a parsed tokenizer.json before anything is built from it; throws an HfConfigError naming the file and field.
 * `unknownPatterns`: accept regular expressions llama.cpp does not know (for a caller that never compiles them).
 */
export function checkTokenizerJson(
  json: Record<string, unknown>,
  label = "tokenizer.json",
  options: { unknownPatterns?: boolean } = {},
): void {
  const fail = (field: string, message: string): never => {
    throw new HfConfigError(message, label, field);
  };
  const checkToken = (token: unknown, field: string): void => {
    if (typeof token !== "string") fail(field, `expected a string, got ${typeof token}`);
    if ((token as string).length > TOKENIZER_LIMITS.tokenChars)
      fail(field, `a token of ${(token as string).length} characters (at most ${TOKENIZER_LIMITS.tokenChars})`);
  };
  const checkId = (id: unknown, field: string): void => {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= TOKENIZER_LIMITS.ids) {
      fail(field, `id ${JSON.stringify(id)} is not an integer in 0..${TOKENIZER_LIMITS.ids - 1}`);
    }
  };

  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) fail("added_tokens", "expected an array");
  if ((added as unknown[]).length > TOKENIZER_LIMITS.ids)
    fail("added_tokens", `${(added as unknown[]).length} tokens (at most ${TOKENIZER_LIMITS.ids})`);
  (added as unknown[]).forEach((token, i) => {
    if (typeof token !== "object" || token === null) fail(`added_tokens[${i}]`, "expected an object");
    checkToken((token as Record<string, unknown>).content, `added_tokens[${i}].content`);
    checkId((token as Record<string, unknown>).id, `added_tokens[${i}].id`);
  });

  const model = json.model as Record<string, unknown> | null | undefined;
  if (typeof model === "object" && model !== null) {
    const vocab = model.vocab;
    if (Array.isArray(vocab)) {
      // Unigram: [token, score] pairs, the id is the position.
      if (vocab.length > TOKENIZER_LIMITS.ids) fail("model.vocab", `${vocab.length} tokens (at most ${TOKENIZER_LIMITS.ids})`);
      vocab.forEach((entry, i) => checkToken(Array.isArray(entry) ? entry[0] : entry, `model.vocab[${i}]`));
    } else if (typeof vocab === "object" && vocab !== null) {
      let count = 0;
      for (const token in vocab) {
        if (++count > TOKENIZER_LIMITS.ids) fail("model.vocab", `more than ${TOKENIZER_LIMITS.ids} tokens`);
        checkToken(token, "model.vocab");
        checkId((vocab as Record<string, unknown>)[token], `model.vocab[${JSON.stringify(token.slice(0, 40))}]`);
      }
    }
    const merges = model.merges;
    if (merges !== undefined && merges !== null) {
      if (!Array.isArray(merges)) fail("model.merges", "expected an array");
      if ((merges as unknown[]).length > TOKENIZER_LIMITS.merges)
        fail("model.merges", `${(merges as unknown[]).length} merges (at most ${TOKENIZER_LIMITS.merges})`);
    }
  }

  if (!options.unknownPatterns)
    for (const section of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) checkPatterns(json[section], section, 0, fail);
}

const isPattern = (value: unknown): boolean =>
  typeof value === "object" &&
  value !== null &&
  (typeof (value as { String?: unknown }).String === "string" || typeof (value as { Regex?: unknown }).Regex === "string");

function checkPatterns(node: unknown, field: string, depth: number, fail: (field: string, message: string) => never): void {
  if (typeof node !== "object" || node === null) return;
  if (depth > TOKENIZER_LIMITS.depth) fail(field, `nested more than ${TOKENIZER_LIMITS.depth} levels deep`);
  if (Array.isArray(node)) {
    node.forEach((item, i) => checkPatterns(item, `${field}[${i}]`, depth + 1, fail));
    return;
  }
  const { type, pattern } = node as { type?: unknown; pattern?: unknown };
  if ((pattern !== undefined || type === "Split" || type === "Replace") && !isPattern(pattern)) {
    fail(`${field}.pattern`, 'expected {"String": "..."} or {"Regex": "..."}');
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === "Regex") {
      if (typeof value !== "string") fail(`${field}.Regex`, "expected a string");
      if (preTokenizerName(value as string) === undefined) {
        const shown = (value as string).length > 80 ? `${(value as string).slice(0, 80)}...` : (value as string);
        fail(
          `${field}.Regex`,
          `the regular expression ${JSON.stringify(shown)} is not one llama.cpp knows (${Object.keys(PRETOKENIZER_PATTERNS).join(", ")}); ` +
            "an unknown pattern could hang tokenization and would not be served the same way after export",
        );
      }
    } else checkPatterns(value, `${field}.${key}`, depth + 1, fail);
  }
}
