// The answer-only loss (hidden states gathered at the learned positions before the output projection) against the
// all-positions graph on ONNX Runtime: the same loss, gradients and gradient norm within float tolerance, for each
// family's quirks (biases and tied embeddings, fused projections, q/k norms, soft-capped logits) and each mode
// (LoRA, QLoRA, full fine-tuning), and the same evaluation sums. Its gradients against finite differences are in
// train-step.spec.ts.
import type { TypedArray } from "@neural/graph";
import { SharedWeights, createSession, toOrt } from "@neural/graph/node";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { answerPositions } from "./batching.js";
import { parseConfig, type ModelConfig } from "./models/config.js";
import { qloraLinear } from "./qlora.js";
import { packedBatch, randomModel, tinyConfig, TINY, uniform } from "./test-fixtures.js";
import { buildEvalGraph, buildStepGraph, stepNames, type LoraSpec, type StepGraphSpec } from "./train-step.js";
import type { Graph } from "@neural/graph";

const SEQ = 7;
const families: [string, ModelConfig][] = [
  ["llama", tinyConfig("LlamaForCausalLM")],
  ["qwen2 (biases, tied embeddings)", tinyConfig("Qwen2ForCausalLM")],
  ["phi3 (fused projections)", tinyConfig("Phi3ForCausalLM", { num_key_value_heads: 2 })],
  [
    "qwen3 (q/k norms)",
    parseConfig({ ...TINY, architectures: ["Qwen3ForCausalLM"], head_dim: 6, rope_theta: 1e6, tie_word_embeddings: true }),
  ],
  [
    "gemma3 (soft-capped logits, sliding layers)",
    parseConfig({
      ...TINY,
      architectures: ["Gemma3ForCausalLM"],
      head_dim: 4,
      query_pre_attn_scalar: 3,
      sliding_window: 2,
      layer_types: ["sliding_attention", "full_attention"],
      rope_theta: 1e6,
      rope_local_base_freq: 10000,
      hidden_activation: "gelu_pytorch_tanh",
      final_logit_softcapping: 5,
    }),
  ],
];

async function run(graph: Graph, feeds: Record<string, TypedArray>): Promise<Record<string, TypedArray>> {
  const file = await new SharedWeights(mkdtempSync(path.join(tmpdir(), "answer-loss-"))).save(graph, "g.onnx");
  const { session } = await createSession(file, { intraOpNumThreads: 1, graphOptimizationLevel: "basic" });
  const ort: Record<string, ReturnType<typeof toOrt>> = {};
  for (const t of graph.inputs) {
    if (!feeds[t.name]) throw new Error(`no feed for ${t.name}`);
    ort[t.name] = toOrt(t.dtype, t.shape, feeds[t.name]!);
  }
  const out = await session.run(ort);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as TypedArray]));
}

type Mode = "lora" | "qlora" | "full";

/** Both graphs of a mode on one packed batch: every position, and `slots` answer positions (padding included). */
async function compare(config: ModelConfig, mode: Mode, graphKind: "step" | "eval") {
  const { source } = randomModel(config, 11);
  const dtype = mode === "qlora" ? "float32" : "float64";
  const floats = (xs: ArrayLike<number>): TypedArray => (dtype === "float32" ? Float32Array.from(xs) : Float64Array.from(xs));
  const lora: LoraSpec | undefined =
    mode === "full"
      ? undefined
      : {
          rank: 2,
          alpha: 4,
          rsLora: false,
          targets: config.fused ? ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"] : ["q_proj", "v_proj", "o_proj", "down_proj"],
          dropout: 0,
        };
  const batch = packedBatch(config.vocabSize, SEQ, 5);
  const slots = batch.count + 3;
  const spec: Omit<StepGraphSpec, "kind"> = {
    config,
    source,
    batch: 2,
    seq: SEQ,
    dtype,
    ...(lora ? { lora } : {}),
    ...(mode === "qlora" ? { linear: qloraLinear(source, { blockSize: 16 }) } : {}),
  };
  const built = (answers?: number) => {
    const s = { ...spec, ...(answers !== undefined ? { answers } : {}) };
    return graphKind === "eval"
      ? { graph: buildEvalGraph(s), params: buildStepGraph({ ...s, kind: "step" }).params }
      : buildStepGraph({ ...s, kind: "step" });
  };
  const all = built();
  const some = built(slots);
  const r = uniform(7);
  const feeds: Record<string, TypedArray> = {
    [stepNames.inputIds]: batch.inputIds,
    [stepNames.positionIds]: batch.positionIds,
    [stepNames.segmentIds]: batch.segmentIds,
    [stepNames.targets]: batch.targets,
    [stepNames.answerPositions]: answerPositions(batch.targets, slots),
    [stepNames.invCount]: floats([1 / batch.count]),
  };
  for (const p of all.params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    feeds[p.name] = lora ? floats(Array.from({ length: n }, () => r() * 0.6)) : floats(await source.read(p.name));
  }
  return { all: await run(all.graph, feeds), some: await run(some.graph, feeds), params: all.params, graphs: [all.graph, some.graph] };
}

const close = (a: TypedArray, b: TypedArray, tolerance: number) => {
  let worst = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(Number(a[i]) - Number(b[i])));
    scale = Math.max(scale, Math.abs(Number(a[i])));
  }
  expect(a.length).toBe(b.length);
  expect(worst / scale).toBeLessThan(tolerance);
};

describe("answer-only loss = the all-positions loss", () => {
  for (const [name, config] of families) {
    for (const mode of ["lora", "full", ...(name === "llama" || name.startsWith("qwen2") ? (["qlora"] as const) : [])] as Mode[]) {
      it(`${name}, ${mode}: loss, gradients and their norm`, async () => {
        const { all, some, params } = await compare(config, mode, "step");
        const tolerance = mode === "qlora" ? 1e-5 : 1e-12;
        close(some[stepNames.loss]!, all[stepNames.loss]!, tolerance);
        close(some[stepNames.gradNorm]!, all[stepNames.gradNorm]!, tolerance);
        for (const p of params) close(some[stepNames.grad(p.name)]!, all[stepNames.grad(p.name)]!, tolerance);
        expect(Number(all[stepNames.loss]![0])).toBeGreaterThan(0);
      });
    }
  }

  it("evaluation: the same summed loss, count and correct predictions", async () => {
    const { all, some, graphs } = await compare(tinyConfig("Qwen2ForCausalLM"), "lora", "eval");
    close(some[stepNames.lossSum]!, all[stepNames.lossSum]!, 1e-12);
    expect(some[stepNames.count]).toEqual(all[stepNames.count]);
    expect(some[stepNames.correct]).toEqual(all[stepNames.correct]);
    // the output projection runs at the answer slots only: [slots, vocab] instead of [batch · seq, vocab]
    const headShapes = (g: Graph) =>
      g.nodes.filter((n) => n.op.name === "Gemm" || n.op.name === "MatMul").map((n) => n.outputs[0]!.shape.join("x"));
    expect(headShapes(graphs[0]!)).toContain(`14x${13}`);
    expect(headShapes(graphs[1]!).some((s) => s.endsWith(`x${13}`) && s !== `14x${13}`)).toBe(true);
  });

  it("answer positions: learned ones first, then the batch's last position; too many slots needed is an error", () => {
    const targets = BigInt64Array.from([5, -100, 7, -100, 2, -100], BigInt);
    expect(Array.from(answerPositions(targets, 5))).toEqual([0n, 2n, 4n, 5n, 5n]);
    expect(() => answerPositions(targets, 2)).toThrow(/answer slots/);
    expect(() => answerPositions(BigInt64Array.from([5, 3], BigInt), 2)).toThrow(/last position/);
  });
});
