// Our own BPE tokenizer trainer (@neural/dataset) declares a pre-tokenizer llama.cpp knows by name; this proves that
// llama.cpp then tokenizes exactly as @huggingface/tokenizers does during training (DESIGN: test it, don't assume it).
import { createTokenizer, trainTokenizer, saveTokenizer, CHATML_SPECIAL_TOKENS, type PreTokenizerName } from "@neural/dataset";
import { convertHfToGguf } from "@neural/gguf-writer";
import { withLlamaModel } from "@neural/llama";
import { saveSafetensors } from "@neural/safetensors";
import { MIXED_TEXTS } from "@neural/testkit";
import fc from "fast-check";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveTrainConfig } from "./train-config.js";
import { createScratchModel, scratchConfig } from "./scratch-model.js";

const CORPUS = [
  ...MIXED_TEXTS,
  "The model answers TLP:AMBER when sharing is limited.",
  "MATCH (a)-[:KNOWS]->(b) WHERE a.age > 30 RETURN b",
  "x = 12345 + 678; // numbers\n",
];

describe.each(["qwen2", "llama-bpe", "gpt-2"] as const)("a tokenizer we train with the %s split", (pretokenizer: PreTokenizerName) => {
  it("tokenizes in llama.cpp exactly as in training", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), `tok-${pretokenizer}-`));
    const trained = await trainTokenizer(Array.from({ length: 30 }, () => CORPUS).flat(), { vocabSize: 600, pretokenizer });
    const tokenizer = createTokenizer({ tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig });
    // a tiny model around it, so llama.cpp can load the GGUF
    const { config } = resolveTrainConfig({
      flags: { from_scratch: true, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_length: 256 },
    });
    const raw = scratchConfig(config, tokenizer.vocabSize, { eos: tokenizer.eos!.id, pad: tokenizer.pad!.id });
    const model = createScratchModel(raw, 1);
    await saveSafetensors(
      path.join(dir, "model.safetensors"),
      [...model.tensors].map(([name, t]) => ({ name, dtype: "F32" as const, shape: t.shape, data: t.data })),
    );
    writeFileSync(path.join(dir, "config.json"), JSON.stringify(raw));
    await saveTokenizer(dir, trained);
    const gguf = path.join(dir, "model.gguf");
    await convertHfToGguf({ modelDir: dir, output: gguf, outType: "F32" });

    const random = fc.sample(
      fc
        .array(
          fc.oneof(
            fc.string({ unit: "binary", maxLength: 12 }),
            fc.constantFrom(...CHATML_SPECIAL_TOKENS, " ", "\n", "  ", "'s", "123", "TLP:RED"),
          ),
          { maxLength: 6 },
        )
        .map((p) => p.join("")),
      { numRuns: 120, seed: 7 },
    );
    await withLlamaModel(gguf, {}, async (llama) => {
      for (const text of [...MIXED_TEXTS, ...random]) {
        expect(await llama.tokenize(text, { special: true }), JSON.stringify(text)).toEqual(tokenizer.encode(text));
      }
    });
  }, 120_000);
});
