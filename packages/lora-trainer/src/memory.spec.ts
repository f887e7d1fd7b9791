// The memory estimate's parts. Its accuracy against measured peaks is a benchmark (bench/train.bench.ts), not a test.
import { Graph, add, exp, reshape } from "@neural/graph";
import { describe, expect, it } from "vitest";
import { activationPeak, estimateMemory } from "./memory.js";
import { tinyConfig } from "./test-fixtures.js";

describe("memory estimate", () => {
  it("activationPeak follows tensors from their node to their last reader; reshapes share their input", () => {
    const g = new Graph();
    const x = g.input("x", "float32", [1000]);
    const a = exp(x); // 4000 bytes
    const b = exp(a); // 4000
    const c = reshape(b, [10, 100]); // no new buffer
    const d = add(c, reshape(a, [10, 100])); // a, b and d alive: 12000
    g.output("y", exp(d)); // a and b freed: d + y = 8000
    expect(activationPeak(g)).toMatchObject({ bytes: 12000, at: "Add" });
  });

  it("checkpointing lowers the activations, QLoRA the weights; the parts add up to the peak", () => {
    const model = tinyConfig("LlamaForCausalLM", {
      hidden_size: 64,
      intermediate_size: 128,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      vocab_size: 256,
      num_hidden_layers: 4,
    });
    const lora = { rank: 8, alpha: 16, rsLora: false, targets: ["q_proj", "v_proj"], dropout: 0 };
    const base = { model, batch: 4, seq: 64, lora, recompute: false };
    const kept = estimateMemory(base);
    const checkpointed = estimateMemory({ ...base, recompute: true });
    const q = estimateMemory({ ...base, qlora: true });
    const part = (e: typeof kept, name: string) => e.parts.find((p) => p.name === name)!.bytes;
    expect(part(checkpointed, "activations")).toBeLessThan(part(kept, "activations"));
    expect(part(q, "weights")).toBeLessThan(part(kept, "weights") / 2);
    for (const e of [kept, checkpointed, q]) expect(e.peakBytes).toBe(e.parts.reduce((n, p) => n + p.bytes, 0));
    // full fine-tuning holds params, m and v for every weight
    const full = estimateMemory({ model, batch: 4, seq: 64, recompute: true });
    expect(part(full, "weights")).toBe(0);
    expect(part(full, "trainable")).toBeGreaterThan(part(kept, "weights") * 2.9);
  });

  it("knows the preference methods: a pair is a row of its prompt and both answers; the reference adds no weights", () => {
    const model = tinyConfig("LlamaForCausalLM", {
      hidden_size: 64,
      intermediate_size: 128,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      vocab_size: 256,
      num_hidden_layers: 2,
    });
    const lora = { rank: 8, alpha: 16, rsLora: false, targets: ["q_proj", "v_proj"], dropout: 0 };
    const spec = {
      method: "dpo" as const,
      beta: 0.1,
      lossType: "sigmoid" as const,
      rpoAlpha: 0,
      simpoGamma: 0.5,
      cpoAlpha: 0,
      desirableWeight: 1,
      undesirableWeight: 1,
    };
    const part = (e: ReturnType<typeof estimateMemory>, name: string) => e.parts.find((p) => p.name === name)!.bytes;
    const sft = estimateMemory({ model, batch: 4, seq: 64, lora, recompute: false });
    const dpo = estimateMemory({ model, batch: 4, seq: 64, lora, recompute: false, preference: spec });
    const sftOfEight = estimateMemory({ model, batch: 8, seq: 64, lora, recompute: false });
    const sftOfTwiceTheLength = estimateMemory({ model, batch: 4, seq: 128, lora, recompute: false });
    expect(part(dpo, "weights")).toBe(part(sft, "weights"));
    expect(part(dpo, "trainable")).toBe(part(sft, "trainable"));
    // at worst nothing is shared: 4 rows of both sequences, whose attention spans both
    expect(part(dpo, "activations")).toBeGreaterThan(part(sftOfEight, "activations"));
    expect(part(dpo, "activations")).toBeCloseTo(part(sftOfTwiceTheLength, "activations"), -3);
    expect(dpo.parts.find((p) => p.name === "activations")!.note).toContain("4 pairs per micro-batch");
  });
});
