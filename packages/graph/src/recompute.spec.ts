// Recomputation (gradient checkpointing): the gradients are unchanged, ONNX Runtime keeps the recomputed nodes
// (no CSE merge) and runs them only in the backward pass (checked in ORT's optimized model and its profile).

import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as G from "./index.js";
import { createSession, toOrt } from "./node.js";
import { readModelNodes } from "./testing.js";

const dir = mkdtempSync(join(tmpdir(), "graph-recompute-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A residual tanh-MLP stack: h ← h + tanh(h·W_l), loss = Σ h². */
function stack(dtype: "float32" | "float64", layers: number, recompute: boolean) {
  const g = new G.Graph();
  const x = g.input("x", dtype, [4, 8]);
  const ws = [...Array(layers).keys()].map((i) => g.input(`w${i}`, dtype, [8, 8]));
  let h = x;
  ws.forEach((w, i) => {
    const block = () => G.add(h, G.tanh(G.matmul(h, w)));
    h = g.scope(`layer${i}`, () => (recompute ? g.recompute(block, `layer${i}`) : block()));
  });
  const loss = g.scope("loss", () => G.reduceSum(G.mul(h, h)));
  const grads = G.grad(loss, [x, ...ws]);
  g.output("loss", loss);
  grads.forEach((d, i) => g.output(`d${i}`, d));
  return { g, ws };
}

function feeds(dtype: "float32" | "float64", layers: number) {
  const arr = (n: number, v: (i: number) => number) =>
    dtype === "float32" ? Float32Array.from({ length: n }, (_, i) => v(i)) : Float64Array.from({ length: n }, (_, i) => v(i));
  const f: Record<string, ReturnType<typeof toOrt>> = {
    x: toOrt(
      dtype,
      [4, 8],
      arr(32, (i) => Math.sin(i)),
    ),
  };
  for (let i = 0; i < layers; i++)
    f[`w${i}`] = toOrt(
      dtype,
      [8, 8],
      arr(64, (j) => Math.cos(j * (i + 1)) * 0.3),
    );
  return f;
}

describe("recomputation", () => {
  it("gives the same loss and gradients as keeping the activations", async () => {
    const run = async (recompute: boolean) => {
      const { g } = stack("float64", 3, recompute);
      const { session } = await createSession(G.serialize(g).model, { intraOpNumThreads: 1 });
      const out = await session.run(feeds("float64", 3));
      await session.release();
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data as Float64Array)]));
    };
    const kept = await run(false);
    const recomputed = await run(true);
    expect(recomputed).toEqual(kept);
  });

  it("ORT keeps every recomputed node (no CSE merge) and runs them only in the backward", async () => {
    const layers = 3;
    const { g } = stack("float32", layers, true);
    const optimized = join(dir, "opt.onnx");
    const { session } = await createSession(G.serialize(g).model, {
      intraOpNumThreads: 1,
      graphOptimizationLevel: "all",
      optimizedModelFilePath: optimized,
      enableProfiling: true,
      profileFilePrefix: join(dir, "profile"),
    });
    await session.run(feeds("float32", layers));
    const profile = (session as unknown as { endProfiling(): void }).endProfiling();
    await session.release();
    void profile;

    const nodes = readModelNodes(readFileSync(optimized));
    for (let i = 0; i < layers; i++) {
      const ofLayer = nodes.filter((n) => n.name.startsWith(`layer${i}/`));
      expect(
        ofLayer.filter((n) => /MatMul|Gemm/.test(n.opType) && !n.name.includes("/recompute/") && !n.name.includes("/grad/")),
        `layer ${i} forward`,
      ).toHaveLength(1);
      expect(
        ofLayer.filter((n) => /MatMul|Gemm/.test(n.opType) && n.name.includes("/recompute/")),
        `layer ${i} recompute`,
      ).toHaveLength(1);
    }

    const file = readdir(dir).find((f) => f.startsWith("profile") && f.endsWith(".json"))!;
    const events = (JSON.parse(readFileSync(join(dir, file), "utf8")) as { cat: string; name: string; ts: number }[])
      .filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"))
      .sort((a, b) => a.ts - b.ts)
      .map((e) => e.name.replace(/_kernel_time$/, ""));
    const pos = (pred: (n: string) => boolean) => events.flatMap((n, i) => (pred(n) ? [i] : []));
    const lastForward = Math.max(...pos((n) => /^layer\d+\//.test(n) && !n.includes("/recompute/") && !n.includes("/grad/")));
    const firstRecompute = Math.min(...pos((n) => n.includes("/recompute/")));
    expect(firstRecompute).toBeGreaterThan(lastForward);
    // Each layer is recomputed just before its own backward, after the backward of the layer above.
    for (let i = 0; i < layers - 1; i++) {
      const recomputeI = Math.min(...pos((n) => n.startsWith(`layer${i}/recompute/`)));
      const gradAbove = Math.min(...pos((n) => n.startsWith(`layer${i + 1}/grad/`)));
      expect(recomputeI).toBeGreaterThan(gradAbove);
    }
  });

  it("control: without a barrier ORT's CSE does merge a duplicate node", async () => {
    const g = new G.Graph();
    const x = g.input("x", "float32", [4, 8]);
    const w = g.input("w", "float32", [8, 8]);
    const a = g.scope("original", () => G.matmul(x, w));
    const b = g.scope("duplicate", () => G.matmul(x, w));
    const c = g.scope("barriered", () => G.matmul(G.barrier(x, a), w));
    g.output("y", G.add(G.add(a, b), c));
    const optimized = join(dir, "cse.onnx");
    const { session } = await createSession(G.serialize(g).model, {
      intraOpNumThreads: 1,
      graphOptimizationLevel: "all",
      optimizedModelFilePath: optimized,
    });
    await session.release();
    const matmuls = readModelNodes(readFileSync(optimized))
      .filter((n) => /MatMul|Gemm/.test(n.opType))
      .map((n) => n.name.split("/")[0]);
    expect(matmuls).toHaveLength(2);
    expect(matmuls).toContain("barriered");
  });

  it("recompute regions do not nest, and grad() is refused inside one", () => {
    const g = new G.Graph();
    const x = g.input("x", "float32", [2]);
    expect(() => g.recompute(() => g.recompute(() => G.exp(x)))).toThrow(/do not nest/);
    expect(() => g.recompute(() => G.grad(G.reduceSum(x), [x]))).toThrow(/inside recompute/);
  });
});

function readdir(d: string): string[] {
  return readdirSync(d);
}
