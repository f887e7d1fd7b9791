// Every gradient rule against central finite differences of the same graph in float64, run by ONNX Runtime, on
// random shapes (including broadcasting) and random values: relative error < 1e-6.

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import * as G from "./index.js";
import { Graph, type Tensor } from "./index.js";
import { broadcastShapes } from "./ops.js";
import { gradCheck } from "./testing.js";

const RUNS = 10;
const TOL = 1e-6;
let worst = 0;
afterAll(() => {
  if (process.env.NEURAL_REPORT) console.log(`largest relative error over every gradient check: ${worst.toExponential(2)}`);
});

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

type Range = "any" | "positive" | "nonzero" | "separated" | "separated-shifted" | "f32-exact";
interface In {
  shape: number[];
  range?: Range;
}

function values(shape: readonly number[], range: Range, rand: () => number): Float64Array {
  const n = size(shape);
  if (range === "separated" || range === "separated-shifted") {
    // Values on a grid of step 0.05 (+ up to 0.01 of noise), in random order: no near-ties for max/min. The shifted
    // grid sits halfway between, so two tensors never tie with each other either.
    const shift = range === "separated-shifted" ? 0.025 : 0;
    const v = Array.from({ length: n }, (_, i) => (i - Math.floor(n / 2)) * 0.05 + shift + rand() * 0.01);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [v[i], v[j]] = [v[j]!, v[i]!];
    }
    return Float64Array.from(v);
  }
  return Float64Array.from({ length: n }, () => {
    const u = rand() * 2 - 1;
    // Multiples of 2^-16: x ± h stays exact in float32 for the power-of-two steps of the Cast check.
    if (range === "f32-exact") return Math.round(u * 1.5 * 65536) / 65536;
    if (range === "positive") return 0.5 + rand() * 1.5;
    if (range === "nonzero") return (u < 0 ? -1 : 1) * (0.5 + rand() * 1.5);
    return u * 1.5;
  });
}

/** Build op(inputs) in float64, weight each output by a random tensor, and check d(Σ r·op)/d(inputs). */
async function check(
  seed: number,
  inputs: In[],
  build: (...xs: Tensor[]) => Tensor | Tensor[],
  options: { h?: number; wrt?: number[] } = {},
): Promise<number> {
  const rand = rng(seed);
  const g = new Graph();
  const feeds: Record<string, Float64Array> = {};
  const xs = inputs.map((inp, i) => {
    feeds[`x${i}`] = values(inp.shape, inp.range ?? "any", rand);
    return g.input(`x${i}`, "float64", inp.shape);
  });
  const out = build(...xs);
  const outs = Array.isArray(out) ? out : [out];
  const terms = outs.map((o, k) => {
    feeds[`r${k}`] = values(o.shape, "any", rand);
    return G.reduceSum(G.mul(o, g.input(`r${k}`, "float64", o.shape)));
  });
  const loss = terms.length === 1 ? terms[0]! : G.sum(terms);
  const wrt = (options.wrt ?? xs.map((_, i) => i)).map((i) => xs[i]!);
  const result = await gradCheck(loss, wrt, feeds, { h: options.h });
  expect(result.relError, JSON.stringify(result.tensors)).toBeLessThan(TOL);
  worst = Math.max(worst, result.relError);
  return result.relError;
}

// arbitraries -----------------------------------------------------------------------------------------------------
const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const dimArb = fc.integer({ min: 1, max: 4 });
const shapeArb = (minRank = 0, maxRank = 3) => fc.array(dimArb, { minLength: minRank, maxLength: maxRank });
/** Two shapes that broadcast together: from one full shape, each operand drops leading axes or sets axes to 1. */
const broadcastPairArb = fc
  .tuple(shapeArb(0, 4), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), fc.nat(2), fc.nat(2))
  .map(([full, modes, dropA, dropB]) => {
    const a = full.map((d, i) => (modes[i] === 1 ? 1 : d)).slice(Math.min(dropA, full.length));
    const b = full.map((d, i) => (modes[i] === 2 ? 1 : d)).slice(Math.min(dropB, full.length));
    return [a, b] as const;
  });
const prop = <T>(arb: fc.Arbitrary<T>, body: (v: T) => Promise<unknown>) =>
  fc.assert(
    fc.asyncProperty(arb, async (v) => void (await body(v))),
    { numRuns: RUNS },
  );

describe("gradient rules vs finite differences (float64, ORT)", () => {
  const binaries: [string, (a: Tensor, b: Tensor) => Tensor, Range, Range][] = [
    ["Add", G.add, "any", "any"],
    ["Sub", G.sub, "any", "any"],
    ["Mul", G.mul, "any", "any"],
    ["Div", G.div, "any", "nonzero"],
    ["Pow", G.pow, "positive", "any"],
    ["Max", G.maximum, "separated", "separated-shifted"],
    ["Min", G.minimum, "separated", "separated-shifted"],
  ];
  for (const [name, f, ra, rb] of binaries) {
    it(`${name} with broadcasting`, () =>
      prop(fc.tuple(seedArb, broadcastPairArb), ([seed, [a, b]]) =>
        check(
          seed,
          [
            { shape: [...a], range: ra },
            { shape: [...b], range: rb },
          ],
          f,
        ),
      ));
  }
  it("Max/Min against a scalar constant", () =>
    prop(fc.tuple(seedArb, shapeArb(1)), ([seed, s]) =>
      check(seed, [{ shape: s, range: "separated" }], (x) => G.minimum(G.maximum(x, 0.037), 0.537)),
    ));

  const unaries: [string, (x: Tensor) => Tensor, Range][] = [
    ["Neg", G.neg, "any"],
    ["Exp", G.exp, "any"],
    ["Log", G.log, "positive"],
    ["Sqrt", G.sqrt, "positive"],
    ["Reciprocal", G.reciprocal, "nonzero"],
    ["Sigmoid", G.sigmoid, "any"],
    ["Tanh", G.tanh, "any"],
    ["Sin", G.sin, "any"],
    ["Cos", G.cos, "any"],
    ["SiLU (composed)", G.silu, "any"],
  ];
  for (const [name, f, r] of unaries) {
    it(name, () => prop(fc.tuple(seedArb, shapeArb()), ([seed, s]) => check(seed, [{ shape: s, range: r }], f)));
  }

  it("Softmax and LogSoftmax on a random axis", () =>
    prop(fc.tuple(seedArb, shapeArb(1), fc.nat(), fc.boolean()), ([seed, s, ax, log]) =>
      check(seed, [{ shape: s }], (x) => (log ? G.logSoftmax(x, ax % s.length) : G.softmax(x, ax % s.length))),
    ));

  const axesArb = shapeArb(1).chain((s) => fc.tuple(fc.constant(s), fc.subarray([...s.keys()], { minLength: 1 }), fc.boolean()));
  it("ReduceSum / ReduceMean / ReduceMax over random axes", () =>
    prop(fc.tuple(seedArb, axesArb, fc.constantFrom("sum", "mean", "max")), ([seed, [s, axes, keep], kind]) =>
      check(seed, [{ shape: s, range: kind === "max" ? "separated" : "any" }], (x) =>
        kind === "sum" ? G.reduceSum(x, axes, keep) : kind === "mean" ? G.reduceMean(x, axes, keep) : G.reduceMax(x, axes, keep),
      ),
    ));
  it("ReduceSum over all axes to a scalar", () =>
    prop(fc.tuple(seedArb, shapeArb()), ([seed, s]) => check(seed, [{ shape: s }], (x) => G.reduceSum(x))));

  it("MatMul with broadcast batch dimensions", () =>
    prop(fc.tuple(seedArb, broadcastPairArb, dimArb, dimArb, dimArb), ([seed, [ba, bb], m, k, n]) =>
      check(seed, [{ shape: [...ba.slice(-2), m, k] }, { shape: [...bb.slice(-2), k, n] }], G.matmul),
    ));
  it("MatMul of a batch by a matrix (folded weight gradient)", () =>
    prop(fc.tuple(seedArb, shapeArb(1, 2), dimArb, dimArb), ([seed, batch, k, n]) =>
      check(seed, [{ shape: [...batch, 3, k] }, { shape: [k, n] }], (a, w) => G.matmul(a, G.transposeLast2(G.transposeLast2(w)))),
    ));

  it("Gemm with every transpose combination and a scale, and linear (x·wᵀ)", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (seed, m, k, n) => {
          for (const [ta, tb] of [
            [false, false],
            [true, false],
            [false, true],
            [true, true],
          ] as const) {
            await check(seed, [{ shape: ta ? [k, m] : [m, k] }, { shape: tb ? [n, k] : [k, n] }], (a, b) =>
              G.gemm(a, b, { transA: ta, transB: tb, alpha: 0.7 }),
            );
          }
          await check(seed, [{ shape: [2, m, k] }, { shape: [n, k] }], (x, w) => G.linear(x, w, 1.3));
        },
      ),
      { numRuns: 4 },
    ));

  it("Reshape", () =>
    prop(fc.tuple(seedArb, shapeArb(1)), ([seed, s]) =>
      check(seed, [{ shape: s }], (x) => G.reshape(x, size(s) % 2 === 0 ? [2, -1] : [-1, 1])),
    ));
  it("Transpose with a random permutation", () =>
    prop(
      fc
        .tuple(seedArb, shapeArb(1, 4))
        .chain(([seed, s]) =>
          fc.tuple(fc.constant(seed), fc.constant(s), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })),
        ),
      ([seed, s, perm]) => check(seed, [{ shape: s }], (x) => G.transpose(x, perm)),
    ));
  it("Concat and Split along a random axis", () =>
    prop(fc.tuple(seedArb, shapeArb(1), fc.nat(), fc.array(dimArb, { minLength: 1, maxLength: 3 })), ([seed, s, ax, parts]) => {
      const axis = ax % s.length;
      const shapes = parts.map((p) => s.map((d, i) => (i === axis ? p : d)));
      return check(
        seed,
        shapes.map((shape) => ({ shape })),
        (...xs) => {
          const c = G.concat(xs, axis);
          const total = parts.reduce((a, b) => a + b, 0);
          const sizes = total > 1 ? [1, total - 1] : [1];
          return G.split(c, sizes, axis);
        },
      );
    }));
  it("Slice (with negative indices) and Pad", () =>
    prop(
      fc.tuple(seedArb, shapeArb(1), fc.nat(), fc.integer({ min: -4, max: 4 }), fc.integer({ min: -4, max: 4 })),
      ([seed, s, ax, a, b]) =>
        check(seed, [{ shape: s }], (x) => {
          const y = G.slice(x, [a], [b], [ax % s.length]);
          return [y, G.pad(y, y.shape.map((_, i) => i % 2).concat(y.shape.map(() => 1)))];
        }),
    ));
  it("Gather (repeated indices accumulate) on a random axis", () =>
    prop(fc.tuple(seedArb, shapeArb(1), fc.nat(), shapeArb(0, 2)), ([seed, s, ax, idxShape]) => {
      const axis = ax % s.length;
      const rand = rng(seed + 1);
      const idx = BigInt64Array.from({ length: size(idxShape) }, () => BigInt(Math.floor(rand() * s[axis]!)));
      return check(seed, [{ shape: s }], (x) => G.gather(x, x.graph.constant(idx, "int64", idxShape), axis));
    }));
  it("Where with broadcasting", () =>
    prop(fc.tuple(seedArb, broadcastPairArb, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 })), ([seed, [a, b], bits]) =>
      check(seed, [{ shape: [...a] }, { shape: [...b] }], (x, y) => {
        const cs = x.shape.length >= 1 ? [x.shape[x.shape.length - 1]!] : [];
        const cond = x.graph.constant(
          Array.from({ length: size(cs) }, (_, i) => (bits[i % 8] ? 1 : 0)),
          "bool",
          cs,
        );
        return G.where(cond, x, y);
      }),
    ));
  it("Cast float64 → float32 → float64 (linear, so a large step)", () =>
    prop(fc.tuple(seedArb, shapeArb()), ([seed, s]) =>
      check(seed, [{ shape: s, range: "f32-exact" }], (x) => G.cast(G.cast(x, "float32"), "float64"), { h: 0.25 }),
    ));
  it("Expand", () =>
    prop(fc.tuple(seedArb, broadcastPairArb), ([seed, [a, b]]) =>
      check(seed, [{ shape: [...a] }], (x) => G.expand(x, broadcastShapes("t", a, b))),
    ));
  it("Squeeze and Unsqueeze", () =>
    prop(fc.tuple(seedArb, shapeArb(0, 3), fc.nat()), ([seed, s, ax]) =>
      check(seed, [{ shape: s }], (x) => {
        const u = G.unsqueeze(x, ax % (s.length + 1));
        return [u, G.squeeze(u, ax % (s.length + 1))];
      }),
    ));
  it("Sum of several tensors (fan-out accumulation)", () =>
    prop(fc.tuple(seedArb, shapeArb()), ([seed, s]) =>
      check(seed, [{ shape: s }, { shape: s }], (x, y) => G.sum([x, G.mul(x, y), y, G.exp(x)])),
    ));

  // D ≥ 2: over one element RMSNorm is sign(x)·w, whose x-gradient (~eps/|x|³) is below what differences resolve.
  it("RMSNorm", () =>
    prop(fc.tuple(seedArb, shapeArb(0, 2), fc.integer({ min: 2, max: 6 }), fc.constantFrom(1e-6, 1e-5, 0.1)), ([seed, lead, d, eps]) =>
      check(seed, [{ shape: [...lead, d] }, { shape: [d] }], (x, w) => G.rmsNorm(x, w, eps)),
    ));
  it("Rotary embedding, rotate-half and interleaved, with broadcast cos/sin", () =>
    prop(
      fc.tuple(
        seedArb,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        fc.boolean(),
      ),
      ([seed, b, s, half, interleaved, perBatch]) =>
        check(
          seed,
          [
            { shape: [b, 2, s, 2 * half] },
            { shape: perBatch ? [b, 1, s, half] : [s, half] },
            { shape: perBatch ? [b, 1, s, half] : [s, half] },
          ],
          (x, c, sn) => G.rotary(x, c, sn, { interleaved }),
        ),
    ));
  it("Cross-entropy's value is −log softmax at the label, averaged over counted rows", async () => {
    const g = new Graph();
    const x = g.input("x", "float64", [3, 4]);
    g.output("loss", G.crossEntropy(x, g.constant([2, -100, 0], "int64", [3])));
    const logits = [1, -2, 3, 0.5, 9, 9, 9, 9, -1, 4, 2, 1000];
    const { runGraph } = await import("./node.js");
    const out = await runGraph(g, { x: Float64Array.from(logits) });
    const nll = (row: number[], label: number) => {
      const m = Math.max(...row);
      return m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) - row[label]!;
    };
    expect(out.loss![0]).toBeCloseTo((nll(logits.slice(0, 4), 2) + nll(logits.slice(8, 12), 0)) / 2, 10);
  });
  it("Cross-entropy with ignore_index, mean over counted tokens and sum", () =>
    prop(fc.tuple(seedArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 7 }), fc.boolean()), ([seed, n, c, mean]) => {
      const rand = rng(seed + 7);
      const labels = BigInt64Array.from({ length: n }, () => (rand() < 0.3 ? -100n : BigInt(Math.floor(rand() * c))));
      return check(seed, [{ shape: [n, c] }], (x) =>
        G.crossEntropy(x, x.graph.constant(labels, "int64", [n]), { reduction: mean ? "mean" : "sum" }),
      );
    }));
});

describe("gradient edge cases", () => {
  it("stop-gradient blocks the gradient", async () => {
    const g = new Graph();
    const x = g.input("x", "float64", [3]);
    const [d] = G.grad(G.reduceSum(G.mul(x, G.stopGradient(x))), [x]);
    g.output("d", d!);
    const { runGraph } = await import("./node.js");
    const out = await runGraph(g, { x: Float64Array.from([1, 2, 3]) });
    expect(Array.from(out.d as Float64Array)).toEqual([1, 2, 3]);
  });
  it("cross-entropy with every label ignored is 0 with a zero gradient", async () => {
    const g = new Graph();
    const x = g.input("x", "float64", [2, 3]);
    const loss = G.crossEntropy(x, g.constant([-100, -100], "int64", [2]));
    const [d] = G.grad(loss, [x]);
    g.output("loss", loss);
    g.output("d", d!);
    const { runGraph } = await import("./node.js");
    const out = await runGraph(g, { x: Float64Array.from([1, 2, 3, 4, 5, 6]) });
    expect(out.loss![0]).toBe(0);
    expect(Array.from(out.d as Float64Array, (v) => v + 0)).toEqual([0, 0, 0, 0, 0, 0]); // −0 where (p − 1)·0
  });
  it("a loss that does not depend on a tensor gives it a zero gradient", async () => {
    const g = new Graph();
    const x = g.input("x", "float64", [2]);
    const y = g.input("y", "float64", [2]);
    const [dy] = G.grad(G.reduceSum(G.exp(x)), [y]);
    g.output("dy", dy!);
    const { runGraph } = await import("./node.js");
    expect(Array.from((await runGraph(g, { x: new Float64Array(2), y: new Float64Array(2) })).dy as Float64Array)).toEqual([0, 0]);
  });
  it("differentiating through an op without a rule names the op", () => {
    const g = new Graph();
    const x = g.input("x", "float64", [2, 3]);
    const y = G.scatterNDAdd(x, g.constant([0], "int64", [1, 1]), G.slice(x, [0], [1], [0]));
    expect(() => G.grad(G.reduceSum(y), [x])).toThrow(/ScatterNDAdd .* has no gradient rule/);
  });
});
