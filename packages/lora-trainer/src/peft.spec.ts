import { Graph, matmul } from "@neural/graph";
import { runGraph } from "@neural/graph/node";
import { openSafetensors } from "@neural/safetensors";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openCheckpoint } from "@neural/safetensors";
import { writeTinyModel } from "@neural/testkit";
import { mergeAdapter } from "./merge.js";
import { loadPeftAdapter, loraScale, mergeLoraWeight, savePeftAdapter, type LoraAdapter } from "./peft.js";

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}

const adapter = (): LoraAdapter => ({
  modules: new Map([
    ["model.layers.0.self_attn.q_proj", { a: random(2 * 6, 1), b: random(4 * 2, 2), in: 6, out: 4 }],
    ["model.layers.1.mlp.down_proj", { a: random(2 * 5, 3), b: random(6 * 2, 4), in: 5, out: 6 }],
  ]),
  rank: 2,
  alpha: 8,
  dropout: 0.05,
  rsLora: false,
  targetModules: ["q_proj", "down_proj"],
  baseModel: "org/base",
});

describe("PEFT adapters", () => {
  it("are written with PEFT's tensor names, shapes and adapter_config.json fields, and read back exactly", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "adapter-"));
    await savePeftAdapter(dir, adapter());
    const config = JSON.parse(await readFile(path.join(dir, "adapter_config.json"), "utf8"));
    expect(config).toMatchObject({
      peft_type: "LORA",
      task_type: "CAUSAL_LM",
      r: 2,
      lora_alpha: 8,
      lora_dropout: 0.05,
      target_modules: ["q_proj", "down_proj"],
      bias: "none",
      base_model_name_or_path: "org/base",
      use_rslora: false,
      fan_in_fan_out: false,
    });
    const file = await openSafetensors(path.join(dir, "adapter_model.safetensors"));
    expect(file.names.map((n) => [n, file.info(n).shape])).toEqual([
      ["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [2, 6]],
      ["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", [4, 2]],
      ["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", [2, 5]],
      ["base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", [6, 2]],
    ]);
    await file.close();
    expect(await loadPeftAdapter(dir)).toEqual(adapter());
  });

  it("merge to W + (alpha/r)·B·A, with B·A computed by ONNX Runtime", async () => {
    const a = adapter();
    const q = a.modules.get("model.layers.0.self_attn.q_proj")!;
    const w = random(4 * 6, 9);
    const g = new Graph();
    const B = g.input("B", "float32", [4, 2]);
    const A = g.input("A", "float32", [2, 6]);
    g.output("BA", matmul(B, A));
    const { BA } = await runGraph(g, { B: q.b, A: q.a });
    const merged = mergeLoraWeight(w, q, a.rank, loraScale(a));
    expect(loraScale(a)).toBe(4);
    for (let i = 0; i < w.length; i++) expect(merged[i]).toBeCloseTo(w[i]! + 4 * (BA as Float32Array)[i]!, 5);
    expect(loraScale({ ...a, rsLora: true })).toBeCloseTo(8 / Math.SQRT2, 12);
  });

  it("carry rows trained for added tokens as PEFT's trainable_token_indices, and merge them into a grown vocabulary", async () => {
    const base = await mkdtemp(path.join(tmpdir(), "base-"));
    const tiny = await writeTinyModel(base, {
      family: "llama",
      seed: 3,
      layers: 1,
      hiddenSize: 64,
      intermediateSize: 128,
      dtype: "F32",
      tieEmbeddings: false,
    });
    const rows = tiny.config.vocab_size;
    const added = [rows, rows + 1];
    const values = (seed: number) => random(2 * 64, seed);
    const withRows: LoraAdapter = {
      ...adapter(),
      modules: new Map([["model.layers.0.self_attn.q_proj", { a: random(2 * 64, 1), b: random(64 * 2, 2), in: 64, out: 64 }]]),
      tokenRows: new Map([
        ["model.embed_tokens.weight", { indices: added, values: values(5), width: 64 }],
        ["lm_head.weight", { indices: added, values: values(6), width: 64 }],
      ]),
    };
    const dir = await mkdtemp(path.join(tmpdir(), "adapter-"));
    await savePeftAdapter(dir, withRows);
    const config = JSON.parse(await readFile(path.join(dir, "adapter_config.json"), "utf8"));
    expect(config.trainable_token_indices).toEqual({ embed_tokens: added, lm_head: added });
    const file = await openSafetensors(path.join(dir, "adapter_model.safetensors"));
    expect(file.names.filter((n) => n.includes("token_adapter")).map((n) => [n, file.info(n).shape])).toEqual([
      ["base_model.model.model.embed_tokens.token_adapter.trainable_tokens_delta", [2, 64]],
      ["base_model.model.lm_head.token_adapter.trainable_tokens_delta", [2, 64]],
    ]);
    await file.close();
    expect(await loadPeftAdapter(dir)).toEqual(withRows);

    const out = await mkdtemp(path.join(tmpdir(), "merged-"));
    await mergeAdapter({ adapterDir: dir, baseModel: base, outputDir: out });
    expect(JSON.parse(await readFile(path.join(out, "config.json"), "utf8")).vocab_size).toBe(rows + 2);
    const [before, after] = [await openCheckpoint(base), await openCheckpoint(out)];
    try {
      for (const [name, seed] of [
        ["model.embed_tokens.weight", 5],
        ["lm_head.weight", 6],
      ] as const) {
        expect(after.info(name).shape).toEqual([rows + 2, 64]);
        const merged = await after.readFloat32(name);
        expect(merged.subarray(0, rows * 64)).toEqual(await before.readFloat32(name));
        expect(merged.subarray(rows * 64)).toEqual(values(seed));
      }
    } finally {
      await before.close();
      await after.close();
    }
  });

  it("say what is wrong with a bad adapter directory", async () => {
    await expect(loadPeftAdapter(await mkdtemp(path.join(tmpdir(), "none-")))).rejects.toThrow(/adapter_config\.json: not found/);
  });
});
