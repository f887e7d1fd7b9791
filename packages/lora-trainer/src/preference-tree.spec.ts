// A pair's prompt runs once: each row of a preference batch is a tree (the prompt, then the chosen answer, then the
// rejected one, both continuing the prompt's positions and blind to each other). These specs hold the tree layout to
// the layout it replaces, every sequence in its own row: the same log-probabilities, loss, metrics and gradients
// (float64, Llama and Qwen2 shapes, LoRA and full fine-tuning), and its gradients to finite differences.
import { IGNORE_INDEX, type EncodedExample } from "@neural/dataset";
import { grad, Graph, reshape, type TypedArray } from "@neural/graph";
import { createSession, saveGraph, toOrt } from "@neural/graph/node";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { ModelConfig } from "./models/config.js";
import { buildForward } from "./models/transformer.js";
import { graphWeights, type WeightSource } from "./models/weights.js";
import { preferenceNames, preferenceObjective, sequenceLogps, type PreferenceSpec } from "./preference.js";
import { objectiveFeeds, pairTree, treeBatch, type PreferenceBatch } from "./preference-run.js";
import { randomModel, tinyConfig, uniform } from "./test-fixtures.js";
import { buildEvalGraph, buildStepGraph, stepNames, trainableParams, type LoraSpec } from "./train-step.js";

const base: PreferenceSpec = {
  method: "dpo",
  beta: 0.7,
  lossType: "sigmoid",
  rpoAlpha: 0,
  simpoGamma: 0.5,
  cpoAlpha: 0,
  desirableWeight: 1.3,
  undesirableWeight: 0.8,
};

/** A prompt then an answer, only the answer learned. */
function encoded(prompt: number[], answer: number[]): EncodedExample {
  return {
    inputIds: Int32Array.from([...prompt, ...answer]),
    labels: Int32Array.from([...prompt.map(() => IGNORE_INDEX), ...answer]),
  };
}

/**
 * Three pairs and a padding pair: answers that differ from their first token, answers that share their first
 * token (a learned token in the shared part), and two sequences that share nothing (KTO's rows may not).
 */
const PAIRS: [EncodedExample, EncodedExample][] = [
  [encoded([1, 5, 7, 2, 9], [3, 4, 11]), encoded([1, 5, 7, 2, 9], [6, 12, 8, 10])],
  [encoded([2, 8, 8, 4], [10, 3, 7]), encoded([2, 8, 8, 4], [10, 12])],
  [encoded([4, 6], [9, 1, 2, 3]), encoded([7, 6], [5, 5])],
];
const P = PAIRS.length + 1;
const SLOTS = 8;

/** A model graph (its weights are initializers held as files) opened once. */
async function opened(graph: Graph) {
  const file = await saveGraph(graph, mkdtempSync(path.join(tmpdir(), "preference-tree-")));
  const { session } = await createSession(file, { intraOpNumThreads: 1, graphOptimizationLevel: "basic" });
  return async (feeds: Record<string, TypedArray>): Promise<Record<string, TypedArray>> => {
    const ort = Object.fromEntries(graph.inputs.map((t) => [t.name, toOrt(t.dtype, t.shape, feeds[t.name]!)]));
    const out = await session.run(ort);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as TypedArray]));
  };
}

const ids = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a), BigInt);

/** The tree batch's feeds, its objective's weights included. */
function treeFeeds(batch: PreferenceBatch, spec: PreferenceSpec): Record<string, TypedArray> {
  return {
    [stepNames.inputIds]: ids(batch.inputIds),
    [stepNames.positionIds]: ids(batch.positionIds),
    [stepNames.segmentIds]: ids(batch.segmentIds),
    ...objectiveFeeds(spec, batch, [batch]),
  };
}

/**
 * The layout the trees replace, as a graph: 2P rows (the chosen sequences, then the rejected ones), the logits at
 * every position, each row's summed log-probability of its learned tokens and the objective over them.
 */
function separateRowsGraph(config: ModelConfig, source: WeightSource, lora: LoraSpec | undefined, spec: PreferenceSpec, seq: number) {
  const rows = 2 * P;
  const g = new Graph({ name: "separate-rows", dims: { batch: rows, seq } });
  const params = trainableParams(config, source, lora);
  const trainable = new Map(params.map((p) => [p.name, g.input(p.name, "float64", p.shape)]));
  const frozen = graphWeights(g, source, { dtype: "float64" as "float32" });
  const weights = lora ? frozen : { get: (name: string) => trainable.get(name) ?? frozen.get(name) };
  const input = (name: string) => g.input(name, "int64", [rows, seq]);
  const { logits } = buildForward(
    g,
    config,
    weights,
    { inputIds: input(stepNames.inputIds), positionIds: input(stepNames.positionIds), segmentIds: input(stepNames.segmentIds) },
    lora
      ? {
          lora: {
            targets: lora.targets,
            rank: lora.rank,
            alpha: lora.alpha,
            rsLora: lora.rsLora,
            weights: (module: string) => ({ a: trainable.get(`${module}.lora_A`)!, b: trainable.get(`${module}.lora_B`)! }),
          },
        }
      : {},
  );
  const { sum, count } = sequenceLogps(reshape(logits!, [-1, config.vocabSize]), reshape(input(stepNames.targets), [-1]), rows);
  const float = (name: string, n: number) => g.input(name, "float64", [n]);
  const { loss, metrics } = preferenceObjective(spec, {
    sum,
    count,
    ref: float(preferenceNames.refLogps, rows),
    pairWeight: float(preferenceNames.pairWeight, P),
    chosenWeight: float(preferenceNames.chosenWeight, P),
    rejectedWeight: float(preferenceNames.rejectedWeight, P),
    invCount: g.input(stepNames.invCount, "float64", []),
  });
  g.output(stepNames.loss, loss);
  g.output(preferenceNames.logps, sum);
  for (const [name, t] of Object.entries(metrics)) g.output(`${stepNames.metricPrefix}${name}`, t);
  const grads = grad(
    loss,
    params.map((p) => trainable.get(p.name)!),
  );
  params.forEach((p, i) => g.output(stepNames.grad(p.name), grads[i]!));
  return g;
}

/** The separate-rows feeds of the same pairs: row k the chosen of pair k, row P + k its rejected; targets shifted. */
function separateFeeds(seq: number): Record<string, TypedArray> {
  const rows = 2 * P;
  const feeds = {
    [stepNames.inputIds]: new BigInt64Array(rows * seq),
    [stepNames.positionIds]: new BigInt64Array(rows * seq),
    [stepNames.segmentIds]: new BigInt64Array(rows * seq),
    [stepNames.targets]: new BigInt64Array(rows * seq).fill(BigInt(IGNORE_INDEX)),
  };
  PAIRS.forEach((pair, k) =>
    pair.forEach((sequence, s) => {
      const offset = (s * P + k) * seq;
      for (let i = 0; i < sequence.inputIds.length; i++) {
        feeds[stepNames.inputIds]![offset + i] = BigInt(sequence.inputIds[i]!);
        feeds[stepNames.positionIds]![offset + i] = BigInt(i);
        feeds[stepNames.segmentIds]![offset + i] = 1n;
        if (i > 0) feeds[stepNames.targets]![offset + i - 1] = BigInt(sequence.labels[i]!);
      }
    }),
  );
  return feeds;
}

describe("pairTree", () => {
  it("lays out the prompt once, then both answers at the prompt's next positions, each predicted from the prompt's last token", () => {
    const tree = pairTree(...PAIRS[0]!);
    expect(tree.shared).toBe(5);
    expect([...tree.inputIds]).toEqual([1, 5, 7, 2, 9, 3, 4, 11, 6, 12, 8, 10]);
    expect([...tree.positionIds]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 5, 6, 7, 8]);
    expect([...tree.branchIds]).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect(tree.slots[0]).toEqual({ at: [4, 5, 6], target: [3, 4, 11] });
    // the rejected answer's first token is predicted by the last prompt token (4), the rest by its own tokens
    expect(tree.slots[1]).toEqual({ at: [4, 8, 9, 10], target: [6, 12, 8, 10] });
  });

  it("shares a common answer token, and nothing when the sequences differ from the start", () => {
    const common = pairTree(...PAIRS[1]!);
    expect(common.shared).toBe(5);
    expect(common.slots[0]).toEqual({ at: [3, 4, 5], target: [10, 3, 7] });
    expect(common.slots[1]).toEqual({ at: [3, 4], target: [10, 12] });
    const apart = pairTree(...PAIRS[2]!);
    expect(apart.shared).toBe(0);
    expect([...apart.positionIds]).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3]);
    expect(apart.slots[1]).toEqual({ at: [7, 8], target: [5, 5] });
  });

  it("saves the prompt's tokens: a row holds the prompt once", () => {
    const batch = treeBatch(
      PAIRS.map((p) => pairTree(...p)),
      { pairs: P, buckets: [16], slotsPerSequence: SLOTS, padId: 0 },
    );
    const separate = PAIRS.reduce((n, [a, b]) => n + a.inputIds.length + b.inputIds.length, 0);
    expect(batch.tokens).toBe(separate - 5 - 5);
    expect(batch.learnedTokens).toBe(3 + 4 + 3 + 2 + 4 + 2);
  });
});

const MODELS: [string, ModelConfig, LoraSpec | undefined][] = [
  [
    "Llama, LoRA",
    tinyConfig("LlamaForCausalLM"),
    { rank: 2, alpha: 4, rsLora: false, targets: ["q_proj", "v_proj", "down_proj"], dropout: 0 },
  ],
  ["Llama, full", tinyConfig("LlamaForCausalLM"), undefined],
  [
    "Qwen2, LoRA",
    tinyConfig("Qwen2ForCausalLM"),
    { rank: 2, alpha: 4, rsLora: false, targets: ["k_proj", "o_proj", "up_proj"], dropout: 0 },
  ],
  ["Qwen2, full", tinyConfig("Qwen2ForCausalLM"), undefined],
];
const METHODS: [string, Partial<PreferenceSpec>][] = [
  ["DPO with rpo_alpha", { rpoAlpha: 0.6 }],
  ["ORPO", { method: "orpo", beta: 0.25 }],
  ["SimPO", { method: "simpo", beta: 2.0 }],
  ["KTO", { method: "kto", beta: 0.9 }],
];

/** Weights besides the model's, shared by both layouts: references, pair weights, KTO's classes, the NLL scale. */
function objectiveWeights(): Record<string, TypedArray> {
  const real = PAIRS.length;
  return {
    // the mismatched KTO rows' reference above the policy: the detached KL estimate is clamped at 0, a constant
    [preferenceNames.refLogps]: Float64Array.of(-9, -11, -7, 0, 0, 0, 0, 0),
    [preferenceNames.pairWeight]: Float64Array.from({ length: P }, (_, i) => (i < real ? 1 / real : 0)),
    [preferenceNames.chosenWeight]: Float64Array.of(0.5, 0, 0.5, 0),
    [preferenceNames.rejectedWeight]: Float64Array.of(0, 1, 0, 0),
    [stepNames.invCount]: Float64Array.of(1 / 10),
    [stepNames.dropoutSeed]: Float64Array.of(1),
  };
}

function trainableValues(config: ModelConfig, source: WeightSource, lora: LoraSpec | undefined, seed: number) {
  const r = uniform(seed);
  return Object.fromEntries(
    trainableParams(config, source, lora).map((p) => [
      p.name,
      // LoRA's A and B both nonzero, so every adapter has a gradient; full fine-tuning: the model's own values
      lora
        ? Float64Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => r() * 0.6)
        : Float64Array.from(source.read(p.name) as Float32Array),
    ]),
  );
}

const relError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let err = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
};

describe("trees equal separate rows (float64)", () => {
  const TREE_SEQ = 16;
  const SEPARATE_SEQ = 8;
  const batch = treeBatch(
    PAIRS.map((p) => pairTree(...p)),
    { pairs: P, buckets: [TREE_SEQ], slotsPerSequence: SLOTS, padId: 0 },
  );

  it.each(
    MODELS.flatMap(([model, config, lora]) => METHODS.map(([method, change]) => [`${model}, ${method}`, config, lora, change] as const)),
  )(
    "%s: log-probabilities, loss, metrics and gradients",
    async (_, config, lora, change) => {
      const spec = { ...base, ...change };
      const { source } = randomModel(config, 23);
      const weights = trainableValues(config, source, lora, 5);
      const shape = { config, source, batch: P, seq: TREE_SEQ, answers: batch.answers, dtype: "float64" as const, preference: spec };
      const { graph, params } = buildStepGraph({ ...shape, ...(lora ? { lora } : {}), kind: "step" });
      const feeds = { ...treeFeeds(batch, spec), ...objectiveWeights(), ...weights };
      const tree = await (await opened(graph))(feeds);
      const treeLogps = (await (await opened(buildEvalGraph({ ...shape, ...(lora ? { lora } : {}) })))(feeds))[preferenceNames.logps]!;
      const separate = await (
        await opened(separateRowsGraph(config, source, lora, spec, SEPARATE_SEQ))
      )({
        ...separateFeeds(SEPARATE_SEQ),
        ...objectiveWeights(),
        ...weights,
      });
      const separateLogps = separate[preferenceNames.logps] as Float64Array;
      expect(relError(treeLogps as Float64Array, separateLogps)).toBeLessThan(1e-12);
      // the sequences are learned at all: every real sequence has a log-probability below 0
      expect([...separateLogps].filter((x) => x < 0)).toHaveLength(2 * PAIRS.length);
      expect(relError(tree[stepNames.loss] as Float64Array, separate[stepNames.loss] as Float64Array)).toBeLessThan(1e-12);
      for (const name of Object.keys(separate).filter((n) => n.startsWith(stepNames.metricPrefix)))
        expect(relError(tree[name] as Float64Array, separate[name] as Float64Array), name).toBeLessThan(1e-12);
      for (const p of params) {
        const expected = separate[stepNames.grad(p.name)] as Float64Array;
        expect(Math.max(...expected.map(Math.abs)), p.name).toBeGreaterThan(0);
        expect(relError(tree[stepNames.grad(p.name)] as Float64Array, expected), p.name).toBeLessThan(1e-10);
      }
    },
    60_000,
  );
});

describe("tree step graph through a model (float64)", () => {
  const config = tinyConfig("LlamaForCausalLM");
  const lora: LoraSpec = { rank: 2, alpha: 4, rsLora: false, targets: ["q_proj", "v_proj", "down_proj"], dropout: 0 };
  const { source } = randomModel(config, 11);
  const batch = treeBatch(
    PAIRS.map((p) => pairTree(...p)),
    { pairs: P, buckets: [16], slotsPerSequence: SLOTS, padId: 0 },
  );
  const weights = trainableValues(config, source, lora, 3);

  it.each([
    ["DPO sigmoid", {}],
    ["DPO IPO (length-normalised)", { lossType: "ipo" }],
    ["ORPO", { method: "orpo", beta: 0.25 }],
    ["SimPO with cpo_alpha", { method: "simpo", beta: 2.5, simpoGamma: 1.2, cpoAlpha: 0.4 }],
    ["KTO", { method: "kto", beta: 0.9 }],
  ] as [string, Partial<PreferenceSpec>][])(
    "%s: the step graph's gradients match finite differences",
    async (_, change) => {
      const spec = { ...base, ...change };
      const { graph, params } = buildStepGraph({
        config,
        source,
        batch: P,
        seq: 16,
        answers: batch.answers,
        lora,
        dtype: "float64",
        kind: "step",
        preference: spec,
      });
      const feeds = { ...treeFeeds(batch, spec), ...objectiveWeights(), ...weights };
      const used = Object.fromEntries(graph.inputs.map((t) => [t.name, feeds[t.name]!]));
      const run = await opened(graph);
      const out = await run(used);
      const lossAt = async (name: string, i: number, d: number) => {
        const data = (used[name] as Float64Array).slice();
        data[i]! += d;
        return (await run({ ...used, [name]: data }))[stepNames.loss]![0] as number;
      };
      const pick = uniform(17);
      let worst = 0;
      for (const p of params.filter((_, k) => k % 3 === 0)) {
        const analytic = out[stepNames.grad(p.name)] as Float64Array;
        let err = 0;
        let scale = 1e-12;
        for (let k = 0; k < 2; k++) {
          const i = Math.floor((pick() + 0.5) * analytic.length);
          const h = 1e-4;
          const d1 = ((await lossAt(p.name, i, h)) - (await lossAt(p.name, i, -h))) / (2 * h);
          const d2 = ((await lossAt(p.name, i, h / 2)) - (await lossAt(p.name, i, -h / 2))) / h;
          const numeric = (4 * d2 - d1) / 3;
          err = Math.max(err, Math.abs(analytic[i]! - numeric));
          scale = Math.max(scale, Math.abs(numeric));
        }
        worst = Math.max(worst, err / scale);
      }
      expect(worst).toBeLessThan(1e-6);
    },
    60_000,
  );
});
