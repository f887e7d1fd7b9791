// The presets' base models as published: their config.json parses to the sizes their model cards state, with each
// family's quirks read as transformers reads them.
import { hfTensorShapes } from "@neural/hf-config";
import { describe, expect, it } from "vitest";
import { PRESETS } from "../train-config.js";
import { isSlidingLayer, parseConfig, usesRope } from "./config.js";
import { PUBLISHED_CONFIGS } from "./published.js";

const count = (id: string, embeddings: boolean) => {
  const config = parseConfig(PUBLISHED_CONFIGS[id]);
  return hfTensorShapes(config)
    .filter((t) => embeddings || t.kind !== "embedding")
    .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
};

describe("published configs", () => {
  it("every preset added for the 2025 families has its base model's config built in", () => {
    for (const name of ["qwen3_0_6b", "qwen3_1_7b", "qwen3_4b", "gemma3_270m", "gemma3_1b", "smollm2_360m", "smollm2_1_7b"]) {
      expect(PUBLISHED_CONFIGS[PRESETS[name]!.base_model!], name).toBeDefined();
    }
  });

  it("parse to the parameter counts of the model cards", () => {
    // Qwen3 cards: non-embedding parameters 0.44B, 1.4B, 3.6B
    expect(count("Qwen/Qwen3-0.6B", false) / 1e9).toBeCloseTo(0.44, 2);
    expect(count("Qwen/Qwen3-1.7B", false) / 1e9).toBeCloseTo(1.4, 1);
    expect(count("Qwen/Qwen3-4B", false) / 1e9).toBeCloseTo(3.6, 1);
    // Gemma 3 270M: 170M embedding and 100M transformer parameters; 1B
    expect(count("google/gemma-3-270m-it", true) - count("google/gemma-3-270m-it", false)).toBe(262144 * 640);
    expect(count("google/gemma-3-270m-it", false) / 1e6).toBeCloseTo(100, -1);
    expect(count("google/gemma-3-1b-it", true) / 1e9).toBeCloseTo(1.0, 1);
    // SmolLM2: 362M and 1.7B
    expect(count("HuggingFaceTB/SmolLM2-360M-Instruct", true)).toBe(361_821_120);
    expect(count("HuggingFaceTB/SmolLM2-1.7B-Instruct", true) / 1e9).toBeCloseTo(1.7, 1);
  });

  it("read each family's quirks", () => {
    const qwen3 = parseConfig(PUBLISHED_CONFIGS["Qwen/Qwen3-0.6B"]);
    expect([
      qwen3.family,
      qwen3.headDim,
      qwen3.hiddenSize / qwen3.numHeads,
      qwen3.qkNorm,
      qwen3.tieEmbeddings,
      qwen3.slidingWindow,
    ]).toEqual(["qwen3", 128, 64, true, true, undefined]);
    const gemma = parseConfig(PUBLISHED_CONFIGS["google/gemma-3-270m-it"]);
    expect([
      gemma.family,
      gemma.tieEmbeddings,
      gemma.activation,
      gemma.normWeightOffset,
      gemma.embeddingScale,
      gemma.attentionScale,
    ]).toEqual(["gemma3", true, "gelu_tanh", 1, Math.sqrt(640), 1 / 16]);
    expect([gemma.slidingWindow?.size, gemma.slidingRopeTheta, gemma.ropeTheta]).toEqual([512, 10000, 1e6]);
    expect(Array.from({ length: 18 }, (_, l) => isSlidingLayer(gemma, l))).toEqual(Array.from({ length: 18 }, (_, l) => l % 6 !== 5));
    const gemma1b = parseConfig(PUBLISHED_CONFIGS["google/gemma-3-1b-it"]);
    expect([gemma1b.slidingWindow?.layers, gemma1b.eosTokenIds, gemma1b.bosTokenId]).toEqual([
      { kind: "all-but-every", period: 6 },
      [1, 106],
      2,
    ]);
    const smollm2 = parseConfig(PUBLISHED_CONFIGS["HuggingFaceTB/SmolLM2-360M-Instruct"]);
    expect([smollm2.family, smollm2.tieEmbeddings, smollm2.ropeTheta, smollm2.rmsNormEps]).toEqual(["llama", true, 100000, 1e-5]);
    expect(Array.from({ length: 4 }, (_, l) => usesRope(smollm2, l))).toEqual([true, true, true, true]);
  });
});
