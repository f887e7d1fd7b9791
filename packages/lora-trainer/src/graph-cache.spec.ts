// The graph cache: a second runner with the same key builds nothing and computes the same step; another key (a
// setting, the weights' files, the code) builds again; runners racing on an empty entry both work and leave one
// whole entry; a crashed writer's leftovers are never taken for an entry; a graph added to an entry later is found.
import type { TypedArray } from "@neural/graph";
import { mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { cachedStore, graphCacheKey, modelFilesFingerprint, treeFingerprint } from "./graph-cache.js";
import { GraphRunner, type GraphKey } from "./sessions.js";
import { packedBatch, randomModel, tinyConfig, uniform } from "./test-fixtures.js";
import { buildEvalGraph, buildStepGraph, stepNames, type LoraSpec } from "./train-step.js";

const config = tinyConfig("Qwen2ForCausalLM");
const { source } = randomModel(config, 3);
const SEQ = 6;
const stepKey: GraphKey = { kind: "step", batch: 2, seq: SEQ };
const evalKey: GraphKey = { kind: "eval", batch: 2, seq: SEQ };
const loraOf = (rank: number): LoraSpec => ({ rank, alpha: 8, rsLora: false, targets: ["q_proj", "v_proj"], dropout: 0 });

async function runner(root: string, rank: number) {
  const lora = loraOf(rank);
  const store = cachedStore(root, graphCacheKey({ model: config, lora }), mkdtempSync(path.join(tmpdir(), "scratch-")));
  const r = await GraphRunner.open({
    ort,
    store,
    session: { executionProviders: ["cpu"], intraOpNumThreads: 1 },
    precision: "float32",
    build: (key) => {
      const spec = { config, source, batch: key.batch, seq: key.seq, lora };
      return key.kind === "eval" ? buildEvalGraph(spec) : buildStepGraph({ ...spec, kind: "step" }).graph;
    },
  });
  return { runner: r, store, params: buildStepGraph({ config, source, batch: 2, seq: SEQ, lora, kind: "step" }).params };
}

function feeds(params: { name: string; shape: number[] }[]): Record<string, TypedArray> {
  const batch = packedBatch(config.vocabSize, SEQ, 5);
  const r = uniform(9);
  const out: Record<string, TypedArray> = {
    [stepNames.inputIds]: batch.inputIds,
    [stepNames.positionIds]: batch.positionIds,
    [stepNames.segmentIds]: batch.segmentIds,
    [stepNames.targets]: batch.targets,
    [stepNames.invCount]: Float32Array.of(1 / batch.count),
  };
  for (const p of params) out[p.name] = Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => r() * 0.4);
  return out;
}

const entries = (root: string) => readdirSync(root).filter((n) => /^[0-9a-f]{32}$/.test(n));

describe("graph cache", () => {
  it("a second runner with the same key builds nothing and gives the same step; another setting builds again", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "graph-cache-"));
    const first = await runner(root, 4);
    const a = await first.runner.run(stepKey, feeds(first.params));
    expect(first.runner.built).toBe(1);
    await first.runner.release();

    const second = await runner(root, 4);
    const b = await second.runner.run(stepKey, feeds(second.params));
    expect(second.runner.built).toBe(0);
    expect(second.store.hits).toBe(1);
    expect(b[stepNames.loss]).toEqual(a[stepNames.loss]);
    expect(b[stepNames.gradNorm]).toEqual(a[stepNames.gradNorm]);
    await second.runner.release();

    const other = await runner(root, 2);
    await other.runner.run(stepKey, feeds(other.params));
    expect(other.runner.built).toBe(1);
    await other.runner.release();
    expect(entries(root)).toHaveLength(2);
  });

  it("a graph added to an existing entry (new shape or kind) is written into it and found by the next run", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "graph-cache-"));
    const first = await runner(root, 4);
    await first.runner.prepare(stepKey);
    await first.runner.prepare(evalKey);
    expect(first.runner.built).toBe(2);
    await first.runner.release();
    await first.store.release();
    const [entry] = entries(root);
    expect(
      readdirSync(path.join(root, entry!))
        .filter((f) => f.endsWith(".onnx"))
        .sort(),
    ).toEqual(["eval-2x6-float32.onnx", "step-2x6-float32.onnx"]);
    const next = await runner(root, 4);
    await next.runner.prepare(evalKey);
    await next.runner.prepare(stepKey);
    expect(next.runner.built).toBe(0);
    await next.runner.release();
  });

  it("runners racing on an empty entry both train, and leave one whole entry and no staging directory", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "graph-cache-"));
    const racers = await Promise.all([runner(root, 4), runner(root, 4), runner(root, 4)]);
    const outs = await Promise.all(racers.map((r) => r.runner.run(stepKey, feeds(r.params))));
    for (const out of outs) expect(out[stepNames.loss]).toEqual(outs[0]![stepNames.loss]);
    for (const r of racers) {
      await r.runner.release();
      await r.store.release();
    }
    expect(entries(root)).toHaveLength(1);
    expect(readdirSync(root).filter((n) => n.includes("staging"))).toEqual([]);
    const after = await runner(root, 4);
    const out = await after.runner.run(stepKey, feeds(after.params));
    expect(after.runner.built).toBe(0);
    expect(out[stepNames.loss]).toEqual(outs[0]![stepNames.loss]);
    await after.runner.release();
  });

  it("a crashed writer's staging directory or a half-written entry without its placement is not an entry", async () => {
    const root = mkdtempSync(path.join(tmpdir(), "graph-cache-"));
    const key = graphCacheKey({ model: config, lora: loraOf(4) });
    await mkdir(path.join(root, `${key}.staging-1-dead`), { recursive: true });
    writeFileSync(path.join(root, `${key}.staging-1-dead`, "weights.bin"), "torn");
    const r = await runner(root, 4);
    await r.runner.run(stepKey, feeds(r.params));
    expect(r.runner.built).toBe(1);
    await r.runner.release();
    const again = await runner(root, 4);
    await again.runner.prepare(stepKey);
    expect(again.runner.built).toBe(0);
    await again.runner.release();
  });

  it("keys change with the model's files, the settings and the code", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "model-"));
    writeFileSync(path.join(dir, "config.json"), "{}");
    writeFileSync(path.join(dir, "model.safetensors"), "weights");
    const before = modelFilesFingerprint(dir);
    utimesSync(path.join(dir, "model.safetensors"), new Date(), new Date(Date.now() + 5000));
    expect(modelFilesFingerprint(dir)).not.toBe(before);
    writeFileSync(path.join(dir, "model.safetensors"), "weights, changed");
    expect(modelFilesFingerprint(dir)).not.toBe(before);

    expect(graphCacheKey({ lora: loraOf(4), recompute: true })).not.toBe(graphCacheKey({ lora: loraOf(4), recompute: false }));
    expect(graphCacheKey({ lora: loraOf(4) })).toBe(graphCacheKey({ lora: loraOf(4) }));

    const code = mkdtempSync(path.join(tmpdir(), "code-"));
    writeFileSync(path.join(code, "a.ts"), "export const a = 1;");
    writeFileSync(path.join(code, "a.spec.ts"), "test");
    const hash = treeFingerprint([code]);
    writeFileSync(path.join(code, "a.spec.ts"), "another test");
    expect(treeFingerprint([code])).toBe(hash); // tests do not shape graphs
    writeFileSync(path.join(code, "a.ts"), "export const a = 2;");
    expect(treeFingerprint([code])).not.toBe(hash);
  });
});
