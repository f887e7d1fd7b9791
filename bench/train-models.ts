// Models and data for bench/train.bench.ts: bench-small (DESIGN.md), Qwen2.5-0.5B's and Qwen3-0.6B's shapes, random
// weights generated when read (nothing held in JavaScript), and token batches.
import type { Batch } from "@neural/dataset";
import { PUBLISHED_CONFIGS, configWeights, parseConfig, type ModelConfig, type WeightSource, seededRandom } from "@neural/lora-trainer";

export type ModelName = "bench-small" | "qwen2.5-0.5b" | "qwen3-0.6b";

export function modelConfig(name: ModelName, layers?: number): ModelConfig {
  if (name === "qwen3-0.6b")
    return parseConfig({ ...PUBLISHED_CONFIGS["Qwen/Qwen3-0.6B"], ...(layers ? { num_hidden_layers: layers } : {}) });
  if (name === "bench-small") {
    return parseConfig({
      architectures: ["LlamaForCausalLM"],
      vocab_size: 8192,
      hidden_size: 512,
      intermediate_size: 1408,
      num_hidden_layers: layers ?? 8,
      num_attention_heads: 8,
      num_key_value_heads: 8,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
    });
  }
  return parseConfig({
    architectures: ["Qwen2ForCausalLM"],
    vocab_size: 151936,
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: layers ?? 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  });
}

/** The LoRA targets of each bench: q,k,v,o for bench-small (as the PyTorch anchor), every linear layer for Qwen. */
export const benchTargets = (name: ModelName): string[] =>
  name === "bench-small"
    ? ["q_proj", "k_proj", "v_proj", "o_proj"]
    : ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

export function random(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() - 0.5;
}
const hash = (s: string): number => [...s].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261);

/** Every HF tensor of a config, random (uniform, scaled like an initialization; norms near 1; biases small). */
export function randomSource(c: ModelConfig): WeightSource {
  const { names, shape } = configWeights(c);
  return {
    names,
    shape,
    read: (n) => {
      const dims = shape(n);
      const r = random(hash(n));
      const norm = n.endsWith("norm.weight");
      const scale = dims.length === 1 ? (norm ? 0.2 : 0.02) : 2 / Math.sqrt(dims[1]!);
      return Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (norm ? 1 : 0) + r() * scale);
    },
  };
}

/** One batch of random tokens as the trainer's data gives it, every token after a row's first learned. */
export function tokenBatch(vocab: number, batch: number, seq: number, seed = 7): Batch {
  const r = random(seed);
  const inputIds = Int32Array.from({ length: batch * seq }, () => Math.floor((r() + 0.5) * vocab));
  return {
    batchSize: batch,
    seqLen: seq,
    inputIds,
    labels: inputIds.map((id, i) => (i % seq === 0 ? -100 : id)),
    positionIds: Int32Array.from({ length: batch * seq }, (_, i) => i % seq),
    segmentIds: new Int32Array(batch * seq).fill(1),
    tokens: batch * seq,
    learnedTokens: batch * (seq - 1),
  };
}
