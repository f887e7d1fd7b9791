// One trainer core, two runtimes: the same training step graph on onnxruntime-web (its WASM backend, here in Node)
// and on onnxruntime-node (CPU) gives the same loss, gradient norm and updated weights to float32 tolerance, and the
// same loss curve over a short run of trainInMemory.
import { Random } from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import { buildStepGraph, createScratchModel, stepNames } from "@neural/lora-trainer";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { describe, expect, it } from "vitest";
import { GraphSession } from "./runtime.js";
import { trainInMemory } from "./train.js";
import { routingDataset } from "./test-data.js";

ortWeb.env.wasm.numThreads = 1;

const tiny = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 96,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
};

function maxRelDiff(a: TypedArray, b: TypedArray): number {
  let scale = 1e-6;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(Number(a[i])));
    diff = Math.max(diff, Math.abs(Number(a[i]) - Number(b[i])));
  }
  return diff / scale;
}

describe("onnxruntime-web (WASM) and onnxruntime-node (CPU) run the same training step", () => {
  it("gives the same loss, gradient norm and AdamW update on a tiny model", async () => {
    const model = createScratchModel(tiny, 5);
    const B = 2;
    const S = 16;
    const { graph, params } = buildStepGraph({
      config: model.config,
      source: model.source,
      batch: B,
      seq: S,
      optimizer: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 },
      kind: "step",
    });
    const random = new Random(17);
    const ids = BigInt64Array.from({ length: B * S }, () => BigInt(Math.floor(random.next() * tiny.vocab_size)));
    const targets = BigInt64Array.from({ length: B * S }, (_, i) => (i % S < 4 ? -100n : BigInt(Math.floor(random.next() * tiny.vocab_size))));
    const feeds: Record<string, TypedArray> = {
      [stepNames.inputIds]: ids,
      [stepNames.positionIds]: BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S)),
      [stepNames.segmentIds]: BigInt64Array.from({ length: B * S }, () => 1n),
      [stepNames.targets]: targets,
      [stepNames.invCount]: Float32Array.of(1 / targets.filter((t) => t !== -100n).length),
      [stepNames.lr]: Float32Array.of(1e-3),
      [stepNames.biasCorrection1]: Float32Array.of(0.1),
      [stepNames.biasCorrection2]: Float32Array.of(0.001),
      [stepNames.dropoutSeed]: Float32Array.of(0),
    };
    for (const p of params) {
      feeds[p.name] = model.tensors.get(p.name)!.data;
      feeds[stepNames.m(p.name)] = new Float32Array(feeds[p.name]!.length);
      feeds[stepNames.v(p.name)] = new Float32Array(feeds[p.name]!.length);
    }
    const node = await GraphSession.create(ortNode, graph, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
    const web = await GraphSession.create(ortWeb, graph, { executionProviders: ["wasm"] });
    expect(node.provider).toBe("cpu");
    expect(web.provider).toBe("wasm");
    const a = await node.run(feeds);
    const b = await web.run(feeds);
    await node.release();
    await web.release();

    const lossNode = Number(a[stepNames.loss]![0]);
    const lossWeb = Number(b[stepNames.loss]![0]);
    expect(lossNode).toBeGreaterThan(4); // ~ln(96) for a fresh model
    expect(Math.abs(lossWeb - lossNode) / lossNode).toBeLessThan(1e-5);
    expect(Math.abs(Number(b[stepNames.gradNorm]![0]) - Number(a[stepNames.gradNorm]![0])) / Number(a[stepNames.gradNorm]![0])).toBeLessThan(1e-4);
    for (const p of params) {
      // The step moves each weight by about lr; where the runtimes differ, it is by a small fraction of that move
      // (AdamW divides by sqrt(v), which magnifies float32 rounding where gradients are tiny).
      const step = maxRelDiff(a[stepNames.newParam(p.name)]!, feeds[p.name]!);
      const apart = maxRelDiff(a[stepNames.newParam(p.name)]!, b[stepNames.newParam(p.name)]!);
      expect(step, p.name).toBeGreaterThan(1e-4);
      expect(apart, p.name).toBeLessThan(step / 20);
      expect(maxRelDiff(a[stepNames.newM(p.name)]!, b[stepNames.newM(p.name)]!), p.name).toBeLessThan(1e-4);
    }
  });

  it("gives the same loss curve over 12 steps of trainInMemory", async () => {
    const settings = {
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      vocab_size: 300,
      max_length: 64,
      batch_size: 4,
      max_steps: 12,
      learning_rate: 3e-3,
      warmup_steps: 2,
      eval_steps: 1000,
      eval_generate: false,
    };
    const dataset = { name: "routing.jsonl", bytes: routingDataset() };
    const node = await trainInMemory({ ort: ortNode, session: { executionProviders: ["cpu"], intraOpNumThreads: 1 }, dataset, settings });
    const web = await trainInMemory({ ort: ortWeb, session: { executionProviders: ["wasm"] }, dataset, settings });
    expect(node.provider).toBe("cpu");
    expect(web.provider).toBe("wasm");
    expect(node.losses).toHaveLength(12);
    expect(node.losses.at(-1)!).toBeLessThan(node.losses[0]! * 0.8);
    for (let i = 0; i < 12; i++) expect(Math.abs(web.losses[i]! - node.losses[i]!) / node.losses[i]!, `step ${i + 1}`).toBeLessThan(1e-3);
  });
});
