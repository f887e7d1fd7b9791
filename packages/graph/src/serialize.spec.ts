// ONNX serialization: inline and external weights, opsets 21–23, models whose weights exceed 2 GB, and errors.

import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import * as G from "./index.js";
import { SharedWeights, createSession, saveGraph, saveModel, toOrt } from "./node.js";
import { readModelNodes } from "./testing.js";

const dir = mkdtempSync(join(tmpdir(), "graph-serialize-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function linear(opts: { lazy?: boolean } = {}) {
  const g = new G.Graph({ dims: { batch: 2, hidden: 300 } });
  const x = g.input("x", "float32", ["batch", "hidden"]);
  const wData = Float32Array.from({ length: 300 * 4 }, (_, i) => Math.sin(i));
  const w = g.initializer("w", "float32", [300, 4], opts.lazy ? () => wData : wData);
  const b = g.initializer("b", "float32", [4], Float32Array.from([1, 2, 3, 4]));
  g.output("y", G.add(G.matmul(x, w), b));
  return g;
}
const xFeed = () => ({
  x: toOrt(
    "float32",
    [2, 300],
    Float32Array.from({ length: 600 }, (_, i) => Math.cos(i)),
  ),
});

describe("serialize", () => {
  it("inline and external weights give the same outputs, for opsets 21, 22 and 23", async () => {
    const inline = await createSession(G.serialize(linear()).model, { intraOpNumThreads: 1 });
    const expected = Array.from((await inline.session.run(xFeed())).y!.data as Float32Array);
    for (const opset of [21, 22, 23]) {
      const path = await saveGraph(linear({ lazy: true }), join(dir, `ext${opset}`), { opset });
      expect(statSync(`${path}.data`).size).toBe(300 * 4 * 4); // only w is large enough to go external
      const { session } = await createSession(path, { intraOpNumThreads: 1 });
      expect(Array.from((await session.run(xFeed())).y!.data as Float32Array)).toEqual(expected);
      await session.release();
    }
  });

  it("models saved through SharedWeights store each weight once and read it back right", async () => {
    const shared = new SharedWeights(join(dir, "shared"));
    const wData = Float32Array.from({ length: 300 * 4 }, (_, i) => Math.sin(i));
    const build = (extra: boolean) => {
      const g = new G.Graph({ dims: { batch: 2, hidden: 300 } });
      const x = g.input("x", "float32", ["batch", "hidden"]);
      let reads = 0;
      const w = g.initializer("w", "float32", [300, 4], () => (reads++, wData));
      let y = G.matmul(x, w);
      if (extra)
        y = G.add(
          y,
          G.matmul(
            x,
            g.initializer(
              "w2",
              "float32",
              [300, 4],
              Float32Array.from(wData, (v) => 2 * v),
            ),
          ),
        );
      g.output("y", y);
      return { g, reads: () => reads };
    };
    const a = build(false);
    const b = build(true);
    const pa = await shared.save(a.g, "a.onnx");
    const pb = await shared.save(b.g, "b.onnx");
    expect(a.reads()).toBe(1);
    expect(b.reads()).toBe(0); // w is already in the file: not read again
    expect(shared.count).toBe(2);
    expect(statSync(join(dir, "shared", "weights.bin")).size).toBe(shared.bytes);
    expect(shared.bytes).toBe(8192 + 300 * 4 * 4); // w (4800 bytes) at 0, w2 at the next 4 KiB boundary
    const ya = (await (await createSession(pa, { intraOpNumThreads: 1 })).session.run(xFeed())).y!.data as Float32Array;
    const yb = (await (await createSession(pb, { intraOpNumThreads: 1 })).session.run(xFeed())).y!.data as Float32Array;
    const ref = (await (await createSession(G.serialize(linear()).model, { intraOpNumThreads: 1 })).session.run(xFeed())).y!
      .data as Float32Array;
    ya.forEach((v, i) => expect(v).toBeCloseTo(ref[i]! - [1, 2, 3, 4][i % 4]!, 4));
    yb.forEach((v, i) => expect(v).toBeCloseTo(3 * ya[i]!, 3));
    // the same name with another shape is another weight
    const c = new G.Graph();
    const xc = c.input("x", "float32", [1, 8]);
    c.output(
      "y",
      G.matmul(
        xc,
        c.initializer("w", "float32", [8, 300], () => new Float32Array(2400).fill(1)),
      ),
    );
    await shared.save(c, "c.onnx");
    expect(shared.count).toBe(3);
  });

  it("names ONNX nodes after their scope", () => {
    const g = new G.Graph();
    const x = g.input("x", "float32", [2]);
    g.output(
      "y",
      g.scope("block", () => g.scope("mlp", () => G.exp(x))),
    );
    expect(readModelNodes(G.serialize(g).model).map((n) => n.name)).toEqual(["block/mlp/Exp_0"]);
  });

  it("an output that is an input, or the same tensor twice, goes through Identity", async () => {
    const g = new G.Graph();
    const x = g.input("x", "float32", [2]);
    const y = G.exp(x);
    g.output("a", y);
    g.output("b", y);
    g.output("c", x);
    const { session } = await createSession(G.serialize(g).model);
    const out = await session.run({ x: toOrt("float32", [2], Float32Array.from([0, 1])) });
    expect(Array.from(out.b!.data as Float32Array)).toEqual(Array.from(out.a!.data as Float32Array));
    expect(Array.from(out.c!.data as Float32Array)).toEqual([0, 1]);
  });

  it("drops what no output needs and keeps unused inputs", () => {
    const g = new G.Graph();
    const x = g.input("x", "float32", [2]);
    g.input("unused", "float32", [2]);
    G.exp(x);
    g.output("y", G.neg(x));
    const m = G.serialize(g);
    expect(readModelNodes(m.model).map((n) => n.opType)).toEqual(["Neg"]);
    expect(m.inputNames).toEqual(["x", "unused"]);
  });

  it("rejects an opset outside 21–23, a graph without outputs, and reserved names", () => {
    const g = new G.Graph();
    const x = g.input("x", "float32", [2]);
    expect(() => G.serialize(g)).toThrow(/no outputs/);
    g.output("y", x);
    expect(() => G.serialize(g, { opset: 20 })).toThrow(/opset 20/);
    const h = new G.Graph();
    h.output("y", h.input("_v1", "float32", [1]));
    expect(() => G.serialize(h)).toThrow(/reserved/);
  });

  it("a lazy initializer of the wrong size fails when written, naming it", async () => {
    const g = new G.Graph();
    const w = g.initializer("w", "float32", [1024], () => new Float32Array(3));
    g.output("y", G.exp(w));
    await expect(saveModel(join(dir, "bad.onnx"), G.serialize(g, { externalData: { location: "bad.onnx.data" } }))).rejects.toThrow(
      /initializer w: got 12 bytes/,
    );
  });

  it("async weights are written as external data and refused inline", async () => {
    const g = new G.Graph();
    const w = g.initializer("w", "float32", [1024], async () => new Float32Array(1024).fill(2));
    g.output("y", G.exp(w));
    expect(() => G.serialize(g)).toThrow(/asynchronous data: serialize with externalData/);
    const { session } = await createSession(await saveGraph(g, join(dir, "async")));
    expect((await session.run({})).y!.data[0]).toBeCloseTo(Math.exp(2), 5);
    await session.release();
  });

  // A small tensor placed past 2^31 in a sparse data file (only the referenced bytes are read): fast, always on.
  it("external data at an offset over 2^31 loads", async () => {
    const g = new G.Graph();
    const a = g.initializer(
      "a",
      "float32",
      [1024],
      Float32Array.from({ length: 1024 }, () => 1),
    );
    const b = g.initializer(
      "b",
      "float32",
      [1024],
      Float32Array.from({ length: 1024 }, (_, i) => i),
    );
    g.output("y", G.add(a, b));
    const m = G.serialize(g, { externalData: { location: "far.onnx.data", align: 2 ** 31 + 4096 } });
    expect(m.external.map((c) => c.offset)).toEqual([0, 2 ** 31 + 4096]);
    writeSparse(join(dir, "far.onnx"), m, false);
    const { session } = await createSession(join(dir, "far.onnx"), { intraOpNumThreads: 1 });
    const y = (await session.run({})).y!.data as Float32Array;
    expect([y[0], y[1023]]).toEqual([1, 1024]);
    await session.release();
  });

  // The real thing: 2.25 GiB of weights that ORT reads and computes with (~12 s and 2.3 GB of RAM, so opt-in:
  // NEURAL_BIG_TESTS=1).
  it.runIf(process.env.NEURAL_BIG_TESTS === "1")(
    "a model with 2.25 GiB of weights loads and computes",
    async () => {
      const g = new G.Graph();
      const big = 9 * 2 ** 26; // float32 elements: 2.25 GiB
      const huge = g.initializer("huge", "float32", [big / 1024, 1024], () => new Float32Array(0));
      const tail = g.initializer(
        "tail",
        "float32",
        [1024],
        Float32Array.from({ length: 1024 }, (_, i) => i),
      );
      const idx = g.constant([3, big / 1024 - 1], "int64", [2]);
      g.output("y", G.add(G.gather(huge, idx), tail));
      const m = G.serialize(g, { externalData: { location: "big.onnx.data" } });
      expect(m.externalSize).toBeGreaterThan(2 ** 31);
      expect(m.external.find((c) => c.name === "tail")!.offset).toBeGreaterThan(2 ** 31);
      writeSparse(join(dir, "big.onnx"), m, true); // the huge tensor stays a hole of zeros
      const { session } = await createSession(join(dir, "big.onnx"), {
        intraOpNumThreads: 1,
        extra: { session: { disable_prepacking: "1" } },
      });
      const y = (await session.run({})).y!.data as Float32Array;
      expect([y.length, y[5], y[1024 + 1023]]).toEqual([2048, 5, 1023]);
      await session.release();
    },
    120_000,
  );
});

/** Write the model and its external chunks into a sparse file (skipping the first chunk when `skipFirst`). */
function writeSparse(path: string, m: G.SerializedModel, skipFirst: boolean): void {
  writeFileSync(path, m.model);
  const fd = openSync(`${path.slice(0, path.lastIndexOf("/"))}/${m.externalLocation}`, "w");
  ftruncateSync(fd, m.externalSize);
  for (const c of m.external.slice(skipFirst ? 1 : 0)) writeSync(fd, c.data() as Uint8Array, 0, c.length, c.offset);
  closeSync(fd);
}

describe("quantized weights", () => {
  it("DequantizeLinear of blocked int4 weights feeds a MatMul (and its input gradient)", async () => {
    const g = new G.Graph();
    // W [4, 2] int4, blocks of 2 along axis 0: values −8..7 packed two per byte, low nibble first.
    const q = [1, -2, 3, -4, 5, -6, 7, -8];
    const packed = Uint8Array.from({ length: 4 }, (_, i) => (q[2 * i]! & 15) | ((q[2 * i + 1]! & 15) << 4));
    const w = g.initializer("w", "int4", [4, 2], packed);
    const scale = g.initializer("scale", "float32", [2, 2], Float32Array.from([0.5, 1, 2, 4]));
    const x = g.input("x", "float32", [1, 4]);
    const y = G.matmul(x, G.dequantizeLinear(w, scale, { axis: 0, blockSize: 2 }));
    const [dx] = G.grad(G.reduceSum(y), [x]);
    g.output("y", y);
    g.output("dx", dx!);
    const { session } = await createSession(G.serialize(g).model);
    const out = await session.run({ x: toOrt("float32", [1, 4], Float32Array.from([1, 1, 1, 1])) });
    // Dequantized W rows: [0.5,-2], [1.5,-4], [10,-24], [14,-32].
    expect(Array.from(out.y!.data as Float32Array)).toEqual([26, -62]);
    expect(Array.from(out.dx!.data as Float32Array)).toEqual([-1.5, -2.5, -14, -18]);
    await session.release();
    expect(() => G.dequantizeLinear(w, scale, { axis: 0, blockSize: 4 })).toThrow(/DequantizeLinear: scale \[2,2\] does not fit x \[4,2\]/);
  });
});

describe("session helper", () => {
  it("falls back from an unavailable provider to the CPU and says why", async () => {
    const m = G.serialize(linear()).model;
    const s = await createSession(m, { executionProviders: ["cuda", "cpu"], intraOpNumThreads: 1 });
    expect(s.provider).toBe("cpu");
    expect(s.fallbacks.map((f) => f.provider)).toEqual(["cuda"]);
    expect(s.message).toMatch(/^cuda unavailable \(.+ONNXRUNTIME_NODE_INSTALL=cuda12.*\); running on cpu$/);
    await s.session.release();
  });

  it("throws a SessionError listing every provider when none works", async () => {
    const m = G.serialize(linear()).model;
    const err = await createSession(m, { executionProviders: ["cuda", "coreml"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(G.SessionError);
    expect((err as G.SessionError).attempts.map((a) => a.provider)).toEqual(["cuda", "coreml"]);
    expect((err as Error).message).toMatch(/cuda: .*\n {2}coreml: .*macOS arm64/);
  });

  it("a CPU session with the default provider list", async () => {
    const s = await createSession(G.serialize(linear()).model);
    expect(s.provider).toBe("cpu");
    expect(s.message).toBeUndefined();
    await s.session.release();
  });
});

describe("shape inference errors name the op and the shapes", () => {
  const g = new G.Graph();
  const a = g.input("a", "float32", [2, 3]);
  const b = g.input("b", "float32", [4, 5]);
  it.each([
    ["MatMul", () => G.matmul(a, b), /MatMul: inner dimensions differ: \[2,3\] × \[4,5\]/],
    ["Add", () => G.add(a, b), /Add: cannot broadcast \[2,3\] with \[4,5\]/],
    ["Reshape", () => G.reshape(a, [4, 2]), /Reshape: cannot reshape \[2,3\] \(6 elements\) to \[4,2\]/],
    ["Concat", () => G.concat([a, b], 0), /Concat: shapes do not fit along axis 0: \[2,3\] \[4,5\]/],
    ["dtype", () => G.add(a, g.input("i", "int64", [2, 3])), /Add: dtype mismatch: float32\[2,3\] vs int64\[2,3\]/],
    ["RMSNorm", () => G.rmsNorm(a, g.input("w", "float32", [2]), 1e-5), /RMSNorm: weight \[2\] does not match the last axis of \[2,3\]/],
    ["named dim", () => g.input("z", "float32", ["seq"]), /unknown dimension "seq"/],
  ])("%s", (_, f, re) => expect(f).toThrow(re));
});
