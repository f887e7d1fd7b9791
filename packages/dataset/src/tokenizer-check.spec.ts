import { describe, expect, it } from "vitest";
import { trainTokenizer } from "./bpe.js";
import { CORPUS } from "./fixtures.spec-helper.js";
import { TokenizerError } from "./errors.js";
import { checkTokenizerJson, preTokenizerName, PRETOKENIZER_PATTERNS, TOKENIZER_LIMITS } from "@neural/hf-config";
import { createTokenizer } from "./tokenizer.js";

const trained = await trainTokenizer(CORPUS, { vocabSize: 300 });
/** A fresh copy of a real tokenizer.json (our trainer's, Qwen2 split) to break. */
const tokenizerJson = (): Record<string, any> => structuredClone(trained.tokenizerJson);
const load = (json: Record<string, unknown>) => createTokenizer({ tokenizer: json, config: trained.tokenizerConfig }, "model");

const REDOS = "(\\S+\\s*)*!";

describe("checkTokenizerJson", () => {
  it("accepts the tokenizers we write, and knows llama.cpp's name for each split pattern", () => {
    for (const pretokenizer of ["qwen2", "llama-bpe", "gpt-2"] as const) {
      expect(preTokenizerName(PRETOKENIZER_PATTERNS[pretokenizer])).toBe(pretokenizer);
    }
    expect(() => load(tokenizerJson())).not.toThrow();
  });

  it("refuses a regular expression llama.cpp does not know, wherever it is, before compiling it", () => {
    const split = tokenizerJson();
    split.pre_tokenizer.pretokenizers[0].pattern.Regex = REDOS;
    expect(() => load(split)).toThrow(TokenizerError);
    expect(() => load(split)).toThrow(
      /^model: tokenizer\.json: pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex: the regular expression "\(\\\\S\+\\\\s\*\)\*!" is not one llama\.cpp knows \(gpt-2, llama-bpe, qwen2\)/,
    );
    const normalizer = tokenizerJson();
    normalizer.normalizer = { type: "Sequence", normalizers: [{ type: "Replace", pattern: { Regex: REDOS }, content: "" }] };
    expect(() => load(normalizer)).toThrow(/normalizer\.normalizers\[0\]\.pattern\.Regex/);
    const decoder = tokenizerJson();
    decoder.decoder = { type: "Replace", pattern: { Regex: "(a+)+$" }, content: "" };
    expect(() => load(decoder)).toThrow(/decoder\.pattern\.Regex/);
    // A literal (String) pattern is escaped by the library: always safe.
    const literal = tokenizerJson();
    literal.decoder = { type: "Replace", pattern: { String: "(a+)+$" }, content: "" };
    expect(() => load(literal)).not.toThrow();
    const noPattern = tokenizerJson();
    noPattern.pre_tokenizer.pretokenizers[0].pattern = {};
    expect(() => load(noPattern)).toThrow(
      /pre_tokenizer\.pretokenizers\[0\]\.pattern: expected \{"String": "\.\.\."\} or \{"Regex": "\.\.\."\}/,
    );
  });

  it("bounds token lengths, ids, counts and nesting", () => {
    const longAdded = tokenizerJson();
    longAdded.added_tokens.push({
      id: 299,
      content: "x".repeat(10 * 2 ** 20),
      special: false,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
    });
    expect(() => load(longAdded)).toThrow(/added_tokens\[\d+\]\.content: a token of 10485760 characters \(at most 1024\)/);
    const hugeId = tokenizerJson();
    hugeId.added_tokens[0].id = 1e12;
    expect(() => load(hugeId)).toThrow(/added_tokens\[0\]\.id: id 1000000000000 is not an integer in 0\.\.2097151/);
    const vocabId = tokenizerJson();
    vocabId.model.vocab.a = -1;
    expect(() => load(vocabId)).toThrow(/model\.vocab\["a"\]: id -1/);
    const longVocab = tokenizerJson();
    longVocab.model.vocab["y".repeat(2000)] = 5;
    expect(() => load(longVocab)).toThrow(/model\.vocab: a token of 2000 characters/);
    let deep: Record<string, unknown> = { type: "NFC" };
    for (let i = 0; i < 100; i++) deep = { type: "Sequence", normalizers: [deep] };
    const nested = tokenizerJson();
    nested.normalizer = deep;
    expect(() => load(nested)).toThrow(/nested more than 32 levels deep/);
    expect(() => checkTokenizerJson({ added_tokens: "x" })).toThrow(/added_tokens: expected an array/);
    expect(() => checkTokenizerJson({ model: { merges: {} } })).toThrow(/model\.merges: expected an array/);
    expect(TOKENIZER_LIMITS.ids).toBeGreaterThan(262_144); // Gemma 3, the largest vocabulary we serve
  });

  it("lets a caller that never compiles the patterns accept an unknown one", () => {
    const split = tokenizerJson();
    split.pre_tokenizer.pretokenizers[0].pattern.Regex = REDOS;
    expect(() => checkTokenizerJson(split, "tokenizer.json", { unknownPatterns: true })).not.toThrow();
  });
});
