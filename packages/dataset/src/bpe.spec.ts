import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHATML_SPECIAL_TOKENS, trainTokenizer } from "./bpe.js";
import { createTokenizer } from "./tokenizer.js";
import { CORPUS, testTokenizer } from "./fixtures.spec-helper.js";

describe("BPE tokenizer trainer", () => {
  it("round-trips arbitrary Unicode exactly: decode(encode(x)) == x", async () => {
    const tokenizer = await testTokenizer();
    const withSpecials = fc
      .array(fc.oneof(fc.string({ unit: "binary", maxLength: 30 }), fc.constantFrom(...CHATML_SPECIAL_TOKENS, "\n", " ", "\r\n", "'s")), {
        maxLength: 8,
      })
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme", maxLength: 100 }), withSpecials),
        (text) => {
          expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("encodes each special token as one id, marks them special, and sets eos/pad for ChatML", async () => {
    const tokenizer = await testTokenizer();
    for (const token of CHATML_SPECIAL_TOKENS) {
      const ids = tokenizer.encode(`a${token}b`);
      expect(ids).toContain(tokenizer.tokenToId(token));
      expect(tokenizer.encode(token)).toEqual([tokenizer.specialTokens.get(token)]);
    }
    expect(tokenizer.eos!.text).toBe("<|im_end|>");
    expect(tokenizer.pad!.text).toBe("<|endoftext|>");
    expect(tokenizer.chatTemplate).toContain("<|im_start|>");
  });

  it("learns merges that shorten text, hits the vocabulary size, and is deterministic", async () => {
    const texts = Array.from({ length: 30 }, () => CORPUS).flat();
    const a = await trainTokenizer(texts, { vocabSize: 500 });
    const b = await trainTokenizer(texts, { vocabSize: 500 });
    expect(JSON.stringify(a.tokenizerJson)).toBe(JSON.stringify(b.tokenizerJson));
    expect(a.vocabSize).toBe(500);
    const vocab = Object.keys((a.tokenizerJson.model as { vocab: Record<string, number> }).vocab);
    expect(new Set(vocab).size).toBe(vocab.length); // llama.cpp aborts on duplicate token strings
    const tokenizer = createTokenizer({ tokenizer: a.tokenizerJson, config: a.tokenizerConfig });
    const sample = CORPUS.join("\n");
    expect(tokenizer.encode(sample).length).toBeLessThan(new TextEncoder().encode(sample).length / 2.5);
  });

  it("supports the GPT-2 and Llama-3 split patterns too", async () => {
    for (const pretokenizer of ["gpt-2", "llama-bpe"] as const) {
      const trained = await trainTokenizer(CORPUS, { vocabSize: 300, pretokenizer, minFrequency: 1 });
      const tokenizer = createTokenizer({ tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig });
      for (const text of CORPUS) expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
  });

  it("refuses a vocabulary too small for the bytes and special tokens", async () => {
    await expect(trainTokenizer(["x"], { vocabSize: 100 })).rejects.toThrow(/at least 259/);
  });
});
