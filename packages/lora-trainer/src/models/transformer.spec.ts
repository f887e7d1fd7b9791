// Our forward against the float64 reference forward of @neural/testkit (written from the transformers modeling code)
// for a tiny random model of each family, plus packing and LoRA.

import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import {
  FAMILIES,
  loadReferenceModel,
  referenceLogits,
  writeTinyModel,
  writeTinyLoraAdapter,
  softmax,
  klDivergence,
} from "@neural/testkit";
import { textTowerModuleName } from "@neural/hf-config";
import { openCheckpoint } from "@neural/safetensors";
import { openModel } from "./load.js";
import { forwardLogits, maxAbsDiff, scratch } from "./test-helpers.js";

const root = scratch();
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tokens = [1, 17, 42, 99, 5, 230, 7, 64, 12, 150, 33, 8];

describe.each(FAMILIES)("%s forward", (family) => {
  it("equals the float64 reference (float64 graph: 1e-9; float32 graph: KL < 1e-6)", async () => {
    const tiny = await writeTinyModel(`${root}/${family}`, { family, seed: 7 });
    const ref = referenceLogits(await loadReferenceModel(tiny.dir), tokens);
    const model = await openModel(tiny.dir);
    try {
      const [ours64] = await forwardLogits(model.config, model.source, [{ ids: tokens }], { dtype: "float64" });
      const scale = Math.max(...ref.map((r) => Math.max(...r.map(Math.abs))));
      for (let i = 0; i < tokens.length; i++) expect(maxAbsDiff(ours64![i]!, ref[i]!) / scale).toBeLessThan(1e-9);
      const [ours32] = await forwardLogits(model.config, model.source, [{ ids: tokens }]);
      for (let i = 0; i < tokens.length; i++) expect(klDivergence(softmax(ref[i]!), softmax(ours32![i]!))).toBeLessThan(1e-6);
    } finally {
      await model.close();
    }
  });
});

describe.each(FAMILIES)("%s packing and LoRA", (family) => {
  it("logits of two examples packed in one row equal their logits computed separately", async () => {
    const tiny = await writeTinyModel(`${root}/pack-${family}`, { family, seed: 11 });
    const model = await openModel(tiny.dir);
    try {
      const a = [1, 20, 30, 40, 50];
      const b = [1, 60, 70, 80, 90, 100, 110];
      const packed = {
        ids: [...a, ...b, 0, 0],
        positions: [...a.keys(), ...b.keys(), 0, 1],
        segments: [...a.map(() => 1), ...b.map(() => 2), 0, 0],
      };
      const [[p], [sa, sb]] = [
        await forwardLogits(model.config, model.source, [packed]),
        await forwardLogits(model.config, model.source, [{ ids: a }, { ids: b }]),
      ];
      for (let i = 0; i < a.length; i++) expect(maxAbsDiff(p![i]!, sa![i]!)).toBeLessThan(1e-5);
      for (let i = 0; i < b.length; i++) expect(maxAbsDiff(p![a.length + i]!, sb![i]!)).toBeLessThan(1e-5);
    } finally {
      await model.close();
    }
  });

  it("LoRA equals the reference with the adapter merged into the weights (float64)", async () => {
    const tiny = await writeTinyModel(`${root}/lora-${family}`, { family, seed: 5 });
    const targets =
      family === "phi3"
        ? ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
        : ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    const adapter = await writeTinyLoraAdapter(`${root}/lora-${family}-adapter`, tiny, {
      r: 4,
      alpha: 8,
      targets,
      useRslora: family === "qwen2",
    });
    const ref = referenceLogits(await loadReferenceModel(tiny.dir, { adapterDir: adapter.dir }), tokens);
    const model = await openModel(tiny.dir);
    const ckpt = await openCheckpoint(`${adapter.dir}/adapter_model.safetensors`);
    try {
      const [ours] = await forwardLogits(model.config, model.source, [{ ids: tokens }], {
        dtype: "float64",
        forward: (g) => ({
          lora: {
            targets,
            rank: 4,
            alpha: 8,
            rsLora: family === "qwen2",
            weights: (module) => {
              const load = (which: "A" | "B") => {
                const name = `base_model.model.${model.config.textTower ? textTowerModuleName(module) : module}.lora_${which}.weight`;
                return g.initializer(name, "float64", ckpt.info(name).shape, async () => Float64Array.from(await ckpt.readFloat32(name)));
              };
              return { a: load("A"), b: load("B") };
            },
          },
        }),
      });
      const scale = Math.max(...ref.map((r) => Math.max(...r.map(Math.abs))));
      for (let i = 0; i < tokens.length; i++) expect(maxAbsDiff(ours![i]!, ref[i]!) / scale).toBeLessThan(1e-9);
    } finally {
      await model.close();
      await ckpt.close();
    }
  });
});
