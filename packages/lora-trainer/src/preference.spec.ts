// The preference losses against float64 references of the published formulas (DPO and its IPO and hinge variants,
// RPO's NLL term, ORPO, SimPO, KTO, as TRL defines them), written here from the papers' equations: loss, reward
// metrics and gradients (the reference differentiated by Richardson-extrapolated central differences). The graph's
// own gradients are checked against finite differences of the graph here, and through a whole model in
// preference-tree.spec.ts.
import { grad, Graph, type TypedArray } from "@neural/graph";
import { runGraph } from "@neural/graph/node";
import { afterAll, describe, expect, it } from "vitest";
import { preferenceObjective, type PreferenceSpec, metricNames, lengthNormalised } from "./preference.js";
import { uniform } from "./test-fixtures.js";

const P = 3;
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

/** A tiny batch: P pairs, the last one padding (weight 0, no tokens). */
function tinyBatch(seed: number) {
  const r = uniform(seed);
  const count = Float64Array.from({ length: 2 * P }, (_, i) => (i % P === P - 1 ? 0 : 2 + Math.floor((r() + 0.5) * 5)));
  // summed log-probabilities: about −0.8 per token
  const sum = count.map((n) => (n ? n * (-0.8 + r() * 0.6) : 0));
  const ref = count.map((n, i) => (n ? sum[i]! + r() * 1.5 : 0));
  const real = P - 1;
  const pairWeight = Float64Array.from({ length: P }, (_, i) => (i < real ? 1 / real : 0));
  // KTO: row 0 desirable, row 1 undesirable
  const chosenWeight = Float64Array.from({ length: P }, (_, i) => (i === 0 ? 1 : 0));
  const rejectedWeight = Float64Array.from({ length: P }, (_, i) => (i === 1 ? 1 : 0));
  const chosenTokens = count.slice(0, P).reduce((a, b) => a + b, 0);
  return { sum, count, ref, pairWeight, chosenWeight, rejectedWeight, invCount: 1 / chosenTokens };
}
type Tiny = ReturnType<typeof tinyBatch>;

const logSigmoid = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The published formulas, per pair, averaged with the pair weights; metrics as TRL logs them. */
function reference(spec: PreferenceSpec, b: Tiny, sum: Float64Array, fixedKl?: number): { loss: number; metrics: Record<string, number> } {
  const norm = lengthNormalised(spec);
  const lp = (v: Float64Array, i: number) => (norm ? v[i]! / Math.max(b.count[i]!, 1) : v[i]!);
  const beta = spec.beta;
  let nll = 0;
  for (let i = 0; i < P; i++) if (b.pairWeight[i]! > 0) nll -= sum[i]!;
  nll *= b.invCount;
  const metrics: Record<string, number> = {};
  const add = (name: string, value: number) => (metrics[name] = (metrics[name] ?? 0) + value);
  let loss = 0;
  if (spec.method === "kto") {
    let kl = 0;
    let weights = 0;
    for (let i = 0; i < P; i++) {
      kl += b.pairWeight[i]! * (lp(sum, P + i) - lp(b.ref, P + i));
      weights += b.pairWeight[i]!;
    }
    kl = fixedKl ?? Math.max(kl / weights, 0);
    for (let i = 0; i < P; i++) {
      const logratio = lp(sum, i) - lp(b.ref, i);
      const desirable = b.chosenWeight[i]! > 0;
      const l = desirable
        ? spec.desirableWeight * (1 - sigmoid(beta * (logratio - kl)))
        : spec.undesirableWeight * (1 - sigmoid(beta * (kl - logratio)));
      loss += b.pairWeight[i]! * l;
      add("rewards/chosen", b.chosenWeight[i]! * beta * logratio);
      add("rewards/rejected", b.rejectedWeight[i]! * beta * logratio);
      add("logps/chosen", b.chosenWeight[i]! * lp(sum, i));
      add("logps/rejected", b.rejectedWeight[i]! * lp(sum, i));
    }
    metrics.kl = kl * weights;
    return { loss, metrics };
  }
  for (let i = 0; i < P; i++) {
    const w = b.pairWeight[i]!;
    if (w === 0) continue;
    const [pc, pr] = [lp(sum, i), lp(sum, P + i)];
    let l: number;
    let rc: number;
    let rr: number;
    if (spec.method === "dpo") {
      const [qc, qr] = [lp(b.ref, i), lp(b.ref, P + i)];
      const h = pc - pr - (qc - qr);
      l =
        spec.lossType === "sigmoid"
          ? -logSigmoid(beta * h)
          : spec.lossType === "hinge"
            ? Math.max(0, 1 - beta * h)
            : (h - 1 / (2 * beta)) ** 2;
      [rc, rr] = [beta * (pc - qc), beta * (pr - qr)];
    } else if (spec.method === "simpo") {
      l = -logSigmoid(beta * (pc - pr) - spec.simpoGamma);
      [rc, rr] = [beta * pc, beta * pr];
    } else {
      const logOdds = pc - pr - (Math.log1p(-Math.exp(pc)) - Math.log1p(-Math.exp(pr)));
      l = -beta * logSigmoid(logOdds);
      [rc, rr] = [beta * pc, beta * pr];
      add("log_odds_ratio", w * logSigmoid(logOdds));
      add("log_odds_chosen", w * logOdds);
    }
    loss += w * l;
    add("rewards/chosen", w * rc);
    add("rewards/rejected", w * rr);
    add("rewards/accuracies", w * (rc > rr ? 1 : 0));
    add("rewards/margins", w * (rc - rr));
    add("logps/chosen", w * pc);
    add("logps/rejected", w * pr);
  }
  const alpha = spec.method === "orpo" ? 1 : spec.method === "dpo" ? spec.rpoAlpha : spec.cpoAlpha;
  return { loss: loss + alpha * nll, metrics };
}

/** Central differences with Richardson extrapolation (error O(h⁴)) of f at each of `indices`. */
async function differences(
  f: (x: Float64Array) => number | Promise<number>,
  x: Float64Array,
  indices: readonly number[],
  h = 1e-3,
): Promise<number[]> {
  const at = async (i: number, d: number) => {
    const y = x.slice();
    y[i]! += d;
    return f(y);
  };
  const out: number[] = [];
  for (const i of indices) {
    const d1 = ((await at(i, h)) - (await at(i, -h))) / (2 * h);
    const d2 = ((await at(i, h / 2)) - (await at(i, -h / 2))) / h;
    out.push((4 * d2 - d1) / 3);
  }
  return out;
}

let worst = 0;
afterAll(() => {
  if (process.env.NEURAL_REPORT)
    console.log(`largest relative error against the float64 references and finite differences: ${worst.toExponential(2)}`);
});

const relError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let err = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  worst = Math.max(worst, err / scale);
  return err / scale;
};

const CASES: [string, Partial<PreferenceSpec>][] = [
  ["DPO sigmoid", {}],
  ["DPO sigmoid with rpo_alpha", { rpoAlpha: 0.6 }],
  ["DPO IPO (length-normalised)", { lossType: "ipo" }],
  ["DPO hinge", { lossType: "hinge", beta: 0.2 }],
  ["ORPO", { method: "orpo", beta: 0.25 }],
  ["SimPO", { method: "simpo", beta: 2.0, simpoGamma: 0.5 }],
  ["SimPO with cpo_alpha", { method: "simpo", beta: 2.5, simpoGamma: 1.2, cpoAlpha: 0.4 }],
  ["KTO", { method: "kto", beta: 0.9 }],
];

describe("preference objectives equal the published formulas (float64)", () => {
  it.each(CASES)("%s: loss, reward metrics and gradients", async (_, change) => {
    const spec = { ...base, ...change };
    const b = tinyBatch(spec.method.length * 7 + (change.lossType?.length ?? 0));
    const g = new Graph({ name: "objective" });
    const input = (name: string, n: number) => g.input(name, "float64", [n]);
    const sum = input("sum", 2 * P);
    const { loss, metrics } = preferenceObjective(spec, {
      sum,
      count: input("count", 2 * P),
      ref: input("ref", 2 * P),
      pairWeight: input("pair_weight", P),
      chosenWeight: input("chosen_weight", P),
      rejectedWeight: input("rejected_weight", P),
      invCount: g.input("inv_count", "float64", []),
    });
    expect(Object.keys(metrics).sort()).toEqual(metricNames(spec.method).sort());
    for (const [name, t] of Object.entries(metrics)) g.output(`metric.${name}`, t);
    const feeds: Record<string, TypedArray> = {
      sum: b.sum,
      count: b.count,
      ref: b.ref,
      pair_weight: b.pairWeight,
      chosen_weight: b.chosenWeight,
      rejected_weight: b.rejectedWeight,
      inv_count: Float64Array.of(b.invCount),
    };
    g.output("loss", loss);
    g.output("gradient", grad(loss, [sum])[0]!);
    const run = (s: Float64Array) => runGraph(g, { ...feeds, sum: s }, { intraOpNumThreads: 1 });
    const out = await run(b.sum);
    const expected = reference(spec, b, b.sum);
    expect(relError([out.loss![0] as number], [expected.loss])).toBeLessThan(1e-6);
    for (const [name, value] of Object.entries(expected.metrics))
      expect(relError([out[`metric.${name}`]![0] as number], [value]), name).toBeLessThan(1e-6);
    // KTO's KL estimate is detached (TRL): its rows get no gradient, and the others' treat it as a constant
    const gradient = out.gradient as Float64Array;
    const indices = [...Array(spec.method === "kto" ? P : 2 * P).keys()];
    const kl = spec.method === "kto" ? expected.metrics.kl! / b.pairWeight.reduce((a, c) => a + c, 0) : undefined;
    const ofReference = await differences((s) => reference(spec, b, s, kl).loss, b.sum, indices);
    const ofGraph = await differences(async (s) => (await run(s)).loss![0] as number, b.sum, indices);
    const analytic = indices.map((i) => gradient[i]!);
    expect(relError(analytic, ofReference)).toBeLessThan(1e-6);
    expect(relError(analytic, ofGraph)).toBeLessThan(1e-6);
    if (spec.method === "kto") expect([...gradient.slice(P)]).toEqual(new Array(P).fill(0));
    // padding rows get no gradient
    expect(gradient[P - 1]).toBe(0);
    expect(gradient[2 * P - 1]).toBe(0);
  });
});
