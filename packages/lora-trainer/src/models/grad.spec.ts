// The gradient of a whole tiny transformer's loss (packed batch, masked labels) with respect to LoRA and base
// weights, against central finite differences of the same graph in float64 (ONNX Runtime): relative error < 1e-6.

import { describe, expect, it } from "vitest";
import { Graph, type Tensor } from "@neural/graph";
import { gradCheck } from "@neural/graph/testing";
import { parseConfig } from "./config.js";
import { buildForward, linearModules, nextTokenLoss } from "./transformer.js";
import { graphWeights, memorySource } from "./weights.js";
import { randomModel, uniform } from "../test-fixtures.js";

const base = {
  hidden_size: 8,
  intermediate_size: 6,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 13,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
};
const configs = {
  llama: { ...base, architectures: ["LlamaForCausalLM"], rope_theta: 10000 },
  llama3: {
    ...base,
    architectures: ["LlamaForCausalLM"],
    rope_theta: 500000,
    rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  mistral: { ...base, architectures: ["MistralForCausalLM"], rope_theta: 1e6, sliding_window: 3 },
  qwen2: { ...base, architectures: ["Qwen2ForCausalLM"], rope_theta: 1e6, tie_word_embeddings: true },
  phi3: { ...base, num_key_value_heads: 2, architectures: ["Phi3ForCausalLM"], rope_theta: 10000, partial_rotary_factor: 0.5 },
  // head_dim independent of hidden / heads, q/k norms, tied
  qwen3: { ...base, architectures: ["Qwen3ForCausalLM"], head_dim: 6, rope_theta: 1e6, tie_word_embeddings: true },
  // scaled embeddings, (1 + w) norms and sandwich norms, GeGLU, a sliding layer (window 2 over 6 tokens) then a full
  // one with their own rope bases, a query_pre_attn_scalar that is not head_dim, soft-capped logits
  gemma3: {
    ...base,
    architectures: ["Gemma3ForCausalLM"],
    head_dim: 4,
    query_pre_attn_scalar: 3,
    sliding_window: 2,
    layer_types: ["sliding_attention", "full_attention"],
    rope_theta: 1e6,
    rope_local_base_freq: 10000,
    hidden_activation: "gelu_pytorch_tanh",
    final_logit_softcapping: 5,
  },
  smollm2: { ...base, architectures: ["LlamaForCausalLM"], rope_theta: 100000, tie_word_embeddings: true },
  // layer 1 without rotary positions
  smollm3: { ...base, architectures: ["SmolLM3ForCausalLM"], no_rope_layers: [1, 0], rope_theta: 5e6, tie_word_embeddings: true },
};

/** The tiny model's loss on a packed batch, LoRA on every linear layer, every weight a graph input. */
function build(family: keyof typeof configs, recompute: boolean) {
  const config = parseConfig(configs[family]);
  const { tensors } = randomModel(config, 3);
  const feeds: Record<string, Float64Array | BigInt64Array> = {};
  for (const [name, { data }] of tensors) feeds[name] = Float64Array.from(data);
  const g = new Graph({ dims: { batch: 2, seq: 6 } });
  const ids = g.input("input_ids", "int64", ["batch", "seq"]);
  const pos = g.input("position_ids", "int64", ["batch", "seq"]);
  const seg = g.input("segment_ids", "int64", ["batch", "seq"]);
  const targets = g.input("targets", "int64", ["batch", "seq"]);
  // Row 0: two packed examples and a pad; row 1: one example.
  feeds.input_ids = BigInt64Array.from([1, 5, 7, 2, 9, 0, 3, 4, 12, 6, 11, 8], BigInt);
  feeds.position_ids = BigInt64Array.from([0, 1, 2, 0, 1, 0, 0, 1, 2, 3, 4, 5], BigInt);
  feeds.segment_ids = BigInt64Array.from([1, 1, 1, 2, 2, 0, 1, 1, 1, 1, 1, 1], BigInt);
  feeds.targets = BigInt64Array.from([5, 7, -100, 9, -100, -100, -100, 12, 6, 11, 8, -100], BigInt);
  const weights = graphWeights(g, memorySource(tensors), { dtype: "float64", asInput: () => true });
  const r = uniform(17);
  const lora: Tensor[] = [];
  const targetsList = linearModules(config).map((m) => m.split(".")[1]!);
  const { logits } = buildForward(
    g,
    config,
    weights,
    { inputIds: ids, positionIds: pos, segmentIds: seg },
    {
      recompute,
      lora: {
        targets: targetsList,
        rank: 2,
        alpha: 4,
        weights: (module, { in: inF, out, rank }) => {
          const a = g.input(`${module}.lora_A`, "float64", [rank, inF]);
          const b = g.input(`${module}.lora_B`, "float64", [out, rank]);
          feeds[`${module}.lora_A`] = Float64Array.from({ length: rank * inF }, () => r());
          feeds[`${module}.lora_B`] = Float64Array.from({ length: out * rank }, () => r());
          lora.push(a, b);
          return { a, b };
        },
      },
    },
  );
  const loss = nextTokenLoss(logits!, targets);
  const baseWrt = g.inputs.filter((t) => tensors.has(t.name));
  return { g, loss, wrt: [...lora, ...baseWrt], feeds };
}

describe("whole-model gradient vs finite differences (float64)", () => {
  for (const family of Object.keys(configs) as (keyof typeof configs)[]) {
    it(`${family}: LoRA and base weights`, async () => {
      const { loss, wrt, feeds } = build(family, false);
      const result = await gradCheck(loss, wrt, feeds as never, { maxElements: 4, seed: 5 });
      expect(result.tensors.length).toBe(wrt.length);
      expect(result.relError, JSON.stringify(result.tensors.filter((t) => t.relError > 1e-7))).toBeLessThan(1e-6);
      if (process.env.NEURAL_REPORT)
        console.log(`${family}: ${wrt.length} tensors, max relative error ${result.relError.toExponential(2)}`);
    });
  }

  it.each(["qwen2", "gemma3"] as const)(
    "%s: with recomputation the gradients are the same and still match finite differences",
    async (family) => {
      const plain = build(family, false);
      const re = build(family, true);
      const a = await gradCheck(plain.loss, plain.wrt, plain.feeds as never, { maxElements: 2, seed: 9 });
      const b = await gradCheck(re.loss, re.wrt, re.feeds as never, { maxElements: 2, seed: 9 });
      expect(b.relError).toBeLessThan(1e-6);
      expect(b.loss).toBe(a.loss);
      expect(b.gradients.map((d) => Array.from(d))).toEqual(a.gradients.map((d) => Array.from(d)));
    },
  );
});
