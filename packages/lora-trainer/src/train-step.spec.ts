// The whole training step (forward, masked loss, backward, clipping, AdamW, accumulation) checked against central
// finite differences of its own loss in float64 (ONNX Runtime), for LoRA (with dropout) and full fine-tuning. AdamW
// runs in place after the gradients graph (adamw.ts); a float64 oracle of it stands in where a test reads a whole step.
import type { TypedArray } from "@neural/graph";
import { createSession, saveGraph, toOrt } from "@neural/graph/node";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { packedBatch, randomModel, tinyConfig, uniform } from "./test-fixtures.js";
import { adamwInPlace, adamwScalars } from "./adamw.js";
import { applyAdamwOracle, stepNames, type OracleOptimizer } from "./adamw-oracle.test-helpers.js";
import { answerPositions } from "./batching.js";
import { buildStepGraph, type LoraSpec, type StepGraphSpec, type TrainableParam } from "./train-step.js";
import type { ModelConfig } from "./models/config.js";
import type { WeightSource } from "./models/weights.js";

const SEQ = 6;
const noMomentum = { beta1: 0, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, maxGradNorm: 0 };

/** "step": the gradients graph and the AdamW oracle; "gradients": the graph alone; "accumulate": accumulators. */
async function stepRunner(
  spec: Omit<StepGraphSpec, "kind"> & { optimizer: OracleOptimizer; kind: "step" | "gradients" | "accumulate"; withAccumulators?: boolean },
) {
  const { graph, params } = buildStepGraph({
    ...spec,
    kind: spec.kind === "accumulate" ? "accumulate" : spec.withAccumulators ? "step-acc" : "step",
  });
  const file = await saveGraph(graph, mkdtempSync(path.join(tmpdir(), "train-step-")));
  const { session } = await createSession(file, { intraOpNumThreads: 1, graphOptimizationLevel: "basic" });
  const inputNames = new Map(graph.inputs.map((t) => [t.name, t]));
  return {
    params,
    async run(feeds: Record<string, TypedArray>): Promise<Record<string, TypedArray>> {
      const ort: Record<string, ReturnType<typeof toOrt>> = {};
      for (const [name, t] of inputNames) {
        if (!feeds[name]) throw new Error(`no feed for ${name}`);
        ort[name] = toOrt(t.dtype, t.shape, feeds[name]!);
      }
      const out = await session.run(ort);
      const result: Record<string, TypedArray> = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as TypedArray]));
      return spec.kind === "step" ? applyAdamwOracle(params, feeds, result, spec.optimizer) : result;
    },
  };
}

function initialFeeds(params: TrainableParam[], source: WeightSource, lora: LoraSpec | undefined, count: number, seed: number) {
  const r = uniform(seed);
  const feeds: Record<string, TypedArray> = {};
  for (const p of params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    // LoRA B is zero at initialization in PEFT; a random B makes every gradient non-trivial here.
    feeds[p.name] = lora ? Float64Array.from({ length: n }, () => r() * 0.6) : Float64Array.from(source.read(p.name) as Float32Array);
    feeds[stepNames.m(p.name)] = new Float64Array(n);
    feeds[stepNames.v(p.name)] = new Float64Array(n);
  }
  Object.assign(feeds, {
    [stepNames.invCount]: Float64Array.of(1 / count),
    [stepNames.dropoutSeed]: Float64Array.of(3),
    [stepNames.lr]: Float64Array.of(1e-3),
    [stepNames.biasCorrection1]: Float64Array.of(1),
    [stepNames.biasCorrection2]: Float64Array.of(1 - 0.999),
  });
  return feeds;
}

async function checkGradients(config: ModelConfig, lora: LoraSpec | undefined, answerOnly = false) {
  const { source } = randomModel(config, 11);
  const batch = packedBatch(config.vocabSize, SEQ, 5);
  const answers = answerOnly ? batch.count + 2 : undefined;
  const step = await stepRunner({
    config,
    source,
    batch: 2,
    seq: SEQ,
    lora,
    dtype: "float64",
    optimizer: noMomentum,
    kind: "step",
    ...(answers ? { answers } : {}),
  });
  const feeds: Record<string, TypedArray> = {
    ...(answers ? { [stepNames.answerPositions]: answerPositions(batch.targets, answers) } : {}),
    ...initialFeeds(step.params, source, lora, batch.count, 7),
    [stepNames.inputIds]: batch.inputIds,
    [stepNames.positionIds]: batch.positionIds,
    [stepNames.segmentIds]: batch.segmentIds,
    [stepNames.targets]: batch.targets,
  };
  const out = await step.run(feeds);
  const lossAt = async (name: string, index: number, delta: number) => {
    const data = (feeds[name] as Float64Array).slice();
    data[index]! += delta;
    return (await step.run({ ...feeds, [name]: data }))[stepNames.loss]![0] as number;
  };
  if (lora?.dropout) {
    // the dropout mask depends on the seed fed for the step (and only on it)
    const other = (await step.run({ ...feeds, [stepNames.dropoutSeed]: Float64Array.of(4) }))[stepNames.loss]![0];
    const same = (await step.run(feeds))[stepNames.loss]![0];
    expect(other).not.toBe(out[stepNames.loss]![0]);
    expect(same).toBe(out[stepNames.loss]![0]);
  }
  const pick = uniform(99);
  let worst = 0;
  for (const p of step.params) {
    const analytic = out[stepNames.newM(p.name)] as Float64Array; // beta1 = 0 and no clipping: the new first moment is the gradient
    const n = analytic.length;
    let maxErr = 0;
    let maxAbs = 1e-12;
    for (let k = 0; k < Math.min(n, 4); k++) {
      const i = Math.floor((pick() + 0.5) * n);
      const h = 1e-4;
      const d1 = ((await lossAt(p.name, i, h)) - (await lossAt(p.name, i, -h))) / (2 * h);
      const d2 = ((await lossAt(p.name, i, h / 2)) - (await lossAt(p.name, i, -h / 2))) / h;
      const numeric = (4 * d2 - d1) / 3;
      maxErr = Math.max(maxErr, Math.abs(analytic[i]! - numeric));
      maxAbs = Math.max(maxAbs, Math.abs(numeric));
    }
    worst = Math.max(worst, maxErr / maxAbs);
  }
  return { worst, params: step.params.length };
}

describe("train step gradients vs finite differences (float64)", () => {
  it.each([
    ["llama", tinyConfig("LlamaForCausalLM"), ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]],
    ["qwen2 (biases, tied embeddings)", tinyConfig("Qwen2ForCausalLM"), ["q_proj", "v_proj", "down_proj"]],
    [
      "phi3 (fused qkv_proj and gate_up_proj)",
      tinyConfig("Phi3ForCausalLM", { num_key_value_heads: 2 }),
      ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
    ],
  ] as const)("LoRA with dropout on %s", async (_, config, targets) => {
    const lora: LoraSpec = { rank: 2, alpha: 4, rsLora: false, targets, dropout: 0.25 };
    const { worst, params } = await checkGradients(config, lora);
    expect(params).toBe(2 * config.numLayers * targets.length);
    expect(worst).toBeLessThan(1e-6);
  });

  it.each([
    ["llama (its own lm_head)", tinyConfig("LlamaForCausalLM"), 2],
    ["qwen2 (tied embeddings)", tinyConfig("Qwen2ForCausalLM"), 1],
  ] as const)("LoRA with trainable token rows (tokens added to the vocabulary) on %s", async (_, config, rowParams) => {
    // rows of tokens the batch reads and predicts, so their gradients are not zero
    const ids = packedBatch(config.vocabSize, SEQ, 5).inputIds;
    const trainableTokens = [Number(ids[1]), Number(ids[2])];
    const lora: LoraSpec = { rank: 2, alpha: 4, rsLora: false, targets: ["q_proj", "down_proj"], dropout: 0, trainableTokens };
    const { worst, params } = await checkGradients(config, lora);
    expect(params).toBe(2 * config.numLayers * 2 + rowParams);
    expect(worst).toBeLessThan(1e-6);
  });

  it("full fine-tuning: every weight", async () => {
    const config = tinyConfig("LlamaForCausalLM");
    const { worst, params } = await checkGradients(config, undefined);
    expect(params).toBe(randomModel(config, 1).source.names.length);
    expect(worst).toBeLessThan(1e-6);
  });

  it.each([
    [
      "LoRA on qwen2 (tied embeddings)",
      tinyConfig("Qwen2ForCausalLM"),
      { rank: 2, alpha: 4, rsLora: false, targets: ["q_proj", "v_proj", "down_proj"], dropout: 0.25 } as LoraSpec,
    ],
    ["full fine-tuning on llama", tinyConfig("LlamaForCausalLM"), undefined],
  ] as const)("answer-only loss (logits at the learned positions and padding slots): %s", async (_, config, lora) => {
    const { worst } = await checkGradients(config, lora, true);
    expect(worst).toBeLessThan(1e-6);
  });
});

describe("optimizer and accumulation", () => {
  const config = tinyConfig("LlamaForCausalLM");
  const lora: LoraSpec = { rank: 2, alpha: 4, rsLora: false, targets: ["q_proj", "v_proj"], dropout: 0 };
  const optimizer = { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 0.05 };

  it("clips by the global norm and applies AdamW with decoupled weight decay and bias correction (in the graph, and in place after the gradients graph)", async () => {
    const { source } = randomModel(config, 11);
    const batch = packedBatch(config.vocabSize, SEQ, 5);
    const gradientOnly = await stepRunner({
      config,
      source,
      batch: 2,
      seq: SEQ,
      lora,
      dtype: "float64",
      optimizer: noMomentum,
      kind: "step",
    });
    const adamw = await stepRunner({ config, source, batch: 2, seq: SEQ, lora, dtype: "float64", optimizer, kind: "step" });
    const gradients = await stepRunner({ config, source, batch: 2, seq: SEQ, lora, dtype: "float64", optimizer, kind: "gradients" });
    const feeds: Record<string, TypedArray> = {
      ...initialFeeds(adamw.params, source, lora, batch.count, 7),
      [stepNames.inputIds]: batch.inputIds,
      [stepNames.positionIds]: batch.positionIds,
      [stepNames.segmentIds]: batch.segmentIds,
      [stepNames.targets]: batch.targets,
    };
    // a later step: moments already hold something
    const t = 3;
    for (const p of adamw.params) {
      feeds[stepNames.m(p.name)] = (feeds[p.name] as Float64Array).map((x) => x * 0.01);
      feeds[stepNames.v(p.name)] = (feeds[p.name] as Float64Array).map((x) => x * x * 1e-4);
    }
    feeds[stepNames.biasCorrection1] = Float64Array.of(1 - 0.9 ** t);
    feeds[stepNames.biasCorrection2] = Float64Array.of(1 - 0.99 ** t);
    const g = await gradientOnly.run(feeds);
    const out = await adamw.run(feeds);
    let sq = 0;
    for (const p of adamw.params) for (const x of g[stepNames.newM(p.name)] as Float64Array) sq += x * x;
    const norm = Math.sqrt(sq);
    expect(out[stepNames.gradNorm]![0]).toBeCloseTo(norm, 12);
    const clip = Math.min(1, 0.05 / (norm + 1e-6));
    expect(clip).toBeLessThan(1);
    // the trainer's way: the gradients graph, then AdamW over the arrays in place
    const fromGradients = await gradients.run(feeds);
    expect(fromGradients[stepNames.gradNorm]![0]).toBe(out[stepNames.gradNorm]![0]);
    const inPlace = new Map(
      adamw.params.map((p) => [
        p.name,
        {
          p: Float64Array.from(feeds[p.name] as Float64Array),
          m: Float64Array.from(feeds[stepNames.m(p.name)] as Float64Array),
          v: Float64Array.from(feeds[stepNames.v(p.name)] as Float64Array),
        },
      ]),
    );
    const scalars = adamwScalars(optimizer, { lr: 1e-3, step: t, gradNorm: fromGradients[stepNames.gradNorm]![0] as number });
    for (const p of adamw.params) {
      const s = inPlace.get(p.name)!;
      expect(fromGradients[stepNames.grad(p.name)]).toEqual(g[stepNames.newM(p.name)]);
      adamwInPlace(s.p, fromGradients[stepNames.grad(p.name)] as Float64Array, s.m, s.v, scalars, p.decay);
    }
    for (const p of adamw.params) {
      const grad = g[stepNames.newM(p.name)] as Float64Array;
      const param = feeds[p.name] as Float64Array;
      const m0 = feeds[stepNames.m(p.name)] as Float64Array;
      const v0 = feeds[stepNames.v(p.name)] as Float64Array;
      for (let i = 0; i < param.length; i++) {
        const gi = grad[i]! * clip;
        const m = 0.9 * m0[i]! + 0.1 * gi;
        const v = 0.99 * v0[i]! + 0.01 * gi * gi;
        const expected = param[i]! - 1e-3 * (m / (1 - 0.9 ** t) / (Math.sqrt(v / (1 - 0.99 ** t)) + 1e-8) + 0.1 * param[i]!);
        expect((out[stepNames.newParam(p.name)] as Float64Array)[i]).toBeCloseTo(expected, 12);
        expect(inPlace.get(p.name)!.p[i]).toBeCloseTo(expected, 12);
        expect(inPlace.get(p.name)!.m[i]).toBeCloseTo(m, 12);
        expect(inPlace.get(p.name)!.v[i]).toBeCloseTo(v, 12);
      }
    }
  });

  it("two accumulated micro-batches equal one batch of both", async () => {
    const { source } = randomModel(config, 11);
    const both = packedBatch(config.vocabSize, SEQ, 5);
    const row = (b: number) => ({
      [stepNames.inputIds]: both.inputIds.slice(b * SEQ, (b + 1) * SEQ),
      [stepNames.positionIds]: both.positionIds.slice(b * SEQ, (b + 1) * SEQ),
      [stepNames.segmentIds]: both.segmentIds.slice(b * SEQ, (b + 1) * SEQ),
      [stepNames.targets]: both.targets.slice(b * SEQ, (b + 1) * SEQ),
    });
    const whole = await stepRunner({ config, source, batch: 2, seq: SEQ, lora, dtype: "float64", optimizer, kind: "step" });
    const accumulate = await stepRunner({ config, source, batch: 1, seq: SEQ, lora, dtype: "float64", optimizer, kind: "accumulate" });
    const last = await stepRunner({
      config,
      source,
      batch: 1,
      seq: SEQ,
      lora,
      dtype: "float64",
      optimizer,
      kind: "step",
      withAccumulators: true,
    });
    const feeds = initialFeeds(whole.params, source, lora, both.count, 7);
    const reference = await whole.run({
      ...feeds,
      [stepNames.inputIds]: both.inputIds,
      [stepNames.positionIds]: both.positionIds,
      [stepNames.segmentIds]: both.segmentIds,
      [stepNames.targets]: both.targets,
    });
    const acc: Record<string, TypedArray> = {};
    for (const p of whole.params) acc[stepNames.acc(p.name)] = new Float64Array(p.shape.reduce((a, b) => a * b, 1));
    const first = await accumulate.run({ ...feeds, ...acc, ...row(0) });
    for (const p of whole.params) acc[stepNames.acc(p.name)] = first[stepNames.newAcc(p.name)]!;
    const second = await last.run({ ...feeds, ...acc, ...row(1) });
    expect((first[stepNames.loss]![0] as number) + (second[stepNames.loss]![0] as number)).toBeCloseTo(
      reference[stepNames.loss]![0] as number,
      12,
    );
    expect(second[stepNames.gradNorm]![0]).toBeCloseTo(reference[stepNames.gradNorm]![0] as number, 12);
    for (const p of whole.params) {
      const a = second[stepNames.newParam(p.name)] as Float64Array;
      const b = reference[stepNames.newParam(p.name)] as Float64Array;
      for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 12);
    }
  });
});
