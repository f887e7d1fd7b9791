// The training step as one graph per shape bucket: forward, masked next-token cross-entropy, the gradients of the
// trainable tensors and their global norm. AdamW runs in place on the trainer's arrays after it (optimizer.ts), so
// the trainable state lives once. Frozen base weights are initializers (they stay inside the runtime); trainable
// tensors are inputs.
//
// The graph kinds are what the loop runs, one to one. "step": a micro-batch that is a whole optimizer step (loss,
// gradients, norm). With gradient accumulation, "accumulate" adds a micro-batch's gradients into accumulators, and
// "step-acc", the last micro-batch, adds its own to them before the norm. The loss of every micro-batch is its summed
// cross-entropy times `inv_count` = 1 / (learned tokens in the whole optimizer step), so the accumulated gradient is
// exactly the gradient of the mean over the step's tokens.

import {
  add,
  arange,
  cast,
  crossEntropy,
  div,
  equal,
  argMax,
  gather,
  Graph,
  greaterEqual,
  grad,
  mul,
  not,
  reduceSum,
  reshape,
  sin,
  sqrt,
  sub,
  sum,
  type DType,
  type Tensor,
} from "@neural/graph";
import type { ModelConfig } from "./models/config.js";
import { buildForward, linearModules, type ForwardOptions } from "./models/transformer.js";
import { graphWeights, type WeightSource } from "./models/weights.js";
import { preferenceLoss, preferenceNames, type PreferenceSpec } from "./preference.js";
import { tokenRowsName, tokenRowWeights, withTrainedRows } from "./token-rows.js";

export interface LoraSpec {
  rank: number;
  alpha: number;
  rsLora: boolean;
  /** Short module names (q_proj, ...) from linearModules(config). */
  targets: readonly string[];
  dropout: number;
  /** Tokens added to the base's vocabulary: their embedding (and untied output) rows train too (token-rows.ts). */
  trainableTokens?: readonly number[];
}

export type StepGraphKind = "step" | "accumulate" | "step-acc";

/** What the step and eval graphs are built from; `kind` picks the step graph. */
export interface StepGraphSpec {
  config: ModelConfig;
  source: WeightSource;
  batch: number;
  seq: number;
  /** LoRA adapters on a frozen base, or every weight trainable (full fine-tuning, from scratch). */
  lora?: LoraSpec;
  recompute?: boolean;
  dtype?: "float32" | "float64";
  kind: StepGraphKind;
  /**
   * Answer-only loss: the output projection and the loss run at this many positions (fed as `answer_positions`)
   * instead of all batch × seq; without it, at every position.
   */
  answers?: number;
  /** Replace how frozen base weights are applied (QLoRA). */
  linear?: ForwardOptions["linear"];
  /**
   * Mixed precision (GPU providers): compute in float16 or bfloat16 with the frozen weights stored so, while the
   * trainable tensors, their gradients and the loss stay float32 (precision.ts). float16 adds loss scaling: an
   * input `loss_scale` multiplies the loss before the backward and divides the gradients after it; gradients that
   * overflow make grad_norm non-finite, and the loop skips that step.
   */
  precision?: "float16" | "bfloat16";
  /**
   * A preference objective (preference.ts) in place of next-token cross-entropy. Its batches are trees: each row is
   * one pair (a prompt, then its two answers as branches, fed as `branch_ids`), and `answers` counts the answer
   * slots of all 2 × batch sequences, fed as `answer_positions` with their targets in `answer_targets`.
   */
  preference?: PreferenceSpec;
}

export interface TrainableParam {
  /** Graph input name; for LoRA "<module>.lora_A" / ".lora_B", else the HF tensor name. */
  name: string;
  shape: number[];
  /** Weight decay applies (not to norms and biases). */
  decay: boolean;
}

/** Names of the graph's inputs and outputs. */
export const stepNames = {
  inputIds: "input_ids",
  positionIds: "position_ids",
  segmentIds: "segment_ids",
  /** int64 [batch, seq], preference graphs: 0 on a row's prompt, 1 on its chosen answer, 2 on its rejected one. */
  branchIds: "branch_ids",
  /** Labels shifted left by one: the token each position should predict, -100 where nothing is learned. */
  targets: "targets",
  /**
   * int64 [answers]: the flat positions (row · seq + index) whose targets are learned, then padding entries that
   * point at the batch's last position, which predicts nothing (its target is always -100).
   */
  answerPositions: "answer_positions",
  /**
   * int64 [answers], preference graphs: the token each answer slot predicts (-100 on padding slots). A position
   * may feed two slots: a prompt's last token predicts the first token of both answers.
   */
  answerTargets: "answer_targets",
  invCount: "inv_count",
  dropoutSeed: "dropout_seed",
  lossScale: "loss_scale",
  loss: "loss",
  gradNorm: "grad_norm",
  acc: (p: string) => `acc.${p}`,
  newAcc: (p: string) => `new.acc.${p}`,
  grad: (p: string) => `grad.${p}`,
  /** A second objective's metrics: outputs named metric.<name>, which the loop sums over a step's micro-batches. */
  metricPrefix: "metric.",
  /** Outputs of the eval graph. */
  lossSum: "loss_sum",
  count: "count",
  correct: "correct",
} as const;

/** The trainable tensors of a model under a LoRA spec (or all weights without one), in a fixed order. */
/** How many values the trainable tensors hold together. */
export function trainableValueCount(params: readonly TrainableParam[]): number {
  return params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

export function trainableParams(config: ModelConfig, source: WeightSource, lora?: LoraSpec): TrainableParam[] {
  if (!lora) {
    return source.names.map((name) => ({ name, shape: [...source.shape(name)], decay: !/(norm\.weight|\.bias)$/.test(name) }));
  }
  const params: TrainableParam[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const module of linearModules(config)) {
      if (!lora.targets.includes(module.slice(module.indexOf(".") + 1))) continue;
      const full = `model.layers.${layer}.${module}`;
      const [outF, inF] = source.shape(`${full}.weight`) as [number, number];
      params.push({ name: `${full}.lora_A`, shape: [lora.rank, inF], decay: true });
      params.push({ name: `${full}.lora_B`, shape: [outF, lora.rank], decay: true });
    }
  }
  if (lora.trainableTokens?.length) {
    for (const weight of tokenRowWeights(source))
      params.push({ name: tokenRowsName(weight), shape: [lora.trainableTokens.length, source.shape(weight)[1]!], decay: false });
  }
  return params;
}

const shapeName = (spec: Pick<StepGraphSpec, "batch" | "seq" | "answers">) =>
  `${spec.batch}x${spec.seq}${spec.answers === undefined ? "" : `a${spec.answers}`}`;

/** Inputs, trainable tensors and the forward pass shared by the step and eval graphs. */
function forwardPass(g: Graph, spec: Omit<StepGraphSpec, "kind">, withDropout: boolean) {
  const { config, lora } = spec;
  const dtype: DType = spec.dtype ?? "float32";
  // the compute type: float32/64, or 16-bit with float32 master weights
  const compute: DType = spec.precision ?? dtype;
  const params = trainableParams(config, spec.source, lora);
  const trainable = new Map(params.map((p) => [p.name, g.input(p.name, dtype, p.shape)]));
  const base = graphWeights(g, spec.source, { dtype: compute as "float32" });
  const tokens = lora?.trainableTokens;
  const frozen = tokens?.length ? withTrainedRows(g, base, tokens, (weight) => trainable.get(tokenRowsName(weight))) : base;
  const weights = lora ? frozen : { get: (name: string) => (trainable.has(name) ? cast(trainable.get(name)!, compute) : frozen.get(name)) };
  const ids = (name: string) => g.input(name, "int64", ["batch", "seq"]);
  const inputIds = ids(stepNames.inputIds);
  const positionIds = ids(stepNames.positionIds);
  const segmentIds = ids(stepNames.segmentIds);
  const tree = spec.preference !== undefined;
  if (tree && spec.answers === undefined) throw new RangeError("a preference graph needs its answer slots (answers)");
  const branchIds = tree ? ids(stepNames.branchIds) : undefined;
  const answerPositions = spec.answers === undefined ? undefined : g.input(stepNames.answerPositions, "int64", [spec.answers]);
  const targets = tree
    ? g.input(stepNames.answerTargets, "int64", [spec.answers!])
    : answerPositions
      ? gather(reshape(ids(stepNames.targets), [-1]), answerPositions)
      : reshape(ids(stepNames.targets), [-1]);

  let dropout: ((x: Tensor) => Tensor) | undefined;
  if (withDropout && lora && lora.dropout > 0) {
    const seed = g.input(stepNames.dropoutSeed, dtype, []);
    let salt = 0;
    dropout = (x) => mul(x, cast(dropoutMask(cast(x, dtype), lora.dropout, seed, ++salt), x.dtype));
  }
  const forward = buildForward(
    g,
    config,
    weights,
    { inputIds, positionIds, segmentIds, ...(branchIds ? { branchIds } : {}) },
    {
      ...(answerPositions ? { logitsAt: answerPositions } : {}),
      ...(spec.recompute ? { recompute: true } : {}),
      ...(spec.linear ? { linear: spec.linear } : {}),
      ...(lora
        ? {
            lora: {
              targets: lora.targets,
              rank: lora.rank,
              alpha: lora.alpha,
              rsLora: lora.rsLora,
              weights: (module: string) => ({
                a: cast(trainable.get(`${module}.lora_A`)!, compute),
                b: cast(trainable.get(`${module}.lora_B`)!, compute),
              }),
              ...(dropout ? { dropout } : {}),
            },
          }
        : {}),
    },
  );
  // the loss in float32 whatever the compute type
  const logits = cast(reshape(forward.logits!, [-1, config.vocabSize]), dtype);
  return { dtype, params, trainable, logits, targets };
}

export function buildStepGraph(spec: StepGraphSpec): { graph: Graph; params: TrainableParam[] } {
  const g = new Graph({ name: `train-${spec.kind}-${shapeName(spec)}`, dims: { batch: spec.batch, seq: spec.seq } });
  const { dtype, params, trainable, logits, targets } = forwardPass(g, spec, true);
  const invCount = g.input(stepNames.invCount, dtype, []);
  const objective = spec.preference ? preferenceLoss(g, spec.preference, logits, targets, 2 * spec.batch, invCount) : undefined;
  for (const [name, value] of Object.entries(objective?.metrics ?? {})) g.output(`${stepNames.metricPrefix}${name}`, value);
  const loss = objective ? objective.loss : mul(crossEntropy(logits, targets, { reduction: "sum" }), invCount);
  g.output(stepNames.loss, loss);

  // float16: the backward runs on loss × scale so that small gradients do not flush to zero; unscaled after.
  const scale = spec.precision === "float16" ? g.input(stepNames.lossScale, dtype, []) : undefined;
  const raw = grad(
    scale ? mul(loss, scale) : loss,
    params.map((p) => trainable.get(p.name)!),
  );
  const grads = scale ? raw.map((d) => div(d, scale)) : raw;
  const withAccumulators = (i: number) => add(g.input(stepNames.acc(params[i]!.name), dtype, params[i]!.shape), grads[i]!);
  if (spec.kind === "accumulate") {
    params.forEach((p, i) => g.output(stepNames.newAcc(p.name), withAccumulators(i)));
    return { graph: g, params };
  }
  const total = params.map((_, i) => (spec.kind === "step-acc" ? withAccumulators(i) : grads[i]!));
  g.output(stepNames.gradNorm, sqrt(sum(total.map((t) => reduceSum(mul(t, t))))));
  params.forEach((p, i) => g.output(stepNames.grad(p.name), total[i]!));
  return { graph: g, params };
}

/**
 * Dropout's keep-mask scaled by 1/(1-p), from a counter-based hash of each element's index and the step's seed
 * (fed as an input), so the same step always drops the same units: resuming reproduces the run bit for bit.
 */
function dropoutMask(x: Tensor, p: number, seed: Tensor, salt: number): Tensor {
  const n = x.shape.reduce((a, b) => a * b, 1);
  const index = reshape(cast(arange(x.graph, n), x.dtype), x.shape);
  const s = mul(sin(add(mul(index, 12.9898), mul(add(seed, salt * 0.618), 78.233))), 43758.5453);
  const magnitude = sqrt(mul(s, s));
  const fraction = sub(magnitude, cast(cast(magnitude, "int64"), x.dtype)); // uniform-looking in [0, 1)
  return mul(cast(greaterEqual(fraction, p), x.dtype), 1 / (1 - p));
}

/** The evaluation graph: summed loss, learned-token count and correct next-token predictions (no dropout). */
export function buildEvalGraph(spec: Omit<StepGraphSpec, "kind">): Graph {
  const g = new Graph({ name: `eval-${shapeName(spec)}`, dims: { batch: spec.batch, seq: spec.seq } });
  const { logits, targets, dtype } = forwardPass(g, spec, false);
  if (spec.preference) {
    // the pairs' loss and metrics weighted as fed, and each row's log-probability (the reference cache's values)
    const objective = preferenceLoss(g, spec.preference, logits, targets, 2 * spec.batch, g.input(stepNames.invCount, dtype, []));
    for (const [name, value] of Object.entries(objective.metrics)) g.output(`${stepNames.metricPrefix}${name}`, value);
    g.output(stepNames.lossSum, objective.loss);
    g.output(preferenceNames.logps, objective.sum);
    g.output(preferenceNames.counts, objective.count);
    return g;
  }
  g.output(stepNames.lossSum, crossEntropy(logits, targets, { reduction: "sum" }));
  const counted = cast(not(equal(targets, g.scalar(-100, "int64"))), "int64");
  g.output(stepNames.count, reduceSum(counted));
  g.output(stepNames.correct, reduceSum(mul(cast(equal(argMax(logits, -1), targets), "int64"), counted)));
  return g;
}
