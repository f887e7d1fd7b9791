// The WebAssembly kernels (asm/kernels.ts, embedded by the repository's scripts/build-wasm.mjs): the same bytes as the JavaScript
// kernels, several times faster, because WebAssembly has native float32 arithmetic where JavaScript must round
// every double with Math.fround. Compiled lazily and synchronously; where that is not possible (no WebAssembly,
// or a browser main thread that refuses synchronous compilation) the JavaScript kernels run instead.
import { WASM_KERNELS } from "./wasm-kernels.js";
import { GgmlType, NonFiniteWeightError } from "./types.js";

// The little of the WebAssembly JS API used here (this package's tsconfig has no DOM lib).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ exports: unknown }>;
};

type Kernel = (x: number, nBlocks: number, y: number) => void;

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  heapBase(): number;
  nonFinite(x: number, n: number): number;
  q8_0: Kernel;
  q4_0: Kernel;
  q5_0: Kernel;
  q5_1: Kernel;
  q4_K: Kernel;
  q5_K: Kernel;
  q6_K: Kernel;
}

/** Types with a WebAssembly kernel: [export, values per block, bytes per block]. */
const WASM_TYPES: Partial<Record<number, [keyof Exports, number, number]>> = {
  [GgmlType.Q8_0]: ["q8_0", 32, 34],
  [GgmlType.Q4_0]: ["q4_0", 32, 18],
  [GgmlType.Q5_0]: ["q5_0", 32, 22],
  [GgmlType.Q5_1]: ["q5_1", 32, 24],
  [GgmlType.Q4_K]: ["q4_K", 256, 144],
  [GgmlType.Q5_K]: ["q5_K", 256, 176],
  [GgmlType.Q6_K]: ["q6_K", 256, 210],
};

const CHUNK_VALUES = 1 << 16; // values copied into WebAssembly memory per call (256 KiB)

let instance: Exports | null | undefined;

function decode(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const IMPORTS = {
  env: {
    abort: () => {
      throw new Error("wasm kernel abort");
    },
  },
};

function ready(inst: { exports: unknown }): Exports {
  const e = inst.exports as Exports;
  const need = e.heapBase() + CHUNK_VALUES * 4 + CHUNK_VALUES * 2 + 64;
  const have = e.memory.buffer.byteLength;
  if (need > have) e.memory.grow(Math.ceil((need - have) / 65536));
  return e;
}

function load(): Exports | null {
  if (instance !== undefined) return instance;
  try {
    instance = ready(new WebAssembly.Instance(new WebAssembly.Module(decode(WASM_KERNELS)), IMPORTS));
  } catch {
    instance = null; // no WebAssembly, or synchronous compilation refused: the JavaScript kernels run
  }
  return instance;
}

/**
 * Compiles the WebAssembly kernels asynchronously. Only needed where synchronous compilation is refused (a
 * browser's main thread limits it to small modules): call it once before quantizing there. Resolves to whether
 * the WebAssembly kernels are in use.
 */
export async function loadWasmKernels(): Promise<boolean> {
  if (instance) return true;
  try {
    const module = await WebAssembly.compile(decode(WASM_KERNELS));
    instance = ready(await WebAssembly.instantiate(module, IMPORTS));
  } catch {
    instance = null;
  }
  return instance !== null;
}

export type QuantizeBackend = "auto" | "wasm" | "js";
let backend: QuantizeBackend = "auto";

/**
 * Chooses the kernels: "auto" (WebAssembly where it can be compiled, else JavaScript; the default), "wasm" (throws
 * where WebAssembly is unavailable) or "js". Both give the same bytes; this exists for tests and benchmarks.
 */
export function setQuantizeBackend(b: QuantizeBackend): void {
  if (b === "wasm" && !load()) throw new Error("WebAssembly kernels are not available here");
  backend = b;
}

export function quantizeBackend(): "wasm" | "js" {
  return backend !== "js" && load() ? "wasm" : "js";
}

/**
 * Runs the WebAssembly kernel for `type` over whole blocks, checking for NaN and infinities on the way (throws
 * NonFiniteWeightError) unless `checkFinite` is false; false when it does not apply (then use JavaScript).
 */
export function wasmQuantize(
  type: number,
  x: Float32Array,
  out: Uint8Array,
  outOffset: number,
  name: string,
  indexBase = 0,
  checkFinite = true,
): boolean {
  if (backend === "js") return false;
  const spec = WASM_TYPES[type];
  if (!spec) return false;
  const e = load();
  if (!e) return false;
  const [exportName, bs, bb] = spec;
  const kernel = e[exportName] as Kernel;
  const base = (e.heapBase() + 63) & ~63;
  const yBase = base + CHUNK_VALUES * 4;
  let o = outOffset;
  for (let p = 0; p < x.length; p += CHUNK_VALUES) {
    const n = Math.min(CHUNK_VALUES, x.length - p);
    const nb = n / bs;
    const mem = e.memory.buffer;
    new Float32Array(mem, base, n).set(x.subarray(p, p + n));
    const bad = checkFinite ? e.nonFinite(base, n) : -1;
    if (bad >= 0) throw new NonFiniteWeightError(name, indexBase + p + bad, x[p + bad]!);
    kernel(base, nb, yBase);
    out.set(new Uint8Array(mem, yBase, nb * bb), o);
    o += nb * bb;
  }
  return true;
}
