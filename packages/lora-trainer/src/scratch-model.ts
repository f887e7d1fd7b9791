// A new model for training from scratch: a Hugging Face config.json for the chosen family and sizes, and seeded
// random weights initialized as transformers does (normal(0, 0.02) for matrices, ones for norms, zeros for biases).
import { Random } from "@neural/dataset";
import { hfTensorShapes } from "@neural/hf-config";
import { parseConfig, type ModelConfig } from "./models/config.js";
import { memorySource, type WeightSource } from "./models/weights.js";
import type { ModelFamilyName, TrainConfig } from "./train-config.js";

const ARCHITECTURES: Record<ModelFamilyName, string> = {
  llama: "LlamaForCausalLM",
  mistral: "MistralForCausalLM",
  qwen2: "Qwen2ForCausalLM",
  phi3: "Phi3ForCausalLM",
};

export interface ScratchModel {
  rawConfig: Record<string, unknown>;
  config: ModelConfig;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  source: WeightSource;
}

/** config.json for a new model of `family`; `vocabSize` is the tokenizer's (ids of special tokens included). */
export function scratchConfig(
  c: TrainConfig,
  vocabSize: number,
  ids: { bos?: number; eos?: number; pad?: number },
): Record<string, unknown> {
  const family = c.model_family;
  const heads = c.num_attention_heads!;
  return {
    architectures: [ARCHITECTURES[family]],
    model_type: family,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: heads,
    num_key_value_heads: c.num_key_value_heads ?? heads,
    vocab_size: c.vocab_size ?? vocabSize,
    max_position_embeddings: Math.max(c.max_length, 256),
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    hidden_act: "silu",
    initializer_range: 0.02,
    tie_word_embeddings: family === "qwen2",
    torch_dtype: "float32",
    ...(ids.bos !== undefined ? { bos_token_id: ids.bos } : {}),
    ...(ids.eos !== undefined ? { eos_token_id: ids.eos } : {}),
    ...(ids.pad !== undefined ? { pad_token_id: ids.pad } : {}),
    ...(family === "phi3" ? { original_max_position_embeddings: Math.max(c.max_length, 256), sliding_window: null } : {}),
    ...(family === "mistral" ? { sliding_window: null } : {}),
  };
}

export function createScratchModel(rawConfig: Record<string, unknown>, seed: number): ScratchModel {
  const config = parseConfig(rawConfig);
  const random = new Random(seed);
  const std = 0.02;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const normal = (shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i += 2) {
      // Box–Muller: two normals from two uniforms
      const r = Math.sqrt(-2 * Math.log(1 - random.next()));
      const t = 2 * Math.PI * random.next();
      data[i] = r * Math.cos(t) * std;
      if (i + 1 < data.length) data[i + 1] = r * Math.sin(t) * std;
    }
    return data;
  };
  for (const { name, shape, kind } of hfTensorShapes(config)) {
    // norms start at 1 (Gemma's, stored as w − 1, at 0), biases at 0
    const data =
      kind === "norm" || kind === "bias"
        ? new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(kind === "norm" ? 1 - config.normWeightOffset : 0)
        : normal(shape);
    tensors.set(name, { shape, data });
  }
  return { rawConfig, config, tensors, source: memorySource(tensors) };
}
