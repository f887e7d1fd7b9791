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
interface AdamwExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  heapBase(): number;
  adamw(
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
  ): void;
}
type Kernel = (param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars, decayed: number) => void;
const CHUNK = 8192; // values per call: the four chunks (128 KiB) stay in cache while the kernel runs
let kernel: Kernel | null | undefined;

function wasmKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = Uint8Array.from(atob(ADAMW_WASM), (c) => c.charCodeAt(0));
    const e = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as AdamwExports;
    const base = (e.heapBase() + 15) & ~15;
    const need = base + 4 * CHUNK * 4;
    if (need > e.memory.buffer.byteLength) e.memory.grow(Math.ceil((need - e.memory.buffer.byteLength) / 65536));
    const mem = new Float32Array(e.memory.buffer);
    const [P, G, M, V] = [0, 1, 2, 3].map((k) => base / 4 + k * CHUNK) as [number, number, number, number];
    kernel = (param, grad, m, v, s, decayed) => {
      for (let i = 0; i < param.length; i += CHUNK) {
        const end = Math.min(i + CHUNK, param.length);
        mem.set(param.subarray(i, end), P);
        mem.set(grad.subarray(i, end), G);
        mem.set(m.subarray(i, end), M);
        mem.set(v.subarray(i, end), V);
        // a chunk's last 1–3 lanes past `end` compute on stale values and are not copied back
        e.adamw(P * 4, G * 4, M * 4, V * 4, (end - i + 3) & ~3, s.beta1, s.beta2, s.c1, s.c2, s.stepSize, s.invBc2, s.epsilon, decayed);
        param.set(mem.subarray(P, P + end - i), i);
        m.set(mem.subarray(M, M + end - i), i);
        v.set(mem.subarray(V, V + end - i), i);
      }
    };
  } catch {
    kernel = null; // no WebAssembly here: the JavaScript loop runs
  }
  return kernel;
}
