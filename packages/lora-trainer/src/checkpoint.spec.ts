import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findResume, listCheckpoints, loadCheckpoint, pruneCheckpoints, saveCheckpoint } from "./checkpoint.js";
import type { LoopState } from "./loop.js";
import { learningRateAt } from "./schedule.js";

const state = (step: number): LoopState => ({
  step,
  epoch: 1,
  batchInEpoch: 3,
  tokensSeen: 1234,
  bestEvalLoss: 0.5,
  bestStep: 2,
  evalsWithoutImprovement: 0,
  configHash: "abc",
  elapsedSeconds: 1.5,
});
const tensors = () => ({
  params: new Map([["layers.0.q.lora_a", { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, Math.PI) }]]),
  m: new Map([["layers.0.q.lora_a", Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 1e-30)]]),
  v: new Map([["layers.0.q.lora_a", Float32Array.of(1e-8, 2, 3, 4, 5, 6)]]),
});

describe("checkpoints", () => {
  it("round-trip tensors bit for bit and the loop state", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "ckpt-"));
    const dir = await saveCheckpoint(out, state(7), tensors());
    const loaded = await loadCheckpoint(dir);
    expect(loaded.state).toEqual(state(7));
    expect(loaded.tensors).toEqual(tensors());
  });

  it("ignore and clean up interrupted writes and removals, keep the last K and the best, and find the latest for --resume auto", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "ckpt-"));
    for (const step of [1, 2, 3, 4, 5]) await saveCheckpoint(out, state(step), tensors());
    const torn = path.join(out, "checkpoints", "step-00000006.tmp-123-456");
    await mkdir(torn);
    await writeFile(path.join(torn, "trainable.safetensors"), "half a file");
    // a removal killed halfway: checkpoints leave the listing by a rename before their files go
    const halfRemoved = path.join(out, "checkpoints", "step-00000000.tmp-removing-123-456");
    await mkdir(halfRemoved);
    await writeFile(path.join(halfRemoved, "trainable.safetensors"), "state.json already gone");
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([1, 2, 3, 4, 5]);
    expect(await findResume(out, "auto")).toBe(path.join(out, "checkpoints", "step-00000005"));
    await pruneCheckpoints(out, 2, 2);
    expect(await readdir(path.join(out, "checkpoints"))).toEqual(["step-00000002", "step-00000004", "step-00000005"]);
    expect(await findResume(await mkdtemp(path.join(tmpdir(), "empty-")), "auto")).toBeUndefined();
    await expect(loadCheckpoint(out)).rejects.toThrow(/not a checkpoint/);
  });
});

describe("learning-rate schedule", () => {
  it("warms up linearly, then decays by cosine or linearly to zero, or stays constant", () => {
    const o = { learningRate: 1, warmupSteps: 4, totalSteps: 14 };
    expect([0, 1, 2, 3].map((s) => learningRateAt(s, { ...o, kind: "cosine" }))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(learningRateAt(4, { ...o, kind: "cosine" })).toBe(1);
    expect(learningRateAt(9, { ...o, kind: "cosine" })).toBeCloseTo(0.5, 12);
    expect(learningRateAt(14, { ...o, kind: "cosine" })).toBeCloseTo(0, 12);
    expect(learningRateAt(9, { ...o, kind: "linear" })).toBeCloseTo(0.5, 12);
    expect(learningRateAt(13, { ...o, kind: "constant" })).toBe(1);
  });
});
