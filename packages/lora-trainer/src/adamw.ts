// AdamW applied in place to the trainable tensors, outside the step graph. The graph (kind "gradients") returns
// the gradients and their global norm; one pass per tensor then reads p, g, m, v and writes p, m, v. With the
// optimizer inside the graph, ONNX Runtime returns a new copy of every weight and moment, so the trainable state
// lived twice (fed in, handed back); here it lives once, plus the gradients. Same arithmetic as buildStepGraph's
// AdamW: clipping, the (1 − β) factors, the bias corrections, the learning rate and the decay folded into scalars.
import type { OptimizerSpec } from "./train-step.js";

export interface AdamWStep {
  /** Learning rate of this step. */
  lr: number;
  /** 1-based optimizer step, for the bias corrections. */
  step: number;
  /** Global norm of the gradients (the graph's grad_norm), for clipping. */
  gradNorm: number;
}

export interface AdamWScalars {
  beta1: number;
  beta2: number;
  c1: number;
  c2: number;
  stepSize: number;
  invBc2: number;
  epsilon: number;
  decayed: number;
}

export function adamwScalars(o: OptimizerSpec, s: AdamWStep): AdamWScalars {
  const clip = o.maxGradNorm > 0 ? Math.min(o.maxGradNorm / (s.gradNorm + 1e-6), 1) : 1;
  return {
    beta1: o.beta1,
    beta2: o.beta2,
    c1: clip * (1 - o.beta1),
    c2: clip * clip * (1 - o.beta2),
    stepSize: s.lr / (1 - o.beta1 ** s.step),
    invBc2: 1 / (1 - o.beta2 ** s.step),
    epsilon: o.epsilon,
    decayed: 1 - s.lr * o.weightDecay,
  };
}

/** m = β1·m + c1·g, v = β2·v + c2·g², p = p·(1 − lr·wd) − (lr / bc1) · m / (√(v / bc2) + ε), in place. */
export function adamwInPlace<T extends Float32Array | Float64Array>(param: T, grad: T, m: T, v: T, s: AdamWScalars, decay: boolean): void {
  const { beta1, beta2, c1, c2, stepSize, invBc2, epsilon } = s;
  const decayed = decay ? s.decayed : 1;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const mi = beta1 * m[i]! + c1 * g;
    const vi = beta2 * v[i]! + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i]! * decayed - (stepSize * mi) / (Math.sqrt(vi * invBc2) + epsilon);
  }
}
