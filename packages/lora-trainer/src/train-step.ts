// The training step as ONE graph per shape bucket: forward, masked next-token cross-entropy, gradients of the
// trainable tensors and their global norm. Kind "gradients" returns those, and the trainer applies AdamW to its
// arrays in place (adamw.ts): the trainable state then lives once, where AdamW inside the graph ("step") has ONNX
// Runtime hand back a new copy of every weight and moment (bench-small full fine-tuning: peak 1725 → 1336–1434 MiB,
// no slower). "step" keeps AdamW in the graph (clipping, decoupled weight decay, bias correction): the gradient
// checks read it. Frozen base weights are initializers (they stay inside the runtime); trainable tensors are inputs.
//
// Gradient accumulation uses a second graph of the same shape, "accumulate": forward + backward, adding the
// gradients into accumulators that the last micro-batch's graph adds to its own before the norm (and AdamW).
// The loss of every micro-batch is its summed cross-entropy times `inv_count` = 1 / (learned tokens in the whole
// optimizer step), so the accumulated gradient is exactly the gradient of the mean over the step's tokens.

import {
  add,
  arange,
  cast,
  crossEntropy,
  div,
  equal,
  argMax,
  Graph,
  where,
  greaterEqual,
  grad,
  minimum,
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

export interface LoraSpec {
  rank: number;
  alpha: number;
  rsLora: boolean;
  /** Short module names (q_proj, ...) from linearModules(config). */
  targets: readonly string[];
  dropout: number;
}

export interface OptimizerSpec {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 0 turns clipping off. */
  maxGradNorm: number;
}

export interface StepGraphSpec {
  config: ModelConfig;
  source: WeightSource;
  batch: number;
  seq: number;
  /** LoRA adapters on a frozen base, or every weight trainable (full fine-tuning, from scratch). */
  lora?: LoraSpec;
  recompute?: boolean;
  dtype?: "float32" | "float64";
  optimizer: OptimizerSpec;
  /**
   * "step": a whole optimizer step (AdamW in the graph); "gradients": loss, gradient norm and the gradients, for
   * AdamW applied in place outside the graph (adamw.ts); "accumulate": gradients added to accumulators.
   */
  kind: "step" | "gradients" | "accumulate";
  /** The step graph takes accumulators from earlier micro-batches (gradient accumulation > 1). */
  withAccumulators?: boolean;
  /** Replace how frozen base weights are applied (QLoRA). */
  linear?: ForwardOptions["linear"];
  /**
   * Mixed precision (GPU providers): compute in float16 or bfloat16 with the frozen weights stored so, while the
   * trainable tensors, their gradients, AdamW and the loss stay float32 (precision.ts). float16 adds loss scaling:
   * an input `loss_scale` multiplies the loss before the backward and divides the gradients after it, and a step
   * whose gradients overflow leaves the parameters and moments unchanged (grad_norm comes back non-finite).
   */
  precision?: "float16" | "bfloat16";
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
  /** Labels shifted left by one: the token each position should predict, -100 where nothing is learned. */
  targets: "targets",
  invCount: "inv_count",
  dropoutSeed: "dropout_seed",
  lr: "lr",
  biasCorrection1: "bias_correction1",
  biasCorrection2: "bias_correction2",
  lossScale: "loss_scale",
  loss: "loss",
  gradNorm: "grad_norm",
  /** Sum of every updated parameter: not finite if any new value is not (cheaper than scanning them in JS). */
  paramSum: "param_sum",
  m: (p: string) => `m.${p}`,
  v: (p: string) => `v.${p}`,
  acc: (p: string) => `acc.${p}`,
  newParam: (p: string) => `new.${p}`,
  newM: (p: string) => `new.m.${p}`,
  newV: (p: string) => `new.v.${p}`,
  newAcc: (p: string) => `new.acc.${p}`,
  grad: (p: string) => `grad.${p}`,
} as const;

/** The trainable tensors of a model under a LoRA spec (or all weights without one), in a fixed order. */
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
  return params;
}

/** Inputs, trainable tensors and the forward pass shared by the step and eval graphs. */
function forwardPass(g: Graph, spec: Omit<StepGraphSpec, "kind" | "withAccumulators" | "optimizer">, withDropout: boolean) {
  const { config, lora } = spec;
  const dtype: DType = spec.dtype ?? "float32";
  // the compute type: float32/64, or 16-bit with float32 master weights
  const compute: DType = spec.precision ?? dtype;
  const params = trainableParams(config, spec.source, lora);
  const trainable = new Map(params.map((p) => [p.name, g.input(p.name, dtype, p.shape)]));
  const frozen = graphWeights(g, spec.source, { dtype: compute as "float32" });
  const weights = lora ? frozen : { get: (name: string) => (trainable.has(name) ? cast(trainable.get(name)!, compute) : frozen.get(name)) };
  const ids = (name: string) => g.input(name, "int64", ["batch", "seq"]);
  const inputIds = ids(stepNames.inputIds);
  const positionIds = ids(stepNames.positionIds);
  const segmentIds = ids(stepNames.segmentIds);
  const targets = ids(stepNames.targets);

  let dropout: ((x: Tensor) => Tensor) | undefined;
  if (withDropout && lora && lora.dropout > 0) {
    const seed = g.input(stepNames.dropoutSeed, dtype, []);
    let salt = 0;
    dropout = (x) => mul(x, cast(dropoutMask(cast(x, dtype), lora.dropout, seed, ++salt), x.dtype));
  }
  const forward = buildForward(g, config, weights, { inputIds, positionIds, segmentIds }, {
    ...(spec.recompute ? { recompute: true } : {}),
    ...(spec.linear ? { linear: spec.linear } : {}),
    ...(lora
      ? {
          lora: {
            targets: lora.targets,
            rank: lora.rank,
            alpha: lora.alpha,
            rsLora: lora.rsLora,
            weights: (module: string) => ({ a: cast(trainable.get(`${module}.lora_A`)!, compute), b: cast(trainable.get(`${module}.lora_B`)!, compute) }),
            ...(dropout ? { dropout } : {}),
          },
        }
      : {}),
  });
  // the loss in float32 whatever the compute type
  const logits = cast(reshape(forward.logits!, [-1, config.vocabSize]), dtype);
  return { dtype, params, trainable, logits, targets: reshape(targets, [-1]) };
}

export function buildStepGraph(spec: StepGraphSpec): { graph: Graph; params: TrainableParam[] } {
  const g = new Graph({ name: `train-${spec.kind}-${spec.batch}x${spec.seq}`, dims: { batch: spec.batch, seq: spec.seq } });
  const { dtype, params, trainable, logits, targets } = forwardPass(g, spec, true);
  const invCount = g.input(stepNames.invCount, dtype, []);
  const loss = mul(crossEntropy(logits, targets, { reduction: "sum" }), invCount);
  g.output(stepNames.loss, loss);

  // float16: the backward runs on loss × scale so that small gradients do not flush to zero; unscaled after.
  const scale = spec.precision === "float16" ? g.input(stepNames.lossScale, dtype, []) : undefined;
  const raw = grad(scale ? mul(loss, scale) : loss, params.map((p) => trainable.get(p.name)!));
  const grads = scale ? raw.map((d) => div(d, scale)) : raw;
  if (spec.kind === "accumulate") {
    params.forEach((p, i) => g.output(stepNames.newAcc(p.name), add(g.input(stepNames.acc(p.name), dtype, p.shape), grads[i]!)));
    return { graph: g, params };
  }
  const o = spec.optimizer;
  const total = params.map((p, i) => (spec.withAccumulators ? add(g.input(stepNames.acc(p.name), dtype, p.shape), grads[i]!) : grads[i]!));
  const norm = sqrt(sum(total.map((t) => reduceSum(mul(t, t)))));
  g.output(stepNames.gradNorm, norm);
  if (spec.kind === "gradients") {
    params.forEach((p, i) => g.output(stepNames.grad(p.name), total[i]!));
    return { graph: g, params };
  }
  const clip = o.maxGradNorm > 0 ? minimum(div(g.scalar(o.maxGradNorm, dtype), add(norm, 1e-6)), 1) : undefined;
  const lr = g.input(stepNames.lr, dtype, []);
  const bc1 = g.input(stepNames.biasCorrection1, dtype, []);
  const bc2 = g.input(stepNames.biasCorrection2, dtype, []);
  // a float16 step whose gradients overflowed changes nothing (inf − inf is NaN, so this tests finiteness)
  const finite = scale ? equal(sub(norm, norm), g.scalar(0, dtype)) : undefined;
  const keep = (updated: Tensor, old: Tensor) => (finite ? where(finite, updated, old) : updated);
  // AdamW in as few passes over each tensor as it takes (full fine-tuning is bandwidth-bound here): clipping, the
  // (1 − β) factors, the bias corrections, the learning rate and the decoupled decay are folded into scalars first.
  // m = β1·m + c1·g, v = β2·v + c2·g² with c1 = clip·(1 − β1), c2 = clip²·(1 − β2);
  // p' = p·(1 − lr·wd) − (lr / bc1) · m / (√(v / bc2) + ε).
  const c1 = clip ? mul(clip, 1 - o.beta1) : g.scalar(1 - o.beta1, dtype);
  const c2 = clip ? mul(mul(clip, clip), 1 - o.beta2) : g.scalar(1 - o.beta2, dtype);
  const stepSize = div(lr, bc1);
  const invBc2 = div(g.scalar(1, dtype), bc2);
  const decayed = sub(g.scalar(1, dtype), mul(lr, o.weightDecay));
  const sums: Tensor[] = [];
  params.forEach((p, i) => {
    const param = trainable.get(p.name)!;
    const t = total[i]!;
    const mIn = g.input(stepNames.m(p.name), dtype, p.shape);
    const vIn = g.input(stepNames.v(p.name), dtype, p.shape);
    const m = keep(add(mul(mIn, o.beta1), mul(t, c1)), mIn);
    // (g·c2)·g, not g·g: ORT would merge g·g with the norm's and keep every square alive until here
    const v = keep(add(mul(vIn, o.beta2), mul(mul(t, c2), t)), vIn);
    const update = mul(div(m, add(sqrt(mul(v, invBc2)), o.epsilon)), stepSize);
    const updated = keep(sub(p.decay && o.weightDecay > 0 ? mul(param, decayed) : param, update), param);
    g.output(stepNames.newParam(p.name), updated);
    g.output(stepNames.newM(p.name), m);
    g.output(stepNames.newV(p.name), v);
    sums.push(reduceSum(updated));
  });
  g.output(stepNames.paramSum, sum(sums));
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
export function buildEvalGraph(spec: Omit<StepGraphSpec, "kind" | "withAccumulators" | "optimizer">): Graph {
  const g = new Graph({ name: `eval-${spec.batch}x${spec.seq}`, dims: { batch: spec.batch, seq: spec.seq } });
  const { logits, targets } = forwardPass(g, spec, false);
  g.output("loss_sum", crossEntropy(logits, targets, { reduction: "sum" }));
  const counted = cast(not(equal(targets, g.scalar(-100, "int64"))), "int64");
  g.output("count", reduceSum(counted));
  g.output("correct", reduceSum(mul(cast(equal(argMax(logits, -1), targets), "int64"), counted)));
  return g;
}
