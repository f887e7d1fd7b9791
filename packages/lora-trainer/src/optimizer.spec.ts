// OptimizerState's deferred moments against plain in-place AdamW: the same bits after each step, a checkpoint's lazy
// moments equal to the eager ones, an exact undo of the last update, and a non-finite update left unapplied; with
// undo()'s state in memory and in a scratch file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { adamwInPlace, adamwScalars } from "./adamw.js";
import { seededRandom } from "./models/decode.js";
import { memoryUndoStore, OptimizerState, TrainingError, undoInFile, type UndoStore } from "./optimizer.js";
import { stepNames } from "./train-step.js";
import { fileUndoStore, undoStoreFor } from "./undo-file.js";

const spec = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
const params = [
  { name: "a", shape: [3, 5], decay: true },
  { name: "b", shape: [9000], decay: false },
];
const r = seededRandom(5);
const values = () => new Map(params.map((p) => [p.name, Float32Array.from({ length: p.shape.reduce((x, y) => x * y) }, () => r() - 0.5)]));
const grads = (k: number) =>
  Object.fromEntries(
    params.map((p, i) => [
      stepNames.grad(p.name),
      Float32Array.from({ length: p.shape.reduce((x, y) => x * y) }, (_, j) => Math.sin(j + k * 7 + i) / 10),
    ]),
  );
const copy = (m: ReadonlyMap<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, Float32Array.from(v)]));

/** Plain AdamW in place over `steps` gradients: the reference. */
function reference(start: Map<string, Float32Array>, steps: number) {
  const p = copy(start);
  const m = new Map(params.map((x) => [x.name, new Float32Array(p.get(x.name)!.length)]));
  const v = copy(m);
  for (let k = 1; k <= steps; k++) {
    const g = grads(k);
    const s = adamwScalars(spec, { lr: 1e-3, step: k, gradNorm: 2 });
    for (const x of params)
      adamwInPlace(p.get(x.name)!, g[stepNames.grad(x.name)] as Float32Array, m.get(x.name)!, v.get(x.name)!, s, x.decay);
  }
  return { p, m, v };
}

const scratch = mkdtempSync(path.join(tmpdir(), "neural-undo-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const stores: [string, () => UndoStore][] = [
  ["in memory", memoryUndoStore],
  // pieces of 1000 values: "b" is read back in ten, the last one short
  ["in a scratch file", () => fileUndoStore(params, path.join(scratch, `undo-${Math.random()}.bin`), 1000)],
];

describe.each(stores)("OptimizerState, undo state %s", (_, store) => {
  const start = values();
  const stepped = (steps: number) => {
    const o = new OptimizerState(params, copy(start), spec, store());
    for (let k = 1; k <= steps; k++) expect(o.apply(grads(k), { lr: 1e-3, step: k, gradNorm: 2 })).toBeUndefined();
    return o;
  };

  it("gives plain AdamW's bits after every step; lazily saved moments equal the eager ones", () => {
    for (const steps of [1, 2, 3]) {
      const o = stepped(steps);
      const want = reference(start, steps);
      const saved = o.save();
      expect(copy(o.values)).toEqual(want.p);
      expect(saved.m).toEqual(want.m);
      expect(saved.v).toEqual(want.v);
      const lazy = o.saveLazily();
      for (const x of params) {
        const read = (f: Float32Array | (() => Float32Array)) => (typeof f === "function" ? f() : f);
        expect(read(lazy.m.get(x.name)!)).toEqual(want.m.get(x.name));
        expect(read(lazy.v.get(x.name)!)).toEqual(want.v.get(x.name));
      }
    }
  });

  it("undoes the last update exactly, once", () => {
    const o = stepped(3);
    expect(o.undo()).toBe(true);
    const want = reference(start, 2);
    expect(copy(o.values)).toEqual(want.p);
    expect(o.save().m).toEqual(want.m);
    expect(o.save().v).toEqual(want.v);
    expect(o.undo()).toBe(false);
    // and goes on from there as if step 3 had never run
    expect(o.apply(grads(3), { lr: 1e-3, step: 3, gradNorm: 2 })).toBeUndefined();
    expect(copy(o.values)).toEqual(reference(start, 3).p);
  });

  it("folds the last update into the moments when closed", () => {
    const o = stepped(2);
    o.close();
    expect(o.undo()).toBe(false);
    expect(o.save().m).toEqual(reference(start, 2).m);
    expect(o.save().v).toEqual(reference(start, 2).v);
  });

  it("does not apply an update that makes a tensor non-finite, and names it", () => {
    const o = stepped(2);
    expect(o.apply(grads(3), { lr: Infinity, step: 3, gradNorm: 2 })).toBe("a");
    const want = reference(start, 2);
    expect(copy(o.values)).toEqual(want.p);
    expect(o.save().m).toEqual(want.m);
    expect(o.save().v).toEqual(want.v);
  });
});

describe("fileUndoStore", () => {
  it("leaves no file behind, even before close()", () => {
    const dir = mkdtempSync(path.join(scratch, "run-"));
    const o = new OptimizerState(params, values(), spec, fileUndoStore(params, path.join(dir, "undo.bin")));
    o.apply(grads(1), { lr: 1e-3, step: 1, gradNorm: 2 });
    expect(readdirSync(dir)).toEqual([]);
    o.close();
    expect(o.undo()).toBe(false);
  });

  it("names the file when it cannot be made", () => {
    const blocker = path.join(scratch, "a-file");
    writeFileSync(blocker, "");
    const o = new OptimizerState(params, values(), spec, fileUndoStore(params, path.join(blocker, "undo.bin")));
    expect(() => o.apply(grads(1), { lr: 1e-3, step: 1, gradNorm: 2 })).toThrow(TrainingError);
    expect(() => o.apply(grads(1), { lr: 1e-3, step: 1, gradNorm: 2 })).toThrow(`${path.join(blocker, "undo.bin")}: cannot create`);
    expect(existsSync(path.join(blocker, "undo.bin"))).toBe(false);
  });

  it("stays in memory, with a note, where the file system has not the room (where this machine lets the test mount one)", (context) => {
    const big = [{ name: "w", shape: [4096, 4096], decay: true }];
    expect(undoStoreFor(big, path.join(scratch, "roomy", ".graphs")).note).toBeUndefined();
    const small = mkdtempSync(path.join(scratch, "small-"));
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]).status !== 0) return context.skip();
    try {
      const chosen = undoStoreFor(big, path.join(small, "out", ".graphs"));
      expect(chosen.note).toMatch(/: 1 MiB free, the state that undoes a diverged step needs 128 MiB: it stays in memory$/);
      expect(chosen.store).not.toBeUndefined();
    } finally {
      spawnSync("umount", ["-l", small]);
    }
  });

  it("is what a run uses for full fine-tuning's state (64 MiB and up), not for an adapter's", () => {
    expect(undoInFile([{ name: "w", shape: [4096, 4096], decay: true }])).toBe(true);
    expect(undoInFile([{ name: "w", shape: [4096, 4095], decay: true }])).toBe(false);
    expect(undoInFile(params)).toBe(false);
  });
});
