// AdamW applied in place to the trainable tensors, outside the step graph. The graph returns the gradients and
// their global norm; one pass per tensor then reads p, g, m, v and writes p, m, v, so the trainable state lives once
// (ONNX Runtime hands every graph output back as a new array). Clipping, the (1 − β) factors, the bias corrections,
// the learning rate and the decay are folded into scalars first.
import { ADAMW_WASM } from "./adamw-wasm.js";

export interface OptimizerSpec {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 0 turns clipping off. */
  maxGradNorm: number;
}

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

/**
 * m = β1·m + c1·g, v = β2·v + c2·g², p = p·(1 − lr·wd) − (lr / bc1) · m / (√(v / bc2) + ε), in place. float32
 * arrays go through the WebAssembly kernel (asm/adamw.ts: four lanes of native f32 arithmetic) where WebAssembly is
 * available; float64 ones (the gradient checks) and everything else through JavaScript.
 */
export function adamwInPlace<T extends Float32Array | Float64Array>(param: T, grad: T, m: T, v: T, s: AdamWScalars, decay: boolean): void {
  const decayed = decay ? s.decayed : 1;
  const kernel = param instanceof Float32Array && adamwBackend !== "js" ? wasmKernel() : null;
  if (kernel) kernel(param as Float32Array, grad as Float32Array, m as Float32Array, v as Float32Array, s, decayed);
  else adamwJs(param, grad, m, v, s, decayed);
}

function adamwJs(
  param: Float32Array | Float64Array,
  grad: Float32Array | Float64Array,
  m: Float32Array | Float64Array,
  v: Float32Array | Float64Array,
  s: AdamWScalars,
  decayed: number,
): void {
  const { beta1, beta2, c1, c2, stepSize, invBc2, epsilon } = s;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const mi = beta1 * m[i]! + c1 * g;
    const vi = beta2 * v[i]! + c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i]! * decayed - (stepSize * mi) / (Math.sqrt(vi * invBc2) + epsilon);
  }
}

/**
 * The moments' half of adamwInPlace, with the same arithmetic: m = β1·m + c1·g, v = β2·v + c2·g², in place. With
 * adamwUpdate it splits one adamwInPlace into two calls that give the same bits (optimizer.ts defers the moments).
 */
export function adamwFold(grad: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars): void {
  const k = adamwBackend !== "js" ? wasmKernels() : null;
  if (k) return k.fold(grad, m, v, s);
  const { beta1, beta2, c1, c2 } = s;
  for (let i = 0; i < m.length; i++) {
    const g = grad[i]!;
    m[i] = beta1 * m[i]! + c1 * g;
    v[i] = beta2 * v[i]! + c2 * g * g;
  }
}

/**
 * adamwInPlace writing only `param`: the new moments are computed for the update and dropped (adamwFold computes the
 * same values later). False when a new moment or weight is a NaN or an infinity.
 */
export function adamwUpdate(
  param: Float32Array,
  grad: Float32Array,
  m: Float32Array,
  v: Float32Array,
  s: AdamWScalars,
  decay: boolean,
): boolean {
  const decayed = decay ? s.decayed : 1;
  const k = adamwBackend !== "js" ? wasmKernels() : null;
  if (k) return k.update(param, grad, m, v, s, decayed);
  const { beta1, beta2, c1, c2, stepSize, invBc2, epsilon } = s;
  let check = 0;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const mi = beta1 * m[i]! + c1 * g;
    const vi = beta2 * v[i]! + c2 * g * g;
    param[i] = param[i]! * decayed - (stepSize * mi) / (Math.sqrt(vi * invBc2) + epsilon);
    check += Math.fround(mi) * 0 + Math.fround(vi) * 0 + param[i]! * 0; // 0 for finite float32 values, NaN otherwise
  }
  return check === 0;
}

let adamwBackend: "auto" | "js" = "auto";
/** "js" forces the JavaScript loop (tests and benchmarks compare the two); "auto" uses WebAssembly where it can. */
export function setAdamwBackend(backend: "auto" | "js"): void {
  adamwBackend = backend;
}

// The little of the WebAssembly JS API used here (the package's tsconfig has no DOM lib).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};
/** The kernels' arguments: where params, gradients, m and v sit in memory, their count, and the step's scalars. */
type AdamwArgs = [
  p: number,
  g: number,
  m: number,
  v: number,
  n: number,
  beta1: number,
  beta2: number,
  c1: number,
  c2: number,
  stepSize: number,
  invBc2: number,
  epsilon: number,
  decayed: number,
];
interface AdamwExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  heapBase(): number;
  adamw(...args: AdamwArgs): void;
  fold(g: number, m: number, v: number, n: number, beta1: number, beta2: number, c1: number, c2: number): void;
  update(...args: AdamwArgs): number;
}
interface Kernels {
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars, decayed: number): void;
  fold(grad: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars): void;
  update(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars, decayed: number): boolean;
}
const CHUNK = 8192; // values per call: the four chunks (128 KiB) stay in cache while the kernel runs
let kernels: Kernels | null | undefined;

function wasmKernel(): Kernels["adamw"] | null {
  return wasmKernels()?.adamw ?? null;
}

function wasmKernels(): Kernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const bytes = Uint8Array.from(atob(ADAMW_WASM), (c) => c.charCodeAt(0));
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as AdamwExports;
    const base = (e.heapBase() + 15) & ~15;
    const need = base + 4 * CHUNK * 4;
    if (need > e.memory.buffer.byteLength) e.memory.grow(Math.ceil((need - e.memory.buffer.byteLength) / 65536));
    const mem = new Float32Array(e.memory.buffer);
    const [P, G, M, V] = [0, 1, 2, 3].map((k) => base / 4 + k * CHUNK) as [number, number, number, number];
    // Copies values [i, end) of each array into its region; a chunk's last 1–3 lanes past `end` are zeroed, so the
    // kernels compute finite values there that are never copied back.
    const load = (i: number, end: number, pairs: [Float32Array, number][]) => {
      const lanes = (end - i + 3) & ~3;
      for (const [array, at] of pairs) {
        mem.set(array.subarray(i, end), at);
        mem.fill(0, at + end - i, at + lanes);
      }
      return lanes;
    };
    kernels = {
      adamw(param, grad, m, v, s, decayed) {
        for (let i = 0; i < param.length; i += CHUNK) {
          const end = Math.min(i + CHUNK, param.length);
          const lanes = load(i, end, [
            [param, P],
            [grad, G],
            [m, M],
            [v, V],
          ]);
          e.adamw(P * 4, G * 4, M * 4, V * 4, lanes, s.beta1, s.beta2, s.c1, s.c2, s.stepSize, s.invBc2, s.epsilon, decayed);
          param.set(mem.subarray(P, P + end - i), i);
          m.set(mem.subarray(M, M + end - i), i);
          v.set(mem.subarray(V, V + end - i), i);
        }
      },
      fold(grad, m, v, s) {
        for (let i = 0; i < m.length; i += CHUNK) {
          const end = Math.min(i + CHUNK, m.length);
          const lanes = load(i, end, [
            [grad, G],
            [m, M],
            [v, V],
          ]);
          e.fold(G * 4, M * 4, V * 4, lanes, s.beta1, s.beta2, s.c1, s.c2);
          m.set(mem.subarray(M, M + end - i), i);
          v.set(mem.subarray(V, V + end - i), i);
        }
      },
      update(param, grad, m, v, s, decayed) {
        let broken = 0;
        for (let i = 0; i < param.length; i += CHUNK) {
          const end = Math.min(i + CHUNK, param.length);
          const lanes = load(i, end, [
            [param, P],
            [grad, G],
            [m, M],
            [v, V],
          ]);
          broken |= e.update(P * 4, G * 4, M * 4, V * 4, lanes, s.beta1, s.beta2, s.c1, s.c2, s.stepSize, s.invBc2, s.epsilon, decayed);
          param.set(mem.subarray(P, P + end - i), i);
        }
        return broken === 0;
      },
    };
  } catch {
    kernels = null; // no WebAssembly here: the JavaScript loops run
  }
  return kernels;
}
