// A float64 oracle of one AdamW step for the specs: the gradients graph's outputs in, the updated parameters and
// moments out under names of their own, computed from the closed form (clipping by the global norm, the (1 − β)
// factors, bias corrections fed as values, decoupled weight decay). A step whose gradient norm is not finite
// changes nothing, as the training loop skips it.
import type { TypedArray } from "@neural/graph";
import { stepNames as graphNames, type TrainableParam } from "./train-step.js";

export interface OracleOptimizer {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 0 turns clipping off. */
  maxGradNorm: number;
}

/** The step graph's names plus the oracle's inputs (moments, learning rate, bias corrections) and outputs. */
export const stepNames = {
  ...graphNames,
  lr: "lr",
  biasCorrection1: "bias_correction1",
  biasCorrection2: "bias_correction2",
  m: (p: string) => `m.${p}`,
  v: (p: string) => `v.${p}`,
  newParam: (p: string) => `new.${p}`,
  newM: (p: string) => `new.m.${p}`,
  newV: (p: string) => `new.v.${p}`,
} as const;

/** Adds new.<p>, new.m.<p> and new.v.<p> to `out` (a "step" or "step-acc" graph's outputs) for every parameter. */
export function applyAdamwOracle(
  params: readonly TrainableParam[],
  feeds: Readonly<Record<string, TypedArray>>,
  out: Record<string, TypedArray>,
  o: OracleOptimizer,
): Record<string, TypedArray> {
  const norm = Number(out[stepNames.gradNorm]![0]);
  const finite = Number.isFinite(norm);
  const clip = o.maxGradNorm > 0 ? Math.min(o.maxGradNorm / (norm + 1e-6), 1) : 1;
  const lr = Number(feeds[stepNames.lr]![0]);
  const bc1 = Number(feeds[stepNames.biasCorrection1]![0]);
  const bc2 = Number(feeds[stepNames.biasCorrection2]![0]);
  for (const p of params) {
    const param = feeds[p.name] as Float32Array | Float64Array;
    const m0 = feeds[stepNames.m(p.name)] as Float32Array | Float64Array;
    const v0 = feeds[stepNames.v(p.name)] as Float32Array | Float64Array;
    const g = out[stepNames.grad(p.name)] as Float32Array | Float64Array;
    const make = () => new (param.constructor as Float64ArrayConstructor)(param.length);
    const [np, nm, nv] = [make(), make(), make()];
    for (let i = 0; i < param.length; i++) {
      if (!finite) {
        [np[i], nm[i], nv[i]] = [param[i]!, m0[i]!, v0[i]!];
        continue;
      }
      const gi = g[i]! * clip;
      nm[i] = o.beta1 * m0[i]! + (1 - o.beta1) * gi;
      nv[i] = o.beta2 * v0[i]! + (1 - o.beta2) * gi * gi;
      const decayed = p.decay && o.weightDecay > 0 ? param[i]! * (1 - lr * o.weightDecay) : param[i]!;
      np[i] = decayed - (lr / bc1) * (nm[i]! / (Math.sqrt(nv[i]! / bc2) + o.epsilon));
    }
    out[stepNames.newParam(p.name)] = np;
    out[stepNames.newM(p.name)] = nm;
    out[stepNames.newV(p.name)] = nv;
  }
  return out;
}
