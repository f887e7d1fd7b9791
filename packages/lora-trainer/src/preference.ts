// Preference objectives as graph parts: the log-probability of each row's answer tokens, and the pairwise (DPO, IPO,
// hinge, ORPO, SimPO) or unpaired (KTO) losses over them, with the formulas and metric names of TRL's trainers.
//
// A batch of P pairs has 2P sequences: the P chosen answers, then the P rejected ones (KTO: the P completions, then P
// mismatched prompt/completion rows that estimate the KL term); in the graphs they are P rows, one tree per pair
// (preference-run.ts), whose answer slots are gathered per sequence. Each micro-batch's loss is Σ pair_weight·loss_pair,
// where the loop feeds pair_weight = 1 / (pairs in the optimizer step) and 0 for padding rows, so accumulated
// gradients are those of the mean over the step's pairs. A metric output is Σ weight·value in the same way: summing
// it over the micro-batches gives the step's mean. The NLL terms (ORPO, rpo_alpha, cpo_alpha) are the chosen
// answers' summed negative log-likelihood times inv_count = 1 / (chosen answer tokens in the step).
import {
  add,
  cast,
  div,
  exp,
  gatherElements,
  greater,
  log,
  maximum,
  mul,
  neg,
  reduceLogSumExp,
  reduceSum,
  reshape,
  sigmoid,
  slice,
  squeeze,
  stopGradient,
  sub,
  unsqueeze,
  where,
  equal,
  not,
  expand,
  full,
  scatterElements,
  softmax,
  type Graph,
  type OpDef,
  type Tensor,
} from "@neural/graph";
import type { DPO_LOSS_TYPES, TrainConfig, TrainMethod } from "./train-config.js";

export type PreferenceMethod = Exclude<TrainMethod, "sft">;
export type DpoLossType = (typeof DPO_LOSS_TYPES)[number];

/** A preference objective with TRL's knobs (DPOConfig, ORPOConfig, CPOConfig with loss_type "simpo", KTOConfig). */
export interface PreferenceSpec {
  method: PreferenceMethod;
  beta: number;
  /** DPO only. */
  lossType: DpoLossType;
  /** DPO: weight of the chosen answers' NLL added to the loss (RPO); 0 for none. */
  rpoAlpha: number;
  /** SimPO's target reward margin γ. */
  simpoGamma: number;
  /** SimPO: weight of the chosen answers' NLL (CPO's cpo_alpha); 0 is SimPO as published. */
  cpoAlpha: number;
  desirableWeight: number;
  undesirableWeight: number;
}

/** TRL's default β per method (ORPO's is its λ; SimPO's from the SimPO paper's range, as TRL's examples use). */
export const DEFAULT_BETA: Record<PreferenceMethod, number> = { dpo: 0.1, orpo: 0.1, simpo: 2.0, kto: 0.1 };

/** The objective a config asks for; undefined for --method sft. */
export function preferenceSpecOf(c: TrainConfig): PreferenceSpec | undefined {
  if (c.method === "sft") return undefined;
  return {
    method: c.method,
    beta: c.beta ?? DEFAULT_BETA[c.method],
    lossType: c.loss_type,
    rpoAlpha: c.rpo_alpha ?? 0,
    simpoGamma: c.simpo_gamma,
    cpoAlpha: c.cpo_alpha,
    desirableWeight: c.desirable_weight,
    undesirableWeight: c.undesirable_weight,
  };
}

/** Reference log-probabilities are needed (DPO and KTO); ORPO and SimPO have none. */
export const needsReference = (method: PreferenceMethod): boolean => method === "dpo" || method === "kto";

/** Per-row log-probabilities are averaged over the answer's tokens (IPO, SimPO, ORPO), else summed. */
export const lengthNormalised = (spec: Pick<PreferenceSpec, "method" | "lossType">): boolean =>
  spec.method === "orpo" || spec.method === "simpo" || (spec.method === "dpo" && spec.lossType === "ipo");

export const preferenceNames = {
  /** [2P]: the reference model's summed answer log-probabilities of each sequence (DPO, KTO). */
  refLogps: "ref_logps",
  /** [P]: each pair's weight in the step's loss. */
  pairWeight: "pair_weight",
  /** [P], KTO: 1 / (desirable rows in the step) on desirable rows, else 0; the rows' label and their metrics' weight. */
  chosenWeight: "chosen_weight",
  /** [P], KTO: the same for undesirable rows. */
  rejectedWeight: "rejected_weight",
  /** [2P], eval graph: each sequence's summed answer log-probability (the reference cache is made of these). */
  logps: "logps",
  /** [2P], eval graph: each sequence's answer tokens. */
  counts: "answer_tokens",
} as const;

/** The metrics each method reports, with TRL's names. */
export function metricNames(method: PreferenceMethod): string[] {
  const common = ["rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"];
  if (method === "kto") return [...common, "kl"];
  return [...common, "rewards/accuracies", "rewards/margins", ...(method === "orpo" ? ["log_odds_ratio", "log_odds_chosen"] : [])];
}

/**
 * Each sequence's summed log-probability of its learned targets: logits [rows·n, V] and int64 targets [rows·n]
 * (-100 where nothing is learned), n per sequence (its answer slots), to [rows]. Like CrossEntropy, no [N, V] tensor is made besides the logits in the
 * forward, and the gradient, (onehot − softmax) times the row's incoming gradient, subtracts at each label in place.
 */
const SequenceLogProb: OpDef<{ rows: number }> = {
  name: "SequenceLogProb",
  infer: ([logits, labels], { rows }) => {
    if (logits!.rank !== 2 || labels!.rank !== 1 || labels!.shape[0] !== logits!.shape[0] || logits!.shape[0]! % rows !== 0) {
      throw new RangeError(
        `SequenceLogProb: logits [N, V] and labels [N] with N a multiple of ${rows} rows, got [${logits!.shape}] and [${labels!.shape}]`,
      );
    }
    return [{ dtype: logits!.dtype, shape: [rows] }];
  },
  expand: ([logits, labels], { rows }) => {
    const valid = not(equal(labels!, -100));
    const safe = unsqueeze(where(valid, labels!, 0), 1);
    const token = squeeze(sub(gatherElements(logits!, safe, 1), reduceLogSumExp(logits!, 1, true)), 1);
    return [reduceSum(reshape(where(valid, token, 0), [rows, -1]), 1)];
  },
  grad: ([d], { inputs: [logits, labels], attrs: { rows } }) => {
    const [N] = logits!.shape as [number, number];
    const valid = not(equal(labels!, -100));
    const safe = unsqueeze(where(valid, labels!, 0), 1);
    const minusOne = full(logits!.graph, [N, 1], -1, logits!.dtype);
    const perToken = reshape(expand(reshape(d!, [rows, 1]), [rows, N / rows]), [N]);
    const rowScale = unsqueeze(where(valid, neg(perToken), 0), 1);
    return [mul(scatterElements(softmax(logits!, 1), safe, minusOne, 1, { reduction: "add" }), rowScale), undefined];
  },
};

/** Each sequence's summed answer log-probability [rows] and its answer tokens [rows]. */
export function sequenceLogps(logits: Tensor, targets: Tensor, rows: number): { sum: Tensor; count: Tensor } {
  const [sum] = logits.graph.apply(SequenceLogProb, [logits, targets], { rows });
  const valid = cast(not(equal(targets, -100)), logits.dtype);
  return { sum: sum!, count: reduceSum(reshape(valid, [rows, -1]), 1) };
}

/** log σ(x) without overflow: min(x, 0) − log(1 + e^(−|x|)). */
export function logSigmoid(x: Tensor): Tensor {
  const negative = greater(0, x);
  const magnitude = where(negative, neg(x), x);
  return sub(where(negative, x, 0), log(add(exp(neg(magnitude)), 1)));
}

export interface ObjectiveInputs {
  /** [2P] summed answer log-probabilities and [2P] answer token counts of the policy. */
  sum: Tensor;
  count: Tensor;
  /** [2P] the reference's summed log-probabilities (DPO, KTO). */
  ref?: Tensor;
  pairWeight: Tensor;
  /** KTO's per-class weights (see preferenceNames). */
  chosenWeight?: Tensor;
  rejectedWeight?: Tensor;
  /** 1 / (chosen answer tokens in the step), for the NLL terms. */
  invCount: Tensor;
}

/** The loss of a micro-batch and its metrics (each Σ weight·value; see the file's comment). */
export function preferenceObjective(spec: PreferenceSpec, x: ObjectiveInputs): { loss: Tensor; metrics: Record<string, Tensor> } {
  const rows = x.sum.shape[0]!;
  const P = rows / 2;
  const first = (t: Tensor) => slice(t, [0], [P]);
  const second = (t: Tensor) => slice(t, [P], [rows]);
  const normalise = lengthNormalised(spec);
  const perToken = (t: Tensor) => (normalise ? div(t, maximum(x.count, 1)) : t);
  const logps = perToken(x.sum);
  const ref = x.ref ? perToken(x.ref) : undefined;
  const [pc, pr] = [first(logps), second(logps)];
  const beta = spec.beta;
  const w = x.pairWeight;
  const weighted = (t: Tensor) => reduceSum(mul(w, t));
  const nll = mul(neg(reduceSum(where(greater(w, 0), first(x.sum), 0))), x.invCount);
  const metrics: Record<string, Tensor> = {};

  if (spec.method === "kto") {
    const [rc, rKl] = [first(ref!), second(ref!)];
    const cw = x.chosenWeight!;
    const rw = x.rejectedWeight!;
    // the KL estimate of the mismatched rows: a mean over the micro-batch, detached and clamped at 0 (TRL)
    const klRaw = div(reduceSum(mul(w, sub(second(logps), rKl))), maximum(reduceSum(w), 1e-30));
    const kl = stopGradient(maximum(klRaw, 0));
    const logratio = sub(pc, rc);
    const desirable = greater(cw, 0);
    const chosenLoss = mul(sub(1, sigmoid(mul(sub(logratio, kl), beta))), spec.desirableWeight);
    const rejectedLoss = mul(sub(1, sigmoid(mul(sub(kl, logratio), beta))), spec.undesirableWeight);
    const loss = weighted(where(desirable, chosenLoss, rejectedLoss));
    const rewards = stopGradient(mul(logratio, beta));
    metrics["rewards/chosen"] = reduceSum(mul(cw, rewards));
    metrics["rewards/rejected"] = reduceSum(mul(rw, rewards));
    metrics["logps/chosen"] = reduceSum(mul(cw, stopGradient(pc)));
    metrics["logps/rejected"] = reduceSum(mul(rw, stopGradient(pc)));
    metrics.kl = mul(kl, reduceSum(w));
    return { loss, metrics };
  }

  let perPair: Tensor;
  let chosenReward: Tensor;
  let rejectedReward: Tensor;
  let extra: Tensor | undefined;
  if (spec.method === "dpo") {
    const [rc, rr] = [first(ref!), second(ref!)];
    const logits = sub(sub(pc, pr), sub(rc, rr));
    perPair =
      spec.lossType === "sigmoid"
        ? neg(logSigmoid(mul(logits, beta)))
        : spec.lossType === "hinge"
          ? maximum(sub(1, mul(logits, beta)), 0)
          : mul(sub(logits, 1 / (2 * beta)), sub(logits, 1 / (2 * beta)));
    chosenReward = mul(sub(pc, rc), beta);
    rejectedReward = mul(sub(pr, rr), beta);
    if (spec.rpoAlpha > 0) extra = mul(nll, spec.rpoAlpha);
  } else if (spec.method === "simpo") {
    perPair = neg(logSigmoid(mul(sub(sub(pc, pr), spec.simpoGamma / beta), beta)));
    chosenReward = mul(pc, beta);
    rejectedReward = mul(pr, beta);
    if (spec.cpoAlpha > 0) extra = mul(nll, spec.cpoAlpha);
  } else {
    // ORPO: the odds ratio of the length-averaged probabilities, log(p/(1−p)), next to the chosen answers' NLL
    // padding rows (no tokens, log-probability 0) would make log(1 − 1): they take −1 and weight 0
    const real = greater(w, 0);
    const [c, r] = [where(real, pc, -1), where(real, pr, -1)];
    const logOdds = sub(sub(c, r), sub(log(sub(1, exp(c))), log(sub(1, exp(r)))));
    const ratio = logSigmoid(logOdds);
    perPair = neg(mul(ratio, beta));
    chosenReward = mul(pc, beta);
    rejectedReward = mul(pr, beta);
    extra = nll;
    metrics.log_odds_ratio = weighted(stopGradient(ratio));
    metrics.log_odds_chosen = weighted(stopGradient(logOdds));
  }
  const loss = extra ? add(weighted(perPair), extra) : weighted(perPair);
  const [rc, rr] = [stopGradient(chosenReward), stopGradient(rejectedReward)];
  metrics["rewards/chosen"] = weighted(rc);
  metrics["rewards/rejected"] = weighted(rr);
  metrics["rewards/accuracies"] = weighted(cast(greater(rc, rr), rc.dtype));
  metrics["rewards/margins"] = weighted(sub(rc, rr));
  metrics["logps/chosen"] = weighted(stopGradient(pc));
  metrics["logps/rejected"] = weighted(stopGradient(pr));
  return { loss, metrics };
}

/** Declares the objective's inputs on a step or eval graph of `rows` sequences and returns its loss, metrics and per-row log-probabilities. */
export function preferenceLoss(g: Graph, spec: PreferenceSpec, logits: Tensor, targets: Tensor, rows: number, invCount: Tensor) {
  if (rows % 2 !== 0) throw new RangeError(`a preference batch holds pairs of sequences, got ${rows} sequences`);
  const dtype = logits.dtype;
  const { sum, count } = sequenceLogps(logits, targets, rows);
  const P = rows / 2;
  const objective = preferenceObjective(spec, {
    sum,
    count,
    ...(needsReference(spec.method) ? { ref: g.input(preferenceNames.refLogps, dtype, [rows]) } : {}),
    pairWeight: g.input(preferenceNames.pairWeight, dtype, [P]),
    ...(spec.method === "kto"
      ? {
          chosenWeight: g.input(preferenceNames.chosenWeight, dtype, [P]),
          rejectedWeight: g.input(preferenceNames.rejectedWeight, dtype, [P]),
        }
      : {}),
    invCount,
  });
  return { ...objective, sum, count };
}
