// QLoRA: the frozen base weights of every linear layer as blockwise 4-bit integers inside the graph, in the forward
// and in the backward, on every execution provider (the CPU included). The forward reads Wᵀ [in, out] in int4 with
// one float32 scale per block of `blockSize` inputs (y = x·Wᵀ), as a DequantizeLinear (opset 21, blocked, axis 0)
// feeding exactly one MatMul: the pattern ONNX Runtime fuses into its 4-bit kernel (com.microsoft.MatMulNBits). A
// weight read by anything else is not fused, and the fp32 weight is then rebuilt every step (onnxruntime.md §4), so
// the backward dx = dy·W reads its own copy:
//   - "exact" (default): the forward's codes stored a second time, dequantized and multiplied transposed. The
//     gradients are exactly those of the 4-bit model (the float32 model with the dequantized weights).
//   - "transposed": W [out, in] quantized along `out`, so the backward is a fused 4-bit MatMul too. Its values
//     differ from the forward's by up to half a quantization step: ~10 % relative error in the LoRA gradients
//     (cosine 0.99; qlora.spec.ts). Not faster on the CPU at bench-small's sizes, hence not the default.
// Either way 2 × (½ + 4/blockSize) bytes per weight: 1.25 bytes at block 32 against 4 in float32.

import { GraphError, type Graph, type OpDef, type Tensor, add, attr, toBFloat16, toFloat16, type TypedArray } from "@neural/graph";
import type { ForwardOptions } from "./models/transformer.js";
import type { WeightSource } from "./models/weights.js";

export interface QloraOptions {
  /** Elements per quantization block along the reduction axis (a power of two ≥ 16 for ORT's fused kernel; default 32). */
  blockSize?: number;
  /**
   * The backward's weight: "exact" (default) a second copy of the forward's own codes, dequantized to float32 in
   * each backward (the exact gradient of the 4-bit model), or "transposed": an int4 copy of W quantized along `out`,
   * run by the fused 4-bit kernel (its values differ from the forward's by up to half a quantization step). Both
   * take the same memory.
   */
  backward?: "transposed" | "exact";
}

export const DEFAULT_QLORA_BLOCK = 32;

/** Signed 4-bit codes in [-8, 7] packed two per byte (low nibble first) and one scale per block. */
export interface Int4Matrix {
  rows: number;
  cols: number;
  blockSize: number;
  /** ceil(rows·cols / 2) bytes, row-major. */
  data: Uint8Array;
  /** [ceil(rows / blockSize), cols], row-major. */
  scales: Float32Array;
}

/**
 * Quantize a row-major [rows, cols] matrix (or, with `transpose`, the transpose of a row-major [cols, rows] matrix)
 * to int4 in blocks of `blockSize` consecutive rows per column: scale = max|x| / 7 over the block, code =
 * round(x / scale) (symmetric, no zero point), as ONNX DequantizeLinear with axis 0 and block_size reads it.
 */
export function quantizeInt4(values: Float32Array, rows: number, cols: number, blockSize: number, transpose = false): Int4Matrix {
  if (values.length !== rows * cols) throw new GraphError(`quantizeInt4: ${values.length} values for [${rows}, ${cols}]`);
  const at = transpose ? (r: number, c: number) => values[c * rows + r]! : (r: number, c: number) => values[r * cols + c]!;
  const blocks = Math.ceil(rows / blockSize);
  const scales = new Float32Array(blocks * cols);
  const data = new Uint8Array(Math.ceil((rows * cols) / 2));
  for (let b = 0; b < blocks; b++) {
    const r0 = b * blockSize;
    const r1 = Math.min(rows, r0 + blockSize);
    for (let c = 0; c < cols; c++) {
      let max = 0;
      for (let r = r0; r < r1; r++) max = Math.max(max, Math.abs(at(r, c)));
      const scale = Math.fround(max / 7);
      scales[b * cols + c] = scale;
      const inv = scale > 0 ? 1 / scale : 0;
      for (let r = r0; r < r1; r++) {
        const code = Math.max(-8, Math.min(7, Math.round(at(r, c) * inv)));
        const i = r * cols + c;
        data[i >> 1]! |= (code & 0xf) << ((i & 1) * 4);
      }
    }
  }
  return { rows, cols, blockSize, data, scales };
}

/** The float32 values an Int4Matrix stands for (code × scale of its block). */
export function dequantizeInt4(m: Int4Matrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const i = r * m.cols + c;
      const nibble = (m.data[i >> 1]! >> ((i & 1) * 4)) & 0xf;
      out[i] = Math.fround((nibble >= 8 ? nibble - 16 : nibble) * m.scales[Math.floor(r / m.blockSize) * m.cols + c]!);
    }
  }
  return out;
}

interface QAttrs {
  blockSize: number;
  /** Inputs 3 and 4 hold the forward's codes again (exact backward) instead of the transposed weight. */
  exact: boolean;
}

/**
 * x [..., K] · dequantize(q [K, N] int4, s [⌈K/block⌉, N]): lowered as DequantizeLinear + MatMul (fused by ORT).
 * Inputs 3 and 4 are the same weight transposed and quantized along N, used only by the gradient rule.
 */
export const QMatMul: OpDef<QAttrs> = {
  name: "QMatMul",
  infer: ([x, q, s, qt, st], { blockSize, exact }) => {
    const [K, N] = q!.shape as [number, number];
    const fits = (w: Tensor, sc: Tensor, k: number, n: number) =>
      w.dtype === "int4" && w.shape.join() === `${k},${n}` && sc.shape.join() === `${Math.ceil(k / blockSize)},${n}`;
    const other = exact ? fits(qt!, st!, K, N) : fits(qt!, st!, N, K);
    if (!fits(q!, s!, K, N) || !other || x!.shape[x!.rank - 1] !== K || s!.dtype !== x!.dtype || st!.dtype !== x!.dtype) {
      throw new GraphError(
        `QMatMul: x ${x}, weight ${q} (scales ${s}) and its transpose ${qt} (scales ${st}) do not fit (block ${blockSize})`,
      );
    }
    return [{ dtype: x!.dtype, shape: [...x!.shape.slice(0, -1), N] }];
  },
  lower: (e, [x, q, s], [y], { blockSize }) => {
    const [w] = e.node("DequantizeLinear", [q!, s!], { axis: attr.int(0), block_size: attr.int(blockSize) });
    e.node("MatMul", [x!, w!], {}, [y!]);
  },
  // dx = dy · dequantize(W)ᵀ: from the transposed copy, one more fusable DequantizeLinear + MatMul; or (exact) from
  // the second copy of the forward's codes, dequantized and multiplied transposed.
  grad: ([d], { inputs: [, q, s, qt, st], attrs, needs }) => {
    if (!needs[0]) return [undefined];
    if (attrs.exact) return [d!.graph.apply(QMatMulTransposed, [d!, qt!, st!], { blockSize: attrs.blockSize })[0]!];
    return [qmatmul(d!, qt!, st!, q!, s!, attrs.blockSize)];
  },
};

/** d [..., N] · dequantize(q [K, N], s)ᵀ → [..., K] (the exact backward of QMatMul; not differentiable). */
const QMatMulTransposed: OpDef<{ blockSize: number }> = {
  name: "QMatMulTransposed",
  infer: ([d, q]) => [{ dtype: d!.dtype, shape: [...d!.shape.slice(0, -1), q!.shape[0]!] }],
  lower: (e, [d, q, s], [y], { blockSize }) => {
    const [w] = e.node("DequantizeLinear", [q!, s!], { axis: attr.int(0), block_size: attr.int(blockSize) });
    const [wt] = e.node("Transpose", [w!], { perm: attr.ints([1, 0]) });
    e.node("MatMul", [d!, wt!], {}, [y!]);
  },
};

export const qmatmul = (x: Tensor, q: Tensor, s: Tensor, qt: Tensor, st: Tensor, blockSize: number, exact = false): Tensor =>
  x.graph.apply(QMatMul, [x, q, s, qt, st], { blockSize, exact })[0]!;

/** Names of a module's 4-bit tensors in the graph (and in the shared weights file). */
export const qloraNames = (module: string) => ({
  forward: `${module}.weight.int4_t`,
  forwardScales: `${module}.weight.int4_t.scales`,
  backward: `${module}.weight.int4`,
  backwardScales: `${module}.weight.int4.scales`,
  exactBackward: `${module}.weight.int4_t.backward`,
  exactBackwardScales: `${module}.weight.int4_t.backward.scales`,
});

/**
 * The `linear` hook of buildForward for QLoRA: every base linear layer reads 4-bit weights quantized from `source`
 * (when the model file is written), plus its float32 bias if it has one. Works for any graph the hook is used in.
 */
export function qloraLinear(source: WeightSource, options: QloraOptions = {}): NonNullable<ForwardOptions["linear"]> {
  const blockSize = options.blockSize ?? DEFAULT_QLORA_BLOCK;
  const exact = (options.backward ?? "exact") === "exact";
  if (!Number.isInteger(blockSize) || blockSize < 2) throw new GraphError(`QLoRA block size ${blockSize}: must be an integer ≥ 2`);
  const made = new WeakMap<Graph, Map<string, Tensor[]>>();
  // Both copies of a weight are quantized from one read.
  let last: { name: string; values: Promise<Float32Array> | Float32Array } | undefined;
  const read = (name: string) => {
    if (last?.name !== name) last = { name, values: source.read(name) };
    return last.values;
  };
  return (x, module, _dense, base) => {
    if (x.dtype === "float64")
      throw new GraphError(`QLoRA computes in float32 or 16 bits (ONNX DequantizeLinear has no float64 scales), got ${x}`);
    // the scales take the compute type: float32, or float16/bfloat16 under mixed precision
    const scaleType = x.dtype as "float32" | "float16" | "bfloat16";
    const g = x.graph;
    let perGraph = made.get(g);
    if (!perGraph) made.set(g, (perGraph = new Map()));
    let t = perGraph.get(module);
    if (!t) {
      const [out, inp] = base.weight.shape as [number, number];
      const name = `${module}.weight`;
      const n = qloraNames(module);
      // The codes and the scales of a copy come from one quantization, dropped once both were taken.
      const lazy = (transpose: boolean) => {
        let memo: Promise<Int4Matrix> | undefined;
        const taken = new Set<string>();
        return (part: "data" | "scales") => async (): Promise<TypedArray> => {
          const convert = (m: Int4Matrix): TypedArray =>
            part === "data"
              ? m.data
              : scaleType === "float16"
                ? toFloat16(m.scales)
                : scaleType === "bfloat16"
                  ? toBFloat16(m.scales)
                  : m.scales;
          memo ??= Promise.resolve(read(name)).then((v) =>
            transpose ? quantizeInt4(v, inp, out, blockSize, true) : quantizeInt4(v, out, inp, blockSize),
          );
          const m = await memo;
          taken.add(part);
          if (taken.size === 2) {
            memo = undefined;
            taken.clear();
          }
          return convert(m);
        };
      };
      const fwd = lazy(true);
      const scalesShape = (rows: number, cols: number) => [Math.ceil(rows / blockSize), cols];
      t = [
        g.initializer(n.forward, "int4", [inp, out], fwd("data")),
        g.initializer(n.forwardScales, scaleType, scalesShape(inp, out), fwd("scales")),
      ];
      if (exact) {
        // the same codes under another name: ORT fuses a 4-bit weight only when nothing else reads it
        const again = lazy(true);
        t.push(
          g.initializer(n.exactBackward, "int4", [inp, out], again("data")),
          g.initializer(n.exactBackwardScales, scaleType, scalesShape(inp, out), again("scales")),
        );
      } else {
        const bwd = lazy(false);
        t.push(
          g.initializer(n.backward, "int4", [out, inp], bwd("data")),
          g.initializer(n.backwardScales, scaleType, scalesShape(out, inp), bwd("scales")),
        );
      }
      perGraph.set(module, t);
    }
    const y = qmatmul(x, t[0]!, t[1]!, t[2]!, t[3]!, blockSize, exact);
    return base.bias ? add(y, base.bias) : y;
  };
}

/** Bytes of the two 4-bit copies of an [out, in] weight. */
export function qloraBytes(out: number, inp: number, blockSize = DEFAULT_QLORA_BLOCK): number {
  return Math.ceil((out * inp) / 2) * 2 + (Math.ceil(inp / blockSize) * out + Math.ceil(out / blockSize) * inp) * 4;
}
