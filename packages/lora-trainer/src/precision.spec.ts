// Mixed precision, run here on the CPU (which emulates float16 by casting to float32, so this checks the graph, not
// the speed): a float16 step with loss scaling lands close to the float32 step (AdamW by the float64 oracle); an
// overflowing step's gradient norm is not finite, so the step changes nothing;
// the loss scaler backs off and grows like PyTorch's GradScaler.
import type { TypedArray } from "@neural/graph";
import { SharedWeights, createSession, toOrt } from "@neural/graph/node";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LossScaler, precisionFor } from "./precision.js";
import { qloraLinear } from "./qlora.js";
import { sessionOptions } from "./runtime.js";
import { packedBatch, randomModel, tinyConfig, uniform } from "./test-fixtures.js";
import { applyAdamwOracle, stepNames } from "./adamw-oracle.test-helpers.js";
import { buildStepGraph, type StepGraphSpec } from "./train-step.js";

const config = tinyConfig("Qwen2ForCausalLM");
const { source } = randomModel(config, 3);
const SEQ = 6;
const lora = {
  rank: 4,
  alpha: 8,
  rsLora: false,
  targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
  dropout: 0.1,
};
const optimizer = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };

async function step(precision: StepGraphSpec["precision"], lossScale: number, qlora = false) {
  const { graph, params } = buildStepGraph({
    config,
    source,
    batch: 2,
    seq: SEQ,
    lora,
    kind: "step",
    ...(precision ? { precision } : {}),
    ...(qlora ? { linear: qloraLinear(source, { blockSize: 16 }) } : {}),
  });
  const file = await new SharedWeights(mkdtempSync(path.join(tmpdir(), "precision-"))).save(graph, "step.onnx");
  const { session } = await createSession(file, sessionOptions(["cpu"], 1));
  const batch = packedBatch(config.vocabSize, SEQ, 5);
  const r = uniform(9);
  const feeds: Record<string, TypedArray> = {
    [stepNames.inputIds]: batch.inputIds,
    [stepNames.positionIds]: batch.positionIds,
    [stepNames.segmentIds]: batch.segmentIds,
    [stepNames.targets]: batch.targets,
    [stepNames.invCount]: Float32Array.of(1 / batch.count),
    [stepNames.dropoutSeed]: Float32Array.of(7),
    [stepNames.lr]: Float32Array.of(1e-2),
    [stepNames.biasCorrection1]: Float32Array.of(1 - 0.9),
    [stepNames.biasCorrection2]: Float32Array.of(1 - 0.999),
    [stepNames.lossScale]: Float32Array.of(lossScale),
  };
  for (const p of params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    feeds[p.name] = Float32Array.from({ length: n }, () => r() * 0.4);
    feeds[stepNames.m(p.name)] = Float32Array.from({ length: n }, () => r() * 0.01);
    feeds[stepNames.v(p.name)] = Float32Array.from({ length: n }, () => Math.abs(r()) * 0.01);
  }
  const ort: Record<string, ReturnType<typeof toOrt>> = {};
  for (const t of graph.inputs) {
    ort[t.name] = toOrt(t.dtype, t.shape, feeds[t.name]!);
  }
  const out = await session.run(ort);
  await session.release();
  const result = applyAdamwOracle(
    params,
    feeds,
    Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array])),
    optimizer,
  );
  return { graph, params, feeds, out: result as Record<string, Float32Array> };
}

describe("mixed precision", () => {
  it("a float16 step with loss scaling ≈ the float32 step; float32 master weights in and out", async () => {
    const f32 = await step(undefined, 1);
    const f16 = await step("float16", 1024);
    // frozen weights stored in float16, trainable tensors fed in float32
    expect(new Set(f16.graph.initializers.map((t) => t.dtype))).toEqual(new Set(["float16"]));
    expect(f16.graph.inputs.filter((t) => t.dtype !== "int64").every((t) => t.dtype === "float32")).toBe(true);
    expect(Math.abs(f16.out[stepNames.loss]![0]! - f32.out[stepNames.loss]![0]!)).toBeLessThan(5e-3 * f32.out[stepNames.loss]![0]!);
    expect(f16.out[stepNames.gradNorm]![0]!).toBeCloseTo(f32.out[stepNames.gradNorm]![0]!, 2);
    let worst = 0;
    for (const p of f32.params) {
      const a = f32.out[stepNames.newParam(p.name)]!;
      const b = f16.out[stepNames.newParam(p.name)]!;
      expect(b).toBeInstanceOf(Float32Array);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    }
    expect(worst).toBeLessThan(2e-3); // lr 1e-2: the updates agree to ~10 %
  });

  it("QLoRA under float16: float16 scales, ≈ the float32 QLoRA step", async () => {
    const f32 = await step(undefined, 1, true);
    const f16 = await step("float16", 1024, true);
    expect(f16.graph.initializers.some((t) => t.dtype === "int4")).toBe(true);
    expect(Math.abs(f16.out[stepNames.loss]![0]! - f32.out[stepNames.loss]![0]!)).toBeLessThan(5e-3 * f32.out[stepNames.loss]![0]!);
    expect(f16.out[stepNames.gradNorm]![0]!).toBeCloseTo(f32.out[stepNames.gradNorm]![0]!, 2);
  });

  it("a float16 step whose scaled gradients overflow leaves parameters and moments unchanged", async () => {
    const { params, feeds, out } = await step("float16", 1e30);
    expect(Number.isFinite(out[stepNames.gradNorm]![0]!)).toBe(false);
    expect(Number.isFinite(out[stepNames.loss]![0]!)).toBe(true);
    for (const p of params) {
      expect(Array.from(out[stepNames.newParam(p.name)]!)).toEqual(Array.from(feeds[p.name] as Float32Array));
      expect(Array.from(out[stepNames.newM(p.name)]!)).toEqual(Array.from(feeds[stepNames.m(p.name)] as Float32Array));
      expect(Array.from(out[stepNames.newV(p.name)]!)).toEqual(Array.from(feeds[stepNames.v(p.name)] as Float32Array));
    }
  });

  it("the loss scaler halves on overflow and doubles after a run of finite steps; precision per provider", () => {
    const s = new LossScaler(1024, 3);
    expect(s.update(false)).toBe(false);
    expect(s.scale).toBe(512);
    for (let i = 0; i < 3; i++) expect(s.update(true)).toBe(true);
    expect(s.scale).toBe(1024);
    expect(precisionFor("cpu")).toBe("float32");
    expect(precisionFor("cuda")).toBe("float16");
  });
});
