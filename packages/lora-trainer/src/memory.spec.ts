// The memory estimate's parts. Its accuracy against measured peaks is a benchmark (bench/train.bench.ts), not a test.
import { Graph, add, exp, reshape } from "@neural/graph";
import { writeTinyModel } from "@neural/testkit";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { activationPeak, estimateMemory } from "./memory.js";
import { estimateTrainingMemory } from "./memory-config.js";
import { tinyConfig } from "./test-fixtures.js";
import { resolveTrainConfig } from "./train-config.js";

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

  it("knows the answer-only loss: the logits are answer slots × vocabulary; preference objectives count their pairs' answers", () => {
    // a vocabulary large against the hidden size, as real models have: the logits dominate the activations
    const model = tinyConfig("LlamaForCausalLM", {
      hidden_size: 64,
      intermediate_size: 128,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      vocab_size: 4096,
      num_hidden_layers: 2,
    });
    const lora = { rank: 8, alpha: 16, rsLora: false, targets: ["q_proj", "v_proj"], dropout: 0 };
    const part = (e: ReturnType<typeof estimateMemory>, name: string) => e.parts.find((p) => p.name === name)!.bytes;
    const base = { model, batch: 4, seq: 64, lora, recompute: true, evalBatch: 4 };
    const all = estimateMemory(base);
    const answers = estimateMemory({ ...base, answers: 16, evalAnswers: 16 });
    // at least one logits-sized buffer fewer, for the 256 − 16 positions that compute none
    expect(part(all, "activations") - part(answers, "activations")).toBeGreaterThan(0.89 * (256 - 16) * 4096 * 4);
    expect(part(answers, "weights")).toBe(part(all, "weights"));
    expect(answers.parts.find((p) => p.name === "activations")!.note).toContain("logits at 16 answer slots of 256 positions");
    expect(all.parts.find((p) => p.name === "activations")!.note).toContain("logits at all 256 positions");
    // evaluation's forward is counted with its own slots: without them its all-position logits would set the peak
    const evalAll = estimateMemory({ ...base, answers: 16 });
    expect(part(evalAll, "activations")).toBeGreaterThan(part(answers, "activations"));
    // slots beyond the batch's positions are every position
    expect(part(estimateMemory({ ...base, answers: 10_000, evalAnswers: 10_000 }), "activations")).toBeGreaterThanOrEqual(
      part(all, "activations"),
    );
    const dpoSpec = {
      method: "dpo" as const,
      beta: 0.1,
      lossType: "sigmoid" as const,
      rpoAlpha: 0,
      simpoGamma: 0.5,
      cpoAlpha: 0,
      desirableWeight: 1,
      undesirableWeight: 1,
    };
    const dpo = estimateMemory({ ...base, preference: dpoSpec });
    expect(estimateMemory({ ...base, preference: dpoSpec, answers: 16, evalAnswers: 16 }).peakBytes).toBe(dpo.peakBytes);
    expect(dpo.parts.find((p) => p.name === "activations")!.note).toContain("each a row of its prompt and both answers");
  });

  it("estimateTrainingMemory reads the dataset for the answer slots when asked: long prompts, short answers", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "memory-estimate-"));
    const tiny = await writeTinyModel(path.join(dir, "model"), {
      family: "qwen2",
      hiddenSize: 64,
      intermediateSize: 128,
      // a vocabulary large against the model, as real ones are: the logits set the peak
      vocabSize: 16384,
    });
    const dataset = path.join(dir, "data.jsonl");
    const prompt = "list every node and every edge of the graph with their labels and properties ".repeat(3);
    writeFileSync(
      dataset,
      Array.from({ length: 24 }, (_, i) => JSON.stringify({ instruction: `${prompt}${i}`, output: "ok" })).join("\n") + "\n",
    );
    const flags = {
      base_model: tiny.dir,
      dataset,
      max_length: 256,
      batch_size: 2,
      validation_split: 0,
      threads: 1,
      device: "cpu" as const,
    };
    const { config } = resolveTrainConfig({ flags });
    const bound = await estimateTrainingMemory(config);
    const read = await estimateTrainingMemory(config, { readData: true });
    const part = (e: typeof bound, name: string) => e.parts.find((p) => p.name === name)!.bytes;
    expect(part(read, "activations")).toBeLessThan(part(bound, "activations"));
    expect(read.notes.join("\n")).toMatch(/answer-only loss: logits at most at \d+ answer slots per micro-batch/);
    expect(bound.notes.join("\n")).toContain("logits counted at every position (an upper bound): the dataset was not read");
    // learning the prompts too: the slots are every position again
    const { config: inputs } = resolveTrainConfig({ flags: { ...flags, train_on_inputs: true } });
    const readInputs = await estimateTrainingMemory(inputs, { readData: true });
    expect(part(readInputs, "activations")).toBeGreaterThan(part(read, "activations"));
  }, 120_000);
});
