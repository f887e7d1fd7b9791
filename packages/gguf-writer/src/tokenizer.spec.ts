// Tokenizer equality beyond the fixed texts: random mixes of ASCII, whitespace runs, accents, CJK, emoji, digits,
// contractions and ChatML markers, tokenized by llama.cpp (our GGUF) and by @huggingface/tokenizers (the same
// tokenizer.json), for the SentencePiece-style tokenizers (Llama's, Gemma's) and the byte-level BPE ones.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Tokenizer } from "@huggingface/tokenizers";
import { LlamaModelProcess } from "@neural/llama";
import { writeTinyModel, type Family } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { convertHfToGguf } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "gguf-tok-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const PIECES = [
  "a",
  "e",
  "the",
  "The",
  " ",
  "  ",
  "\n",
  "\n\n",
  "\t",
  " \n",
  "hello",
  "world",
  "Hello",
  "MATCH",
  "(n:Person)",
  "->",
  "'s",
  "'ll",
  "'RE",
  "I'm",
  "1",
  "23",
  "456",
  "7890",
  "3.14",
  ".",
  ",",
  "!",
  "?",
  "...",
  "()",
  "{}",
  "=>",
  "==",
  "#",
  "é",
  "ü",
  "ß",
  "café",
  "naïve",
  "日本",
  "語",
  "中文",
  "🚀",
  "🦙",
  "✅",
  "😶‍🌫️",
  "Ω",
  "ж",
  "<|im_start|>",
  "<|im_end|>",
  "user",
  "assistant",
  "<s>",
  "</s>",
  "\u00a0",
];

describe.each<[string, Family]>([
  ["SentencePiece-style (llama)", "llama"],
  ["SentencePiece-style without a space prefix (Gemma 3)", "gemma3"],
  ["byte-level BPE, qwen2", "qwen2"],
  ["byte-level BPE, llama-bpe", "llama3"],
  ["byte-level BPE, smollm (digits one by one)", "smollm2"],
])("%s", (_label, family) => {
  it("llama.cpp tokenizes random mixed text exactly as @huggingface/tokenizers", async () => {
    const m = await writeTinyModel(join(root, family), { family, seed: 1, layers: 1 });
    const out = join(root, `${family}.gguf`);
    await convertHfToGguf({ modelDir: m.dir, output: out, outType: "F32" });
    const hf = new Tokenizer(
      JSON.parse(await readFile(join(m.dir, "tokenizer.json"), "utf8")),
      JSON.parse(await readFile(join(m.dir, "tokenizer_config.json"), "utf8")),
    );
    const lm = await LlamaModelProcess.load(out);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 24 }), async (parts) => {
          const text = parts.join("").normalize("NFC");
          expect(await lm.tokenize(text), JSON.stringify(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids);
        }),
        { numRuns: 150, seed: 42 },
      );
    } finally {
      await lm.close();
    }
  });
});
