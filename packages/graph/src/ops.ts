// The ops: for each one, its shape inference, its ONNX lowering and its gradient rule, side by side
// (tinygrad-style). Gradient rules are written with the same builder functions as models, so the backward pass is
// just more graph. Composite ops (RMSNorm, rotary, cross-entropy) expand into primitives when serialized but keep
// their own compact gradient rule.

import { type DType, isFloat } from "./dtype.js";
import { ShapeError, fmtShape } from "./errors.js";
import { type Graph, type NodeView, type OpDef, type OutSpec, type Shape, Tensor } from "./graph.js";
import { attr } from "./onnx.js";

export type TensorLike = Tensor | number;

// ---------------------------------------------------------------------------------------------------------------
// helpers

const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const sizeOf = (s: Shape): number => s.reduce((a, b) => a * b, 1);

/** Numpy broadcasting of two shapes; throws naming the op. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(op, `cannot broadcast ${fmtShape(a)} with ${fmtShape(b)}`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

function normAxes(op: string, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => normAxis(op, a, rank));
  if (new Set(out).size !== out.length) throw new ShapeError(op, `repeated axis in [${axes.join(",")}]`);
  return out.sort((x, y) => x - y);
}

function graphOf(op: string, xs: readonly TensorLike[]): Graph {
  for (const x of xs) if (x instanceof Tensor) return x.graph;
  throw new ShapeError(op, "needs at least one tensor operand");
}

/** Turn numbers into scalar constants of the dtype of the first tensor operand. */
function lift(op: string, xs: readonly TensorLike[]): Tensor[] {
  const g = graphOf(op, xs);
  const like = xs.find((x): x is Tensor => x instanceof Tensor)!;
  return xs.map((x) => (x instanceof Tensor ? x : g.scalar(x, like.dtype)));
}

function one(t: Tensor[]): Tensor {
  return t[0]!;
}

function requireFloat(op: string, t: Tensor): void {
  if (!isFloat(t.dtype)) throw new ShapeError(op, `needs a float tensor, got ${t.dtype}${fmtShape(t.shape)}`);
}

function sameDtype(op: string, ts: readonly Tensor[]): DType {
  const d = ts[0]!.dtype;
  for (const t of ts) {
    if (t.dtype !== d) throw new ShapeError(op, `dtype mismatch: ${ts.map((x) => `${x.dtype}${fmtShape(x.shape)}`).join(" vs ")}`);
  }
  return d;
}

/** Sum a broadcast gradient back down to `shape` (the inverse of numpy broadcasting). */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const lead = x.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < x.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  const r = axes.length ? reduceSum(x, axes, true) : x;
  return sameShape(r.shape, shape) ? r : reshape(r, shape);
}

/** A tensor of zeros (a broadcast scalar; no data in the file). */
export function zeros(g: Graph, shape: Shape, dtype: DType): Tensor {
  return expand(g.scalar(0, dtype), shape);
}

export function full(g: Graph, shape: Shape, value: number, dtype: DType): Tensor {
  return expand(g.scalar(value, dtype), shape);
}

/** Swap the last two axes. */
export function transposeLast2(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1]!, perm[n - 2]!];
  return transpose(x, perm);
}

// ---------------------------------------------------------------------------------------------------------------
// elementwise binary ops (numpy broadcasting, one dtype)

function binaryOp(name: string, grad?: OpDef["grad"], outDtype?: DType): OpDef {
  return {
    name,
    infer: ([a, b]) => {
      const dtype = sameDtype(name, [a!, b!]);
      return [{ dtype: outDtype ?? dtype, shape: broadcastShapes(name, a!.shape, b!.shape) }];
    },
    lower: (e, [a, b], [y]) => void e.node(name, [a!, b!], {}, [y!]),
    grad,
  };
}

export const Add = binaryOp("Add", ([d], { inputs: [a, b] }) => [sumTo(d!, a!.shape), sumTo(d!, b!.shape)]);
export const Sub = binaryOp("Sub", ([d], { inputs: [a, b] }) => [sumTo(d!, a!.shape), sumTo(neg(d!), b!.shape)]);
export const Mul = binaryOp("Mul", ([d], { inputs: [a, b] }) => [sumTo(mul(d!, b!), a!.shape), sumTo(mul(d!, a!), b!.shape)]);
export const Div = binaryOp("Div", ([d], { inputs: [a, b], outputs: [y] }) => [
  sumTo(div(d!, b!), a!.shape),
  sumTo(neg(div(mul(d!, y!), b!)), b!.shape), // d(a/b)/db = -y/b
]);
export const Pow = binaryOp("Pow", ([d], { inputs: [a, b], outputs: [y], needs }) => [
  needs[0] ? sumTo(mul(d!, mul(b!, pow(a!, sub(b!, 1)))), a!.shape) : undefined,
  needs[1] ? sumTo(mul(d!, mul(y!, log(a!))), b!.shape) : undefined,
]);
/** Max/Min send the gradient to the chosen operand (the first one on ties). */
export const Max = binaryOp("Max", ([d], { inputs: [a, b] }) => {
  const takeA = greaterEqual(a!, b!);
  return [sumTo(where(takeA, d!, 0), a!.shape), sumTo(where(takeA, 0, d!), b!.shape)];
});
export const Min = binaryOp("Min", ([d], { inputs: [a, b] }) => {
  const takeA = lessEqual(a!, b!);
  return [sumTo(where(takeA, d!, 0), a!.shape), sumTo(where(takeA, 0, d!), b!.shape)];
});

export const add = (a: TensorLike, b: TensorLike): Tensor => binary(Add, a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary(Sub, a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary(Mul, a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary(Div, a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary(Pow, a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary(Max, a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary(Min, a, b);

function binary(op: OpDef, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(op.name, [a, b]);
  return one(x!.graph.apply(op, [x!, y!], {}));
}

// comparisons and logic (no gradient)
export const Equal = binaryOp("Equal", undefined, "bool");
export const Less = binaryOp("Less", undefined, "bool");
export const LessOrEqual = binaryOp("LessOrEqual", undefined, "bool");
export const Greater = binaryOp("Greater", undefined, "bool");
export const GreaterOrEqual = binaryOp("GreaterOrEqual", undefined, "bool");
export const And = binaryOp("And", undefined, "bool");
export const Or = binaryOp("Or", undefined, "bool");
export const equal = (a: TensorLike, b: TensorLike): Tensor => binary(Equal, a, b);
export const less = (a: TensorLike, b: TensorLike): Tensor => binary(Less, a, b);
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => binary(LessOrEqual, a, b);
export const greater = (a: TensorLike, b: TensorLike): Tensor => binary(Greater, a, b);
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => binary(GreaterOrEqual, a, b);
export const and = (a: Tensor, b: Tensor): Tensor => binary(And, a, b);
export const or = (a: Tensor, b: Tensor): Tensor => binary(Or, a, b);

// ---------------------------------------------------------------------------------------------------------------
// elementwise unary ops

function unaryOp(name: string, grad?: OpDef["grad"], float = true): OpDef {
  return {
    name,
    infer: ([x]) => {
      if (float) requireFloat(name, x!);
      return [{ dtype: x!.dtype, shape: x!.shape }];
    },
    lower: (e, [x], [y]) => void e.node(name, [x!], {}, [y!]),
    grad,
  };
}

export const Neg = unaryOp("Neg", ([d]) => [neg(d!)], false);
export const Exp = unaryOp("Exp", ([d], { outputs: [y] }) => [mul(d!, y!)]);
export const Log = unaryOp("Log", ([d], { inputs: [x] }) => [div(d!, x!)]);
export const Sqrt = unaryOp("Sqrt", ([d], { outputs: [y] }) => [div(mul(d!, 0.5), y!)]);
export const Reciprocal = unaryOp("Reciprocal", ([d], { outputs: [y] }) => [neg(mul(d!, mul(y!, y!)))]);
export const Sigmoid = unaryOp("Sigmoid", ([d], { outputs: [y] }) => [mul(d!, mul(y!, sub(1, y!)))]);
export const Tanh = unaryOp("Tanh", ([d], { outputs: [y] }) => [mul(d!, sub(1, mul(y!, y!)))]);
export const Sin = unaryOp("Sin", ([d], { inputs: [x] }) => [mul(d!, cos(x!))]);
export const Cos = unaryOp("Cos", ([d], { inputs: [x] }) => [neg(mul(d!, sin(x!)))]);
export const Not = unaryOp("Not", undefined, false);

const unary = (op: OpDef, x: Tensor): Tensor => one(x.graph.apply(op, [x], {}));
export const neg = (x: Tensor): Tensor => unary(Neg, x);
export const exp = (x: Tensor): Tensor => unary(Exp, x);
export const log = (x: Tensor): Tensor => unary(Log, x);
export const sqrt = (x: Tensor): Tensor => unary(Sqrt, x);
export const reciprocal = (x: Tensor): Tensor => unary(Reciprocal, x);
export const sigmoid = (x: Tensor): Tensor => unary(Sigmoid, x);
export const tanh = (x: Tensor): Tensor => unary(Tanh, x);
export const sin = (x: Tensor): Tensor => unary(Sin, x);
export const cos = (x: Tensor): Tensor => unary(Cos, x);
export const not = (x: Tensor): Tensor => {
  if (x.dtype !== "bool") throw new ShapeError("Not", `needs bool, got ${x.dtype}`);
  return unary(Not, x);
};
/** x·sigmoid(x), as two primitives. */
export const silu = (x: Tensor): Tensor => mul(x, sigmoid(x));

/** Identity in the forward, no gradient in the backward. */
export const StopGradient: OpDef = {
  name: "StopGradient",
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  lower: (e, [x], [y]) => void e.node("Identity", [x!], {}, [y!]),
  grad: () => [undefined],
};
export const stopGradient = (x: Tensor): Tensor => unary(StopGradient, x);

/** Sum of same-shaped tensors (used to accumulate gradients). */
export const Sum: OpDef = {
  name: "Sum",
  infer: (xs) => {
    if (xs.length === 0) throw new ShapeError("Sum", "needs at least one input");
    const dtype = sameDtype("Sum", xs);
    for (const x of xs)
      if (!sameShape(x.shape, xs[0]!.shape)) throw new ShapeError("Sum", `shapes differ: ${xs.map((t) => fmtShape(t.shape)).join(" ")}`);
    return [{ dtype, shape: xs[0]!.shape }];
  },
  lower: (e, xs, [y]) => void e.node(xs.length === 1 ? "Identity" : "Sum", xs, {}, [y!]),
  grad: ([d], { inputs }) => inputs.map(() => d!),
};
export const sum = (xs: readonly Tensor[]): Tensor => (xs.length === 1 ? xs[0]! : one(xs[0]!.graph.apply(Sum, xs, {})));

export const Cast: OpDef<{ to: DType }> = {
  name: "Cast",
  infer: ([x], { to }) => [{ dtype: to, shape: x!.shape }],
  lower: (e, [x], [y], { to }) => void e.node("Cast", [x!], { to: attr.dtype(to) }, [y!]),
  grad: ([d], { inputs: [x] }) => [isFloat(x!.dtype) ? cast(d!, x!.dtype) : undefined],
};
export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : one(x.graph.apply(Cast, [x], { to })));

// ---------------------------------------------------------------------------------------------------------------
// softmax family and reductions

export const Softmax: OpDef<{ axis: number }> = {
  name: "Softmax",
  infer: ([x], { axis }) => {
    requireFloat("Softmax", x!);
    normAxis("Softmax", axis, x!.rank);
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
  lower: (e, [x], [y], { axis }) => void e.node("Softmax", [x!], { axis: attr.int(axis) }, [y!]),
  // dx = y·(d − Σ d·y)
  grad: ([d], { outputs: [y], attrs: { axis } }) => [mul(y!, sub(d!, reduceSum(mul(d!, y!), [axis], true)))],
};
export const LogSoftmax: OpDef<{ axis: number }> = {
  name: "LogSoftmax",
  infer: Softmax.infer,
  lower: (e, [x], [y], { axis }) => void e.node("LogSoftmax", [x!], { axis: attr.int(axis) }, [y!]),
  // dx = d − exp(y)·Σ d
  grad: ([d], { outputs: [y], attrs: { axis } }) => [sub(d!, mul(exp(y!), reduceSum(d!, [axis], true)))],
};
export const softmax = (x: Tensor, axis = -1): Tensor => one(x.graph.apply(Softmax, [x], { axis: normAxis("Softmax", axis, x.rank) }));
export const logSoftmax = (x: Tensor, axis = -1): Tensor =>
  one(x.graph.apply(LogSoftmax, [x], { axis: normAxis("LogSoftmax", axis, x.rank) }));

interface ReduceAttrs {
  axes: number[];
  keepdims: boolean;
}

function reduceOp(name: string, grad: OpDef<ReduceAttrs>["grad"]): OpDef<ReduceAttrs> {
  return {
    name,
    infer: ([x], { axes, keepdims }) => {
      const shape = keepdims ? x!.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x!.shape.filter((_, i) => !axes.includes(i));
      return [{ dtype: x!.dtype, shape }];
    },
    lower: (e, [x], [y], { axes, keepdims }) => void e.node(name, [x!, e.ints(axes)], { keepdims: attr.int(keepdims ? 1 : 0) }, [y!]),
    grad,
  };
}

/** The gradient of a reduction's output, broadcast back over the reduced axes. */
function unreduce(d: Tensor, x: Tensor, axes: number[]): Tensor {
  const kept = x.shape.map((s, i) => (axes.includes(i) ? 1 : s));
  return expand(reshape(d, kept), x.shape);
}

export const ReduceSum = reduceOp("ReduceSum", ([d], { inputs: [x], attrs: { axes } }) => [unreduce(d!, x!, axes)]);
/** log Σ exp(x) over the axes (ONNX Runtime subtracts the maximum first); the gradient is d·softmax(x). */
export const ReduceLogSumExp = reduceOp("ReduceLogSumExp", ([d], { inputs: [x], outputs: [y], attrs: { axes } }) => [
  mul(unreduce(d!, x!, axes), exp(sub(x!, unreduce(y!, x!, axes)))),
]);
export const ReduceMean = reduceOp("ReduceMean", ([d], { inputs: [x], attrs: { axes } }) => [
  div(
    unreduce(d!, x!, axes),
    axes.reduce((n, a) => n * x!.shape[a]!, 1),
  ),
]);
/** The gradient goes to the maxima, shared evenly between ties. */
export const ReduceMax = reduceOp("ReduceMax", ([d], { inputs: [x], outputs: [y], attrs: { axes } }) => {
  const hit = cast(equal(x!, unreduce(y!, x!, axes)), x!.dtype);
  return [div(mul(unreduce(d!, x!, axes), hit), unreduce(reduceSum(hit, axes, false), x!, axes))];
});

function reduce(op: OpDef<ReduceAttrs>, x: Tensor, axes: number[] | number | undefined, keepdims: boolean): Tensor {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === "number" ? [axes] : axes;
  return one(x.graph.apply(op, [x], { axes: normAxes(op.name, list, x.rank), keepdims }));
}
/** Sum over `axes` (all axes when omitted). */
export const reduceSum = (x: Tensor, axes?: number[] | number, keepdims = false): Tensor => reduce(ReduceSum, x, axes, keepdims);
export const reduceLogSumExp = (x: Tensor, axes?: number[] | number, keepdims = false): Tensor =>
  reduce(ReduceLogSumExp, x, axes, keepdims);
export const reduceMean = (x: Tensor, axes?: number[] | number, keepdims = false): Tensor => reduce(ReduceMean, x, axes, keepdims);
export const reduceMax = (x: Tensor, axes?: number[] | number, keepdims = false): Tensor => reduce(ReduceMax, x, axes, keepdims);

export const ArgMax: OpDef<{ axis: number; keepdims: boolean }> = {
  name: "ArgMax",
  infer: ([x], { axis, keepdims }) => [
    { dtype: "int64", shape: keepdims ? x!.shape.map((d, i) => (i === axis ? 1 : d)) : x!.shape.filter((_, i) => i !== axis) },
  ],
  lower: (e, [x], [y], { axis, keepdims }) =>
    void e.node("ArgMax", [x!], { axis: attr.int(axis), keepdims: attr.int(keepdims ? 1 : 0) }, [y!]),
};
export const argMax = (x: Tensor, axis = -1, keepdims = false): Tensor =>
  one(x.graph.apply(ArgMax, [x], { axis: normAxis("ArgMax", axis, x.rank), keepdims }));

// ---------------------------------------------------------------------------------------------------------------
// matrix multiplication (batched, numpy broadcasting of the batch dimensions)

export const MatMul: OpDef = {
  name: "MatMul",
  infer: ([a, b]) => {
    const dtype = sameDtype("MatMul", [a!, b!]);
    const sa = a!.shape;
    const sb = b!.shape;
    if (sa.length < 2 || sb.length < 2) throw new ShapeError("MatMul", `needs rank ≥ 2 operands, got ${fmtShape(sa)} × ${fmtShape(sb)}`);
    if (sa[sa.length - 1] !== sb[sb.length - 2]) {
      throw new ShapeError("MatMul", `inner dimensions differ: ${fmtShape(sa)} × ${fmtShape(sb)}`);
    }
    let batch: number[];
    try {
      batch = broadcastShapes("MatMul", sa.slice(0, -2), sb.slice(0, -2));
    } catch {
      throw new ShapeError("MatMul", `batch dimensions do not broadcast: ${fmtShape(sa)} × ${fmtShape(sb)}`);
    }
    return [{ dtype, shape: [...batch, sa[sa.length - 2]!, sb[sb.length - 1]!] }];
  },
  lower: (e, [a, b], [y]) => void e.node("MatMul", [a!, b!], {}, [y!]),
  grad: ([d], { inputs: [a, b], needs }) => {
    let da: Tensor | undefined;
    let db: Tensor | undefined;
    if (needs[0]) da = sumTo(matmul(d!, transposeLast2(b!)), a!.shape);
    if (needs[1]) {
      if (b!.rank === 2 && a!.rank > 2) {
        // x[..., K] @ W[K, N]: fold the batch into rows, one matmul instead of a batched one and a sum.
        const k = a!.shape[a!.rank - 1]!;
        const n = d!.shape[d!.rank - 1]!;
        const a2 = reshape(a!, [-1, k]);
        const d2 = reshape(d!, [-1, n]);
        db = matmul(transposeLast2(a2), d2);
      } else {
        db = sumTo(matmul(transposeLast2(a!), d!), b!.shape);
      }
    }
    return [da, db];
  },
};
export const matmul = (a: Tensor, b: Tensor): Tensor => one(a.graph.apply(MatMul, [a, b], {}));

interface GemmAttrs {
  transA: boolean;
  transB: boolean;
  alpha: number;
}
/**
 * ONNX Gemm without bias: alpha · op(A) · op(B) of two matrices, op = transpose where transA/transB say so. It reads
 * a weight stored as [out, in] as it is (transB), so ONNX Runtime neither folds a transposed copy of it nor needs
 * one per session, and its gradients are Gemms with transposes too (no Transpose nodes).
 */
export const Gemm: OpDef<GemmAttrs> = {
  name: "Gemm",
  infer: ([a, b], { transA, transB }) => {
    const dtype = sameDtype("Gemm", [a!, b!]);
    if (a!.rank !== 2 || b!.rank !== 2) throw new ShapeError("Gemm", `needs matrices, got ${fmtShape(a!.shape)} and ${fmtShape(b!.shape)}`);
    const [m, k] = transA ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
    const [k2, n] = transB ? [b!.shape[1]!, b!.shape[0]!] : [b!.shape[0]!, b!.shape[1]!];
    if (k !== k2)
      throw new ShapeError(
        "Gemm",
        `inner dimensions differ: ${fmtShape(a!.shape)}${transA ? "ᵀ" : ""} × ${fmtShape(b!.shape)}${transB ? "ᵀ" : ""}`,
      );
    return [{ dtype, shape: [m, n] }];
  },
  lower: (e, [a, b], [y], { transA, transB, alpha }) =>
    void e.node(
      "Gemm",
      [a!, b!],
      {
        ...(transA ? { transA: attr.int(1) } : {}),
        ...(transB ? { transB: attr.int(1) } : {}),
        ...(alpha !== 1 ? { alpha: attr.float(alpha) } : {}),
      },
      [y!],
    ),
  // Y = α·op(A)·op(B): dA = α·dY·op(B)ᵀ (transposed back when transA), dB = α·op(A)ᵀ·dY (transposed back when transB).
  grad: ([d], { inputs: [a, b], attrs: { transA, transB, alpha }, needs }) => [
    needs[0] ? (transA ? gemm(b!, d!, { transA: transB, transB: true, alpha }) : gemm(d!, b!, { transB: !transB, alpha })) : undefined,
    needs[1] ? (transB ? gemm(d!, a!, { transA: true, transB: transA, alpha }) : gemm(a!, d!, { transA: !transA, alpha })) : undefined,
  ],
};
export const gemm = (a: Tensor, b: Tensor, options: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Tensor =>
  one(a.graph.apply(Gemm, [a, b], { transA: options.transA ?? false, transB: options.transB ?? false, alpha: options.alpha ?? 1 }));

/**
 * x · wᵀ for x [..., in] and a weight w [out, in] (the layout of Hugging Face checkpoints): the leading axes are
 * folded into rows and one Gemm with transB runs.
 */
export function linear(x: Tensor, w: Tensor, alpha = 1): Tensor {
  if (w.rank !== 2 || x.shape[x.rank - 1] !== w.shape[1])
    throw new ShapeError("Gemm", `linear: ${fmtShape(x.shape)} × ${fmtShape(w.shape)}ᵀ`);
  const rows = reshape(x, [-1, w.shape[1]!]);
  return reshape(gemm(rows, w, { transB: true, alpha }), [...x.shape.slice(0, -1), w.shape[0]!]);
}

// ---------------------------------------------------------------------------------------------------------------
// shape ops

export const Reshape: OpDef<{ shape: number[] }> = {
  name: "Reshape",
  infer: ([x], { shape }) => [{ dtype: x!.dtype, shape }],
  lower: (e, [x], [y], { shape }) => void e.node("Reshape", [x!, e.ints(shape)], shape.includes(0) ? { allowzero: attr.int(1) } : {}, [y!]),
  grad: ([d], { inputs: [x] }) => [reshape(d!, x!.shape)],
};
/** Reshape; one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = [...shape];
  const infer = s.indexOf(-1);
  if (s.filter((d) => d === -1).length > 1) throw new ShapeError("Reshape", `more than one -1 in ${fmtShape(shape)}`);
  if (infer >= 0) {
    const known = s.reduce((a, d) => (d === -1 ? a : a * d), 1);
    if (known === 0 || x.size % known !== 0) throw new ShapeError("Reshape", `cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    s[infer] = x.size / known;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s) !== x.size) {
    throw new ShapeError("Reshape", `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  if (sameShape(s, x.shape)) return x;
  return one(x.graph.apply(Reshape, [x], { shape: s }));
}

export const Transpose: OpDef<{ perm: number[] }> = {
  name: "Transpose",
  infer: ([x], { perm }) => [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }],
  lower: (e, [x], [y], { perm }) => void e.node("Transpose", [x!], { perm: attr.ints(perm) }, [y!]),
  grad: ([d], { attrs: { perm } }) => {
    const inv: number[] = [];
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(d!, inv)];
  },
};
/** Permute axes (reverse them when `perm` is omitted). */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? [...perm] : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new ShapeError("Transpose", `perm [${p.join(",")}] is not a permutation of the axes of ${fmtShape(x.shape)}`);
  }
  if (p.every((v, i) => v === i)) return x;
  // Transpose of a transpose: one transpose (or none) of the original.
  const inner = x.node;
  if (inner && inner.op === Transpose)
    return transpose(
      inner.inputs[0]!,
      p.map((i) => (inner.attrs as { perm: number[] }).perm[i]!),
    );
  return one(x.graph.apply(Transpose, [x], { perm: p }));
}

export const Concat: OpDef<{ axis: number }> = {
  name: "Concat",
  infer: (xs, { axis }) => {
    const dtype = sameDtype("Concat", xs);
    const r = xs[0]!.rank;
    for (const x of xs) {
      if (x.rank !== r || x.shape.some((d, i) => i !== axis && d !== xs[0]!.shape[i])) {
        throw new ShapeError("Concat", `shapes do not fit along axis ${axis}: ${xs.map((t) => fmtShape(t.shape)).join(" ")}`);
      }
    }
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
    return [{ dtype, shape }];
  },
  lower: (e, xs, [y], { axis }) => void e.node("Concat", xs, { axis: attr.int(axis) }, [y!]),
  grad: ([d], { inputs, attrs: { axis } }) =>
    split(
      d!,
      inputs.map((x) => x.shape[axis]!),
      axis,
    ),
};
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new ShapeError("Concat", "needs at least one input");
  if (xs.length === 1) return xs[0]!;
  return one(xs[0]!.graph.apply(Concat, xs, { axis: normAxis("Concat", axis, xs[0]!.rank) }));
}

export const Split: OpDef<{ axis: number; sizes: number[] }> = {
  name: "Split",
  infer: ([x], { axis, sizes }) => {
    if (sizes.reduce((a, b) => a + b, 0) !== x!.shape[axis] || sizes.some((s) => s < 0)) {
      throw new ShapeError("Split", `sizes [${sizes.join(",")}] do not add up to dimension ${axis} of ${fmtShape(x!.shape)}`);
    }
    return sizes.map((s) => ({ dtype: x!.dtype, shape: x!.shape.map((d, i) => (i === axis ? s : d)) }));
  },
  lower: (e, [x], ys, { axis, sizes }) => void e.node("Split", [x!, e.ints(sizes)], { axis: attr.int(axis) }, ys),
  grad: (ds, { attrs: { axis } }) => [concat(ds, axis)],
};
export function split(x: Tensor, sizes: readonly number[], axis: number): Tensor[] {
  return x.graph.apply(Split, [x], { axis: normAxis("Split", axis, x.rank), sizes: [...sizes] });
}

interface SliceAttrs {
  starts: number[];
  ends: number[];
  axes: number[];
}
export const Slice: OpDef<SliceAttrs> = {
  name: "Slice",
  infer: ([x], { starts, ends, axes }) => {
    const shape = [...x!.shape];
    axes.forEach((a, i) => (shape[a] = ends[i]! - starts[i]!));
    return [{ dtype: x!.dtype, shape }];
  },
  lower: (e, [x], [y], { starts, ends, axes }) => void e.node("Slice", [x!, e.ints(starts), e.ints(ends), e.ints(axes)], {}, [y!]),
  grad: ([d], { inputs: [x], attrs: { starts, ends, axes } }) => {
    const pads = new Array<number>(2 * x!.rank).fill(0);
    axes.forEach((a, i) => {
      pads[a] = starts[i]!;
      pads[x!.rank + a] = x!.shape[a]! - ends[i]!;
    });
    return [pad(d!, pads)];
  },
};
/** x[starts:ends] along `axes` (step 1; negative indices count from the end and are clamped like numpy). */
export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes?: readonly number[]): Tensor {
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis("Slice", a, x.rank));
  if (starts.length !== ax.length || ends.length !== ax.length) throw new ShapeError("Slice", "starts, ends and axes differ in length");
  const clamp = (v: number, n: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = ax.map((a, i) => clamp(starts[i]!, x.shape[a]!));
  const e = ax.map((a, i) => Math.max(clamp(ends[i]!, x.shape[a]!), s[i]!));
  return one(x.graph.apply(Slice, [x], { starts: s, ends: e, axes: ax }));
}

/** Zero padding: `pads` = [begin per axis..., end per axis...], all ≥ 0. */
export const Pad: OpDef<{ pads: number[] }> = {
  name: "Pad",
  infer: ([x], { pads }) => {
    if (pads.length !== 2 * x!.rank || pads.some((p) => p < 0 || !Number.isInteger(p))) {
      throw new ShapeError("Pad", `pads [${pads.join(",")}] do not fit ${fmtShape(x!.shape)}`);
    }
    return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => d + pads[i]! + pads[i + x!.rank]!) }];
  },
  lower: (e, [x], [y], { pads }, node) =>
    void e.node("Pad", [x!, e.ints(pads), e.scalar(0, node.inputs[0]!.dtype)], { mode: attr.string("constant") }, [y!]),
  grad: ([d], { inputs: [x], attrs: { pads } }) => [
    slice(
      d!,
      x!.shape.map((_, i) => pads[i]!),
      x!.shape.map((n, i) => pads[i]! + n),
    ),
  ],
};
export const pad = (x: Tensor, pads: readonly number[]): Tensor =>
  pads.every((p) => p === 0) ? x : one(x.graph.apply(Pad, [x], { pads: [...pads] }));

export const Expand: OpDef<{ shape: number[] }> = {
  name: "Expand",
  infer: ([x], { shape }) => [{ dtype: x!.dtype, shape: broadcastShapes("Expand", x!.shape, shape) }],
  lower: (e, [x], [y], { shape }) => void e.node("Expand", [x!, e.ints(shape)], {}, [y!]),
  grad: ([d], { inputs: [x] }) => [sumTo(d!, x!.shape)],
};
/** Broadcast to `shape`. */
export const expand = (x: Tensor, shape: Shape): Tensor =>
  sameShape(x.shape, shape) ? x : one(x.graph.apply(Expand, [x], { shape: [...shape] }));

export const Squeeze: OpDef<{ axes: number[] }> = {
  name: "Squeeze",
  infer: ([x], { axes }) => {
    for (const a of axes) if (x!.shape[a] !== 1) throw new ShapeError("Squeeze", `axis ${a} of ${fmtShape(x!.shape)} is not 1`);
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.includes(i)) }];
  },
  lower: (e, [x], [y], { axes }) => void e.node("Squeeze", [x!, e.ints(axes)], {}, [y!]),
  grad: ([d], { inputs: [x] }) => [reshape(d!, x!.shape)],
};
export const squeeze = (x: Tensor, axes: number[] | number): Tensor =>
  one(x.graph.apply(Squeeze, [x], { axes: normAxes("Squeeze", typeof axes === "number" ? [axes] : axes, x.rank) }));

export const Unsqueeze: OpDef<{ axes: number[] }> = {
  name: "Unsqueeze",
  infer: ([x], { axes }) => {
    const shape = [...x!.shape];
    for (const a of axes) shape.splice(a, 0, 1);
    return [{ dtype: x!.dtype, shape }];
  },
  lower: (e, [x], [y], { axes }) => void e.node("Unsqueeze", [x!, e.ints(axes)], {}, [y!]),
  grad: ([d], { inputs: [x] }) => [reshape(d!, x!.shape)],
};
/** Insert size-1 axes; `axes` index the output. */
export const unsqueeze = (x: Tensor, axes: number[] | number): Tensor => {
  const list = typeof axes === "number" ? [axes] : axes;
  return one(x.graph.apply(Unsqueeze, [x], { axes: normAxes("Unsqueeze", list, x.rank + list.length) }));
};

// ---------------------------------------------------------------------------------------------------------------
// indexing

export const Gather: OpDef<{ axis: number }> = {
  name: "Gather",
  infer: ([data, idx], { axis }) => {
    if (idx!.dtype !== "int64" && idx!.dtype !== "int32") throw new ShapeError("Gather", `indices must be int64/int32, got ${idx!.dtype}`);
    const s = data!.shape;
    return [{ dtype: data!.dtype, shape: [...s.slice(0, axis), ...idx!.shape, ...s.slice(axis + 1)] }];
  },
  lower: (e, [data, idx], [y], { axis }) => void e.node("Gather", [data!, idx!], { axis: attr.int(axis) }, [y!]),
  // The gradient is a scatter-add of the output gradient into zeros (repeated indices accumulate).
  grad: ([d], { inputs: [data, idx], attrs: { axis }, needs }) => {
    if (!needs[0]) return [undefined, undefined];
    const s = data!.shape;
    const ni = idx!.rank;
    // Move the gathered axis to the front: d becomes [...idx, ...s without axis].
    const front = [...Array(ni).keys()].map((i) => axis + i);
    const rest = [...Array(d!.rank).keys()].filter((i) => i < axis || i >= axis + ni);
    const dFront = transpose(d!, [...front, ...rest]);
    const base = [s[axis]!, ...s.slice(0, axis), ...s.slice(axis + 1)];
    const scattered = scatterNDAdd(zeros(data!.graph, base, data!.dtype), unsqueeze(cast(idx!, "int64"), -1), dFront);
    // Move the axis back where it was.
    const back = [...Array(s.length).keys()].map((i) => (i < axis ? i + 1 : i === axis ? 0 : i));
    return [transpose(scattered, back), undefined];
  },
};
export const gather = (data: Tensor, indices: Tensor, axis = 0): Tensor =>
  one(data.graph.apply(Gather, [data, indices], { axis: normAxis("Gather", axis, data.rank) }));

/** data with `updates` added at `indices` (ONNX ScatterND, reduction add). No gradient rule. */
export const ScatterNDAdd: OpDef = {
  name: "ScatterNDAdd",
  infer: ([data, idx, upd]) => {
    const q = idx!.shape;
    const k = q[q.length - 1]!;
    const expect = [...q.slice(0, -1), ...data!.shape.slice(k)];
    if (!sameShape(expect, upd!.shape)) {
      throw new ShapeError(
        "ScatterNDAdd",
        `updates ${fmtShape(upd!.shape)} do not fit data ${fmtShape(data!.shape)} and indices ${fmtShape(q)}`,
      );
    }
    sameDtype("ScatterNDAdd", [data!, upd!]);
    return [{ dtype: data!.dtype, shape: data!.shape }];
  },
  lower: (e, [data, idx, upd], [y]) => void e.node("ScatterND", [data!, idx!, upd!], { reduction: attr.string("add") }, [y!]),
};
export const scatterNDAdd = (data: Tensor, indices: Tensor, updates: Tensor): Tensor =>
  one(data.graph.apply(ScatterNDAdd, [data, indices, updates], {}));

/** ONNX ScatterElements: writes (or with reduction "add", adds) `updates` into `data` at `indices` along `axis`. No gradient rule. */
export const ScatterElements: OpDef<{ axis: number; reduction?: "add" }> = {
  name: "ScatterElements",
  infer: ([data, idx, upd], { axis }) => {
    if (!sameShape(idx!.shape, upd!.shape) || idx!.rank !== data!.rank) {
      throw new ShapeError(
        "ScatterElements",
        `data ${fmtShape(data!.shape)}, indices ${fmtShape(idx!.shape)}, updates ${fmtShape(upd!.shape)} along axis ${axis}`,
      );
    }
    sameDtype("ScatterElements", [data!, upd!]);
    return [{ dtype: data!.dtype, shape: data!.shape }];
  },
  lower: (e, [data, idx, upd], [y], { axis, reduction }) =>
    void e.node(
      "ScatterElements",
      [data!, idx!, upd!],
      { axis: attr.int(axis), ...(reduction ? { reduction: attr.string(reduction) } : {}) },
      [y!],
    ),
};
export const scatterElements = (
  data: Tensor,
  indices: Tensor,
  updates: Tensor,
  axis: number,
  options: { reduction?: "add" } = {},
): Tensor =>
  one(
    data.graph.apply(ScatterElements, [data, indices, updates], {
      axis: normAxis("ScatterElements", axis, data.rank),
      ...(options.reduction ? { reduction: options.reduction } : {}),
    }),
  );

/** ONNX GatherElements. No gradient rule (used inside expansions). */
export const GatherElements: OpDef<{ axis: number }> = {
  name: "GatherElements",
  infer: ([data, idx], { axis }) => {
    if (idx!.rank !== data!.rank)
      throw new ShapeError("GatherElements", `ranks differ: ${fmtShape(data!.shape)} and ${fmtShape(idx!.shape)} (axis ${axis})`);
    return [{ dtype: data!.dtype, shape: idx!.shape }];
  },
  lower: (e, [data, idx], [y], { axis }) => void e.node("GatherElements", [data!, idx!], { axis: attr.int(axis) }, [y!]),
};
export const gatherElements = (data: Tensor, indices: Tensor, axis: number): Tensor =>
  one(data.graph.apply(GatherElements, [data, indices], { axis: normAxis("GatherElements", axis, data.rank) }));

/** [0, 1, ..., n-1] as int64 (ONNX Range, so nothing is stored). */
export const Range: OpDef<{ n: number }> = {
  name: "Range",
  infer: (_, { n }) => [{ dtype: "int64", shape: [n] }],
  lower: (e, _, [y], { n }) => void e.node("Range", [e.scalar(0, "int64"), e.scalar(n, "int64"), e.scalar(1, "int64")], {}, [y!]),
};
export const arange = (g: Graph, n: number): Tensor => one(g.apply(Range, [], { n }));

export const Where: OpDef = {
  name: "Where",
  infer: ([c, a, b]) => {
    if (c!.dtype !== "bool") throw new ShapeError("Where", `condition must be bool, got ${c!.dtype}`);
    const dtype = sameDtype("Where", [a!, b!]);
    return [{ dtype, shape: broadcastShapes("Where", broadcastShapes("Where", c!.shape, a!.shape), b!.shape) }];
  },
  lower: (e, [c, a, b], [y]) => void e.node("Where", [c!, a!, b!], {}, [y!]),
  grad: ([d], { inputs: [c, a, b] }) => [undefined, sumTo(where(c!, d!, 0), a!.shape), sumTo(where(c!, 0, d!), b!.shape)],
};
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift("Where", [a, b]);
  return one(cond.graph.apply(Where, [cond, x!, y!], {}));
}

/**
 * ONNX DequantizeLinear (opset 21): (x − zero_point) · scale, per axis or in blocks of `blockSize` along `axis`.
 * x is int4/uint4/int8/uint8 (e.g. 4-bit base weights for QLoRA); the output has the scale's dtype. No gradient
 * rule (quantized weights are frozen); the gradient flows through the ops that use its output.
 */
export const DequantizeLinear: OpDef<{ axis: number; blockSize: number }> = {
  name: "DequantizeLinear",
  infer: ([x, scale, zp], { axis, blockSize }) => {
    if (!["int4", "uint4", "int8", "uint8"].includes(x!.dtype))
      throw new ShapeError("DequantizeLinear", `x must be int4/uint4/int8/uint8, got ${x!.dtype}`);
    requireFloat("DequantizeLinear", scale!);
    const expected = blockSize > 0 ? x!.shape.map((d, i) => (i === axis ? Math.ceil(d / blockSize) : d)) : [x!.shape[axis]!];
    if (!sameShape(scale!.shape, expected)) {
      throw new ShapeError(
        "DequantizeLinear",
        `scale ${fmtShape(scale!.shape)} does not fit x ${fmtShape(x!.shape)} (axis ${axis}, block ${blockSize}); expected ${fmtShape(expected)}`,
      );
    }
    if (zp && (zp.dtype !== x!.dtype || !sameShape(zp.shape, scale!.shape)))
      throw new ShapeError("DequantizeLinear", `zero point ${zp} must match x's dtype and the scale's shape`);
    return [{ dtype: scale!.dtype, shape: x!.shape }];
  },
  lower: (e, ins, [y], { axis, blockSize }) =>
    void e.node(
      "DequantizeLinear",
      ins,
      blockSize > 0 ? { axis: attr.int(axis), block_size: attr.int(blockSize) } : { axis: attr.int(axis) },
      [y!],
    ),
};
export const dequantizeLinear = (
  x: Tensor,
  scale: Tensor,
  options: { zeroPoint?: Tensor; axis?: number; blockSize?: number } = {},
): Tensor =>
  one(
    x.graph.apply(DequantizeLinear, options.zeroPoint ? [x, scale, options.zeroPoint] : [x, scale], {
      axis: normAxis("DequantizeLinear", options.axis ?? 0, x.rank),
      blockSize: options.blockSize ?? 0,
    }),
  );

// ---------------------------------------------------------------------------------------------------------------
// composites with their own gradient rule

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · w. */
export const RMSNorm: OpDef<{ eps: number }> = {
  name: "RMSNorm",
  infer: ([x, w]) => {
    const dtype = sameDtype("RMSNorm", [x!, w!]);
    requireFloat("RMSNorm", x!);
    if (w!.rank !== 1 || w!.shape[0] !== x!.shape[x!.rank - 1]) {
      throw new ShapeError("RMSNorm", `weight ${fmtShape(w!.shape)} does not match the last axis of ${fmtShape(x!.shape)}`);
    }
    return [{ dtype, shape: x!.shape }];
  },
  // The pattern ORT fuses into SimplifiedLayerNormalization for float32.
  expand: ([x, w], { eps }) => [mul(div(x!, sqrt(add(reduceMean(pow(x!, 2), -1, true), eps))), w!)],
  // With r = 1/sqrt(mean(x²)+eps) and n = x·r: dx = r·(g − n·mean(g·n)) where g = d·w; dw = Σ d·n.
  grad: ([d], { inputs: [x, w], attrs: { eps }, needs }) => {
    const r = reciprocal(sqrt(add(reduceMean(mul(x!, x!), -1, true), eps)));
    const n = mul(x!, r);
    const g = mul(d!, w!);
    const dx = needs[0] ? mul(r, sub(g, mul(n, reduceMean(mul(g, n), -1, true)))) : undefined;
    const dw = needs[1] ? sumTo(mul(d!, n), w!.shape) : undefined;
    return [dx, dw];
  },
};
export const rmsNorm = (x: Tensor, w: Tensor, eps: number): Tensor => one(x.graph.apply(RMSNorm, [x, w], { eps }));

/** The two halves a rotary embedding pairs up: (x[:D/2], x[D/2:]) for rotate-half, (x[0::2], x[1::2]) interleaved. */
function halves(x: Tensor, interleaved: boolean): [Tensor, Tensor] {
  const D = x.shape[x.rank - 1]!;
  if (!interleaved) return split(x, [D / 2, D / 2], -1) as [Tensor, Tensor];
  const pairs = reshape(x, [...x.shape.slice(0, -1), D / 2, 2]);
  const [e, o] = split(pairs, [1, 1], -1);
  return [squeeze(e!, -1), squeeze(o!, -1)];
}
function joinHalves(a: Tensor, b: Tensor, interleaved: boolean): Tensor {
  if (!interleaved) return concat([a, b], -1);
  const pairs = concat([unsqueeze(a, -1), unsqueeze(b, -1)], -1);
  return reshape(pairs, [...a.shape.slice(0, -1), a.shape[a.rank - 1]! * 2]);
}

/**
 * Rotary position embedding of the last axis of x (size D): each pair (a, b) becomes
 * (a·cos − b·sin, b·cos + a·sin). Pairs are (i, i + D/2) for `interleaved: false` (HF rotate_half, llama.cpp NEOX)
 * or (2i, 2i+1) for `interleaved: true` (GPT-J style, llama.cpp NORM). cos and sin broadcast to x's shape with a last
 * axis of D/2.
 */
export const Rotary: OpDef<{ interleaved: boolean }> = {
  name: "Rotary",
  infer: ([x, c, s]) => {
    const dtype = sameDtype("Rotary", [x!, c!, s!]);
    const D = x!.shape[x!.rank - 1]!;
    const half = [...x!.shape.slice(0, -1), D / 2];
    if (D % 2 !== 0) throw new ShapeError("Rotary", `last axis of ${fmtShape(x!.shape)} is odd`);
    for (const t of [c!, s!]) {
      let b: number[] | undefined;
      try {
        b = broadcastShapes("Rotary", half, t.shape);
      } catch {
        b = undefined;
      }
      if (!b || !sameShape(b, half))
        throw new ShapeError("Rotary", `cos/sin ${fmtShape(t.shape)} do not broadcast to ${fmtShape(half)} for x ${fmtShape(x!.shape)}`);
    }
    return [{ dtype, shape: x!.shape }];
  },
  expand: ([x, c, s], { interleaved }) => {
    const [a, b] = halves(x!, interleaved);
    return [joinHalves(sub(mul(a, c!), mul(b, s!)), add(mul(b, c!), mul(a, s!)), interleaved)];
  },
  // A rotation's transpose is the rotation by −angle: dx = rotary(d, cos, −sin).
  grad: ([d], { inputs: [x, c, s], attrs: { interleaved }, needs }) => {
    const dx = needs[0] ? rotary(d!, c!, neg(s!), { interleaved }) : undefined;
    if (!needs[1] && !needs[2]) return [dx, undefined, undefined];
    const [a, b] = halves(x!, interleaved);
    const [da, db] = halves(d!, interleaved);
    const dc = needs[1] ? sumTo(add(mul(da, a), mul(db, b)), c!.shape) : undefined;
    const ds = needs[2] ? sumTo(sub(mul(db, a), mul(da, b)), s!.shape) : undefined;
    return [dx, dc, ds];
  },
};
export const rotary = (x: Tensor, cos: Tensor, sin: Tensor, options: { interleaved?: boolean } = {}): Tensor =>
  one(x.graph.apply(Rotary, [x, cos, sin], { interleaved: options.interleaved ?? false }));

interface CrossEntropyAttrs {
  ignoreIndex: number;
  reduction: "mean" | "sum";
}
/**
 * Cross-entropy of logits [N, C] against int64 labels [N]; labels equal to `ignoreIndex` count for nothing.
 * "mean" divides by the number of counted labels (and gives 0 when there are none), "sum" does not divide.
 */
export const CrossEntropy: OpDef<CrossEntropyAttrs> = {
  name: "CrossEntropy",
  infer: ([logits, labels]) => {
    requireFloat("CrossEntropy", logits!);
    if (logits!.rank !== 2 || labels!.rank !== 1 || labels!.shape[0] !== logits!.shape[0] || labels!.dtype !== "int64") {
      throw new ShapeError(
        "CrossEntropy",
        `needs logits [N,C] and int64 labels [N], got ${fmtShape(logits!.shape)} and ${labels!.dtype}${fmtShape(labels!.shape)}`,
      );
    }
    return [{ dtype: logits!.dtype, shape: [] }];
  },
  // loss_i = logsumexp(logits_i) − logits_i[label_i]: no [N, C] tensor besides the logits themselves (vocabularies
  // of 150k tokens make every [N, C] copy as large as the rest of a step's activations).
  expand: ([logits, labels], { ignoreIndex, reduction }) => {
    const valid = not(equal(labels!, ignoreIndex));
    const safe = unsqueeze(where(valid, labels!, 0), 1);
    const nll = squeeze(sub(reduceLogSumExp(logits!, 1, true), gatherElements(logits!, safe, 1)), 1);
    const total = reduceSum(where(valid, nll, 0));
    return [reduction === "sum" ? total : div(total, denominator(valid, logits!.dtype))];
  },
  // dlogits = (softmax(logits) − onehot(labels)) · d / count, rows with ignored labels zero. The one-hot is not
  // built: 1 is subtracted at each row's label in place of it (ScatterElements with reduction add).
  grad: ([d], { inputs: [logits, labels], attrs: { ignoreIndex, reduction } }) => {
    const [N] = logits!.shape as [number, number];
    const valid = not(equal(labels!, ignoreIndex));
    const safe = unsqueeze(where(valid, labels!, 0), 1);
    const minusOne = full(logits!.graph, [N, 1], -1, logits!.dtype);
    const scale = reduction === "sum" ? d! : div(d!, denominator(valid, logits!.dtype));
    const rowScale = unsqueeze(where(valid, expand(scale, labels!.shape), 0), 1);
    return [mul(scatterElements(softmax(logits!, 1), safe, minusOne, 1, { reduction: "add" }), rowScale), undefined];
  },
};
const denominator = (valid: Tensor, dtype: DType): Tensor => maximum(reduceSum(cast(valid, dtype)), 1);
export const crossEntropy = (logits: Tensor, labels: Tensor, options: { ignoreIndex?: number; reduction?: "mean" | "sum" } = {}): Tensor =>
  one(
    logits.graph.apply(CrossEntropy, [logits, labels], {
      ignoreIndex: options.ignoreIndex ?? -100,
      reduction: options.reduction ?? "mean",
    }),
  );

// ---------------------------------------------------------------------------------------------------------------
// recomputation barrier

/**
 * Identity on x that also depends on `token` (a tensor of the backward pass). Recomputed regions take their inputs
 * through it, so that ONNX Runtime can neither merge a recomputed node with its original (CSE: the inputs differ) nor
 * run it before the backward reaches it (it needs the token). Lowered as Concat(x, an empty slice of the token).
 */
export const Barrier: OpDef = {
  name: "Barrier",
  infer: ([x]) => [{ dtype: x!.dtype, shape: x!.shape }],
  lower: (e, [x, token], [y], _attrs, node) => {
    const xt = node.inputs[0]!;
    const flat = e.node("Reshape", [token!, e.ints([-1])])[0]!;
    const empty = e.node("Slice", [flat, e.ints([0]), e.ints([0])])[0]!;
    const typed = node.inputs[1]!.dtype === xt.dtype ? empty : e.node("Cast", [empty], { to: attr.dtype(xt.dtype) })[0]!;
    if (xt.rank === 0) {
      const x1 = e.node("Reshape", [x!, e.ints([1])])[0]!;
      const c = e.node("Concat", [x1, typed], { axis: attr.int(0) })[0]!;
      e.node("Reshape", [c, e.ints([])], {}, [y!]);
      return;
    }
    const shape = [...xt.shape.slice(0, -1), 0];
    const empties = e.node("Reshape", [typed, e.ints(shape)], { allowzero: attr.int(1) })[0]!;
    e.node("Concat", [x!, empties], { axis: attr.int(xt.rank - 1) }, [y!]);
  },
  grad: ([d]) => [d!, undefined],
};
export const barrier = (x: Tensor, token: Tensor): Tensor => one(x.graph.apply(Barrier, [x, token], {}));

export type { NodeView, OutSpec };
