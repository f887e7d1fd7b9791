// One training loop, two runtimes: @neural/lora-trainer's step (the gradients graph, then AdamW in place) on
// onnxruntime-web (its WASM backend, here in Node) and on onnxruntime-node (CPU) gives the same loss, gradient norm
// and updated weights to float32 tolerance, and the same loop gives the same loss curve in trainInMemory on either
// runtime and in `neural train`'s Node trainer (files, checkpoints) on onnxruntime-node.
import { Random } from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import {
  buildStepGraph,
  createScratchModel,
  GraphRunner,
  memoryStore,
  OptimizerState,
  resolveTrainConfig,
  stepNames as graphNames,
  type OrtModule,
  type TrainConfig,
} from "@neural/lora-trainer";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { afterAll, describe, expect, it } from "vitest";
import { trainInMemory } from "./train.js";
import { routingDataset } from "./test-data.js";

ortWeb.env.wasm.numThreads = 1;
const dir = mkdtempSync(path.join(tmpdir(), "parity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

/** The updated weights and first moments, named as the assertions read them. */
const stepNames = { ...graphNames, newParam: (p: string) => `new.${p}`, newM: (p: string) => `new.m.${p}` };

function maxRelDiff(a: TypedArray, b: TypedArray): number {
  let scale = 1e-6;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(Number(a[i])));
    diff = Math.max(diff, Math.abs(Number(a[i]) - Number(b[i])));
  }
  return diff / scale;
}

describe("onnxruntime-web (WASM) and onnxruntime-node (CPU) run the same training loop", () => {
  it("gives the same loss, gradient norm and AdamW update on a tiny model", async () => {
    const model = createScratchModel(tiny, 5);
    const B = 2;
    const S = 16;
    const random = new Random(17);
    const ids = BigInt64Array.from({ length: B * S }, () => BigInt(Math.floor(random.next() * tiny.vocab_size)));
    const targets = BigInt64Array.from({ length: B * S }, (_, i) =>
      i % S < 4 ? -100n : BigInt(Math.floor(random.next() * tiny.vocab_size)),
    );
    const feeds: Record<string, TypedArray> = {
      [stepNames.inputIds]: ids,
      [stepNames.positionIds]: BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S)),
      [stepNames.segmentIds]: BigInt64Array.from({ length: B * S }, () => 1n),
      [stepNames.targets]: targets,
      [stepNames.invCount]: Float32Array.of(1 / targets.filter((t) => t !== -100n).length),
      [stepNames.dropoutSeed]: Float32Array.of(0),
    };
    const spec = { config: model.config, source: model.source, batch: B, seq: S, kind: "step" as const };
    const params = buildStepGraph(spec).params;
    for (const p of params) feeds[p.name] = model.tensors.get(p.name)!.data;
    /** One step of the loop's code on a runtime: the step graph through the runner, then AdamW in place. */
    const step = async (ort: OrtModule, provider: string) => {
      const runner = await GraphRunner.open({
        ort,
        store: memoryStore(),
        session: { executionProviders: [provider], intraOpNumThreads: 1 },
        precision: "float32",
        build: () => buildStepGraph(spec).graph,
      });
      const out = await runner.run({ kind: "step", batch: B, seq: S }, feeds);
      await runner.release();
      const optimizer = new OptimizerState(params, new Map(params.map((p) => [p.name, Float32Array.from(feeds[p.name] as Float32Array)])), {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        weightDecay: 0.01,
        maxGradNorm: 1,
      });
      optimizer.apply(out, { lr: 1e-3, step: 1, gradNorm: Number(out[stepNames.gradNorm]![0]) });
      const { m } = optimizer.save();
      for (const p of params) {
        out[stepNames.newParam(p.name)] = optimizer.values.get(p.name)!;
        out[stepNames.newM(p.name)] = m.get(p.name)!;
      }
      return { out, provider: runner.provider };
    };
    const node = await step(ortNode, "cpu");
    const web = await step(ortWeb, "wasm");
    expect(node.provider).toBe("cpu");
    expect(web.provider).toBe("wasm");
    const [a, b] = [node.out, web.out];

    const lossNode = Number(a[stepNames.loss]![0]);
    const lossWeb = Number(b[stepNames.loss]![0]);
    expect(lossNode).toBeGreaterThan(4); // ~ln(96) for a fresh model
    expect(Math.abs(lossWeb - lossNode) / lossNode).toBeLessThan(1e-5);
    expect(
      Math.abs(Number(b[stepNames.gradNorm]![0]) - Number(a[stepNames.gradNorm]![0])) / Number(a[stepNames.gradNorm]![0]),
    ).toBeLessThan(1e-4);
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

  it("gives the same loss curve over 12 steps of trainInMemory", async () => {
    const node = await trainInMemory({ ort: ortNode, session: { executionProviders: ["cpu"], intraOpNumThreads: 1 }, dataset, settings });
    const web = await trainInMemory({ ort: ortWeb, session: { executionProviders: ["wasm"] }, dataset, settings });
    expect(node.provider).toBe("cpu");
    expect(web.provider).toBe("wasm");
    expect(node.losses).toHaveLength(12);
    expect(node.losses.at(-1)!).toBeLessThan(node.losses[0]! * 0.8);
    for (let i = 0; i < 12; i++) expect(Math.abs(web.losses[i]! - node.losses[i]!) / node.losses[i]!, `step ${i + 1}`).toBeLessThan(1e-3);
  });

  it("gives the same loss curve in the Node trainer (files, checkpoints) as in trainInMemory on onnxruntime-web", async () => {
    const file = path.join(dir, dataset.name);
    writeFileSync(file, dataset.bytes);
    // the package's Node entry (this package typechecks against the browser one, which has no `train`)
    const { train } = (await import("@neural/lora-trainer")) as unknown as {
      train(config: TrainConfig, options: { onEvent(e: { type: string; loss?: number }): void }): Promise<{ steps: number }>;
    };
    const losses: number[] = [];
    const { config } = resolveTrainConfig({
      flags: { ...settings, from_scratch: true, dataset: file, output_dir: path.join(dir, "node"), device: "cpu", threads: 1 },
    });
    const result = await train(config, { onEvent: (e) => e.type === "step" && losses.push(e.loss!) });
    const web = await trainInMemory({ ort: ortWeb, session: { executionProviders: ["wasm"] }, dataset, settings });
    expect(result.steps).toBe(12);
    for (let i = 0; i < 12; i++) expect(Math.abs(web.losses[i]! - losses[i]!) / losses[i]!, `step ${i + 1}`).toBeLessThan(1e-3);
  });
});
