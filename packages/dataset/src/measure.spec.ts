import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeExample, measureTokens, tokenLength } from "./encode.js";
import type { Example } from "./formats.js";
import { testTokenizer } from "./fixtures.spec-helper.js";
import { createTemplate } from "./templates.js";
import type { TextTokenizer } from "./tokenizer.js";

const template = createTemplate("chatml");
const chat = (question: string, answer: string): Example => ({
  format: "chat",
  kind: "chat",
  messages: [
    { role: "user", content: question },
    { role: "assistant", content: answer },
  ],
});

/** The tokenizer, counting the characters it is given. */
function counting(tokenizer: TextTokenizer): { tokenizer: TextTokenizer; chars: () => number } {
  let chars = 0;
  return {
    tokenizer: {
      ...tokenizer,
      encode: (text) => {
        chars += text.length;
        return tokenizer.encode(text);
      },
    },
    chars: () => chars,
  };
}

const WORDS = ["alpha", "Grüße", "日本語", "MATCH", "(p:Person)", "return", "😀", "\n", "  ", "x=1;", "'s", "TLP:AMBER", "12345"];
const longText = fc.array(fc.constantFrom(...WORDS), { minLength: 1500, maxLength: 6000 }).map((words) => words.join(" "));

describe("bounded work per row", () => {
  it("drops and truncates exactly as tokenizing the whole row would", async () => {
    const tokenizer = await testTokenizer();
    await fc.assert(
      fc.property(longText, fc.string({ maxLength: 30 }), fc.double({ min: 0.2, max: 1.6, noNaN: true }), (text, question, share) => {
        const example = chat(question || "q", text);
        const whole = tokenLength(example, template, tokenizer);
        const full = encodeExample(example, { template, tokenizer, maxLength: 1_000_000 }).example!;
        for (const maxLength of [Math.max(1, Math.floor(whole * share)), whole, whole - 1]) {
          const dropped = encodeExample(example, { template, tokenizer, maxLength });
          expect(dropped.dropped === "too_long").toBe(whole > maxLength);
          if (dropped.dropped) expect(dropped.length).toBeGreaterThan(maxLength);
          const cut = encodeExample(example, { template, tokenizer, maxLength, overlong: "truncate" }).example!;
          expect([...cut.inputIds]).toEqual([...full.inputIds.subarray(0, maxLength)]);
          expect([...cut.labels]).toEqual([...full.labels.subarray(0, maxLength)]);
          const measured = measureTokens(example, template, tokenizer, maxLength);
          if (measured <= 2 * maxLength) expect(measured).toBe(whole);
          else expect(whole).toBeGreaterThan(maxLength);
        }
      }),
      { numRuns: 12, seed: 16 },
    );
  }, 120_000);

  it("a row far longer than max_length is never tokenized whole", async () => {
    const base = await testTokenizer();
    const row = chat("Summarize this.", "The quick brown fox jumps over the lazy dog. ".repeat(120_000)); // 5.4 M characters
    const policies = ["drop", "truncate"] as const;
    for (const overlong of policies) {
      const { tokenizer, chars } = counting(base);
      const result = encodeExample(row, { template, tokenizer, maxLength: 512, overlong });
      expect(result.dropped ?? "kept").toBe(overlong === "drop" ? "too_long" : "kept");
      if (result.example) expect(result.example.inputIds.length).toBe(512);
      // Characters for about 2 × 512 tokens, whatever the row's length.
      expect(chars()).toBeLessThan(100_000);
    }
    const { tokenizer, chars } = counting(base);
    expect(measureTokens(row, template, tokenizer, 512)).toBeGreaterThan(512);
    expect(chars()).toBeLessThan(100_000);
  }, 60_000);

  it("a row longer than max_length tokens could ever cover is dropped without tokenizing", async () => {
    const { tokenizer, chars } = counting(await testTokenizer());
    const row = chat("q", "x".repeat(64 * tokenizer.maxTokenLength! * 4 + 1));
    expect(encodeExample(row, { template, tokenizer, maxLength: 64 })).toMatchObject({ dropped: "too_long" });
    expect(chars()).toBe(0);
  });
});
