// Fixtures for the trainer's specs: tiny random models held in memory, and batches.
import { hfTensorShapes } from "@neural/hf-config";
import { parseConfig, type ModelConfig } from "./models/config.js";
import { seededRandom } from "./models/decode.js";
import { memorySource, type WeightSource } from "./models/weights.js";

/** Uniform numbers in [-0.5, 0.5), seeded. */
export function uniform(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() - 0.5;
}

export const TINY = {
  hidden_size: 8,
  intermediate_size: 6,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 13,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
};

export function tinyConfig(
  architecture: "LlamaForCausalLM" | "Qwen2ForCausalLM" | "Phi3ForCausalLM",
  extra: Record<string, unknown> = {},
): ModelConfig {
  return parseConfig({
    ...TINY,
    architectures: [architecture],
    rope_theta: 10000,
    ...(architecture === "Qwen2ForCausalLM" ? { tie_word_embeddings: true } : {}),
    ...extra,
  });
}

/** Random HF-named tensors for a config (norms near 1, or near 0 where stored as w − 1; biases; embeddings larger). */
export function randomModel(
  config: ModelConfig,
  seed: number,
): { source: WeightSource; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const r = uniform(seed);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { name, shape, kind } of hfTensorShapes(config)) {
    const [scale, offset] =
      kind === "embedding" ? [2, 0] : kind === "norm" ? [0.4, 1 - config.normWeightOffset] : kind === "bias" ? [0.2, 0] : [0.5, 0];
    tensors.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + r() * scale) });
  }
  return { source: memorySource(tensors), tensors };
}

/** A packed batch of two rows: row 0 holds two examples, row 1 one example and padding. */
export function packedBatch(vocab: number, seq: number, seed: number) {
  const r = uniform(seed);
  const n = 2 * seq;
  const inputIds = new BigInt64Array(n);
  const positionIds = new BigInt64Array(n);
  const segmentIds = new BigInt64Array(n);
  const targets = new BigInt64Array(n).fill(-100n);
  const split = Math.floor(seq / 2);
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < seq; i++) {
      const k = b * seq + i;
      const padding = b === 1 && i >= seq - 2;
      const segment = padding ? 0 : b === 0 && i >= split ? 2 : 1;
      inputIds[k] = BigInt(Math.floor((r() + 0.5) * vocab));
      segmentIds[k] = BigInt(segment);
      positionIds[k] = BigInt(padding ? 0 : b === 0 && i >= split ? i - split : i);
    }
    for (let i = 0; i + 1 < seq; i++) {
      const k = b * seq + i;
      // learn the next token when it is in the same example, and skip a few to exercise the mask
      if (segmentIds[k] !== 0n && segmentIds[k + 1] === segmentIds[k] && i % 3 !== 1) targets[k] = inputIds[k + 1]!;
    }
  }
  const count = targets.reduce((c, t) => c + (t === -100n ? 0 : 1), 0);
  return { inputIds, positionIds, segmentIds, targets, count };
}
