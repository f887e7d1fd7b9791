// Gradient checking against central finite differences, run through ONNX Runtime (Node). For tests of gradient
// rules and of whole training graphs: build the loss in float64, then compare grad() with differences of the loss.

import { GradError } from "./errors.js";
import type { Graph, Tensor } from "./graph.js";
import { grad } from "./autodiff.js";
import { serialize } from "./onnx.js";
import { createSession, toOrt } from "./node.js";
import type { TypedArray } from "./dtype.js";

export interface GradCheckOptions {
  /** Step of the central difference (default 1e-4; Richardson-extrapolated with h/2, so the error is O(h⁴)). */
  h?: number;
  /** Check at most this many elements per tensor, chosen at random (default: all). */
  maxElements?: number;
  /** Seed of the element choice. */
  seed?: number;
  /** ORT graph optimization level (default "basic"). */
  optimization?: "disabled" | "basic" | "extended" | "all";
}

export interface GradCheckResult {
  loss: number;
  /** Per wrt tensor: max |analytic − numeric|, max |numeric|, and their ratio. */
  tensors: { name: string; checked: number; maxAbsError: number; maxAbs: number; relError: number }[];
  /** The largest relError. */
  relError: number;
  /** The analytic gradients (grad()'s outputs), one per wrt tensor. */
  gradients: Float64Array[];
}

/**
 * Compare grad(loss, wrt) with central finite differences of the same graph. `loss` must be a float64 scalar and
 * every wrt a float64 graph input fed in `feeds`. Adds outputs to the graph (`gradcheck.loss`, `gradcheck.d<i>`).
 * relError per tensor = max_i |g_i − fd_i| / max(max_i |fd_i|, 1e-12).
 */
export async function gradCheck(
  loss: Tensor,
  wrt: readonly Tensor[],
  feeds: Record<string, TypedArray>,
  options: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const g: Graph = loss.graph;
  if (loss.dtype !== "float64" || loss.rank !== 0) throw new GradError(`gradCheck: the loss must be a float64 scalar, got ${loss}`);
  for (const t of wrt) {
    if (t.source.kind !== "input" || t.dtype !== "float64") throw new GradError(`gradCheck: ${t} must be a float64 graph input`);
  }
  const grads = grad(loss, wrt);
  g.output("gradcheck.loss", loss);
  grads.forEach((d, i) => g.output(`gradcheck.d${i}`, d));

  // Level "basic": ORT's extended fusions (QuickGelu, SimplifiedLayerNormalization, ...) may lack float64 kernels
  // or compute in lower precision.
  const opts = { intraOpNumThreads: 1, graphOptimizationLevel: options.optimization ?? ("basic" as const) };
  const full = await createSession(serialize(g, { outputs: ["gradcheck.loss", ...grads.map((_, i) => `gradcheck.d${i}`)] }).model, opts);
  const lossOnly = await createSession(serialize(g, { outputs: ["gradcheck.loss"] }).model, opts);
  try {
    const data: Record<string, TypedArray> = {};
    const ortFeeds = (): Record<string, ReturnType<typeof toOrt>> => {
      const f: Record<string, ReturnType<typeof toOrt>> = {};
      for (const t of g.inputs) {
        const name = t.name;
        data[name] ??= feeds[name] ? feeds[name]!.slice() : missing(name);
        f[name] = toOrt(t.dtype, t.shape, data[name]!);
      }
      return f;
    };
    const out = await full.session.run(ortFeeds());
    const lossValue = (out["gradcheck.loss"]!.data as Float64Array)[0]!;
    const evalLoss = async (): Promise<number> => ((await lossOnly.session.run(ortFeeds()))["gradcheck.loss"]!.data as Float64Array)[0]!;

    const h = options.h ?? 1e-4;
    let rng = (options.seed ?? 1) >>> 0;
    const rand = (): number => (rng = (Math.imul(rng, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const tensors: GradCheckResult["tensors"] = [];
    for (let w = 0; w < wrt.length; w++) {
      const t = wrt[w]!;
      const name = t.name;
      const x = data[name] as Float64Array;
      const analytic = out[`gradcheck.d${w}`]!.data as Float64Array;
      let idx = [...Array(x.length).keys()];
      if (options.maxElements !== undefined && idx.length > options.maxElements) {
        for (let i = idx.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [idx[i], idx[j]] = [idx[j]!, idx[i]!];
        }
        idx = idx.slice(0, options.maxElements);
      }
      let maxAbsError = 0;
      let maxAbs = 0;
      for (const i of idx) {
        const x0 = x[i]!;
        const diff = async (step: number): Promise<number> => {
          x[i] = x0 + step;
          const up = await evalLoss();
          x[i] = x0 - step;
          const down = await evalLoss();
          x[i] = x0;
          return (up - down) / (2 * step);
        };
        const d1 = await diff(h);
        const d2 = await diff(h / 2);
        const fd = (4 * d2 - d1) / 3;
        maxAbsError = Math.max(maxAbsError, Math.abs(fd - analytic[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(fd));
      }
      tensors.push({ name, checked: idx.length, maxAbsError, maxAbs, relError: maxAbsError / Math.max(maxAbs, 1e-12) });
    }
    const gradients = wrt.map((_, w) => out[`gradcheck.d${w}`]!.data as Float64Array);
    return { loss: lossValue, tensors, relError: Math.max(0, ...tensors.map((t) => t.relError)), gradients };
  } finally {
    await full.session.release();
    await lossOnly.session.release();
  }
}

function missing(name: string): never {
  throw new GradError(`gradCheck: no feed for input ${name}`);
}

/** The nodes (name, op type) of an ONNX model's main graph: a minimal protobuf reader, e.g. to inspect the model
 * ONNX Runtime writes after optimization (`optimizedModelFilePath`). */
export function readModelNodes(model: Uint8Array): { name: string; opType: string; inputs: string[]; outputs: string[] }[] {
  const graph = fields(model).find((f) => f.field === 7);
  if (!graph || !(graph.value instanceof Uint8Array)) return [];
  const dec = new TextDecoder();
  return fields(graph.value)
    .filter((f) => f.field === 1 && f.value instanceof Uint8Array)
    .map((f) => {
      const node = fields(f.value as Uint8Array);
      const str = (n: number): string[] => node.filter((x) => x.field === n).map((x) => dec.decode(x.value as Uint8Array));
      return { name: str(3)[0] ?? "", opType: str(4)[0] ?? "", inputs: str(1), outputs: str(2) };
    });
}

function fields(buf: Uint8Array): { field: number; value: Uint8Array | bigint }[] {
  const out: { field: number; value: Uint8Array | bigint }[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, value: varint() });
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ field, value: buf.subarray(pos, pos + len) });
      pos += len;
    } else throw new Error(`readModelNodes: unsupported wire type ${wire}`);
  }
  return out;
}
