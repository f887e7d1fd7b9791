// KV-cache decoding: per-token logits equal the full forward's, greedy generation equals the float64 reference's,
// rows of a batch are independent, and sampling is seeded.

import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import {
  FAMILIES,
  klDivergence,
  loadReferenceModel,
  referenceGreedy,
  softmax,
  writeTinyLoraAdapter,
  writeTinyModel,
} from "@neural/testkit";
import { openCheckpoint } from "@neural/safetensors";
import { createDecoder } from "./decoder.js";
import { sampleToken, seededRandom } from "./decode.js";
import { openModel } from "./load.js";
import { forwardLogits, scratch } from "./test-helpers.js";
import { graphWeights } from "./weights.js";

const root = scratch();
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(FAMILIES)("%s KV-cache decoder", (family) => {
  it("per-token logits equal the forward's and greedy generation equals the reference's", async () => {
    const tiny = await writeTinyModel(`${root}/${family}`, { family, seed: 21, weightStd: 0.15 });
    const model = await openModel(tiny.dir);
    const prompt = [1, 33, 71, 5, 120];
    const n = 12;
    try {
      const decoder = await createDecoder({
        config: model.config,
        weights: (g) => graphWeights(g, model.source),
        slots: 32,
        dir: `${root}/${family}-decode`,
      });
      const seen: Float32Array[] = [];
      const [tokens] = await decoder.generate([prompt], { maxNewTokens: n, onLogits: (_, pos, l) => (seen[pos] = l.slice()) });
      await decoder.release();
      if (process.env.NEURAL_REPORT) console.log(family, tokens);
      expect(tokens).toEqual(referenceGreedy(await loadReferenceModel(tiny.dir), prompt, n));
      const full = [...prompt, ...tokens!.slice(0, -1)];
      const [forward] = await forwardLogits(model.config, model.source, [{ ids: full }]);
      for (let i = 0; i < full.length; i++) expect(klDivergence(softmax(forward![i]!), softmax(seen[i]!))).toBeLessThan(1e-6);
    } finally {
      await model.close();
    }
  });
});

describe("decoder batching and sampling", () => {
  it("with LoRA weights as graph inputs (set between generations) its logits equal the LoRA forward's", async () => {
    const tiny = await writeTinyModel(`${root}/lora`, { family: "phi3", seed: 8, weightStd: 0.15 });
    const targets = ["qkv_proj", "o_proj", "gate_up_proj"];
    const adapter = await writeTinyLoraAdapter(`${root}/lora-adapter`, tiny, { r: 4, alpha: 8, targets });
    const model = await openModel(tiny.dir);
    const ckpt = await openCheckpoint(`${adapter.dir}/adapter_model.safetensors`);
    try {
      const name = (module: string, w: "A" | "B") => `base_model.model.${module}.lora_${w}.weight`;
      const lora = (make: (n: string, shape: number[]) => import("@neural/graph").Tensor) => ({
        targets,
        rank: 4,
        alpha: 8,
        weights: (module: string) => ({
          a: make(name(module, "A"), ckpt.info(name(module, "A")).shape),
          b: make(name(module, "B"), ckpt.info(name(module, "B")).shape),
        }),
      });
      const decoder = await createDecoder({
        config: model.config,
        weights: (g) => graphWeights(g, model.source),
        forward: (g) => ({ lora: lora((n, shape) => g.input(n, "float32", shape)) }),
        slots: 16,
        dir: `${root}/lora-decode`,
      });
      const prompt = [1, 30, 31, 32, 33, 34];
      await expect(decoder.generate([prompt], { maxNewTokens: 1 })).rejects.toThrow(/has no value \(setInputs\)/);
      const values: Record<string, Float32Array> = {};
      for (const n of ckpt.names) values[n] = await ckpt.readFloat32(n);
      decoder.setInputs(values);
      const seen: Float32Array[] = [];
      await decoder.generate([prompt], { maxNewTokens: 1, onLogits: (_, pos, l) => (seen[pos] = l.slice()) });
      await decoder.release();
      const [forward] = await forwardLogits(model.config, model.source, [{ ids: prompt }], {
        forward: (g) => ({ lora: lora((n, shape) => g.initializer(n, "float32", shape, () => values[n]!)) }),
      });
      for (let i = 0; i < prompt.length; i++) expect(klDivergence(softmax(forward![i]!), softmax(seen[i]!))).toBeLessThan(1e-6);
      // And the adapter matters: without it the logits differ.
      const [plain] = await forwardLogits(model.config, model.source, [{ ids: prompt }]);
      expect(klDivergence(softmax(plain![5]!), softmax(seen[5]!))).toBeGreaterThan(1e-4);
    } finally {
      await model.close();
      await ckpt.close();
    }
  });

  it("rows of different lengths decode independently, and the cache limit is checked", async () => {
    const tiny = await writeTinyModel(`${root}/batch`, { family: "qwen2", seed: 3, weightStd: 0.15 });
    const model = await openModel(tiny.dir);
    try {
      const make = (batch: number) =>
        createDecoder({
          config: model.config,
          weights: (g) => graphWeights(g, model.source),
          slots: 24,
          batch,
          dir: `${root}/batch-${batch}`,
        });
      const one = await make(1);
      const a = await one.generate([[1, 9, 8, 7]], { maxNewTokens: 6 });
      const b = await one.generate([[1, 50]], { maxNewTokens: 9 });
      await expect(one.generate([[1, 2, 3]], { maxNewTokens: 22 })).rejects.toThrow(/exceeds the cache of 24 positions/);
      await one.release();
      const two = await make(3);
      expect(
        await two.generate(
          [
            [1, 9, 8, 7],
            [1, 50],
          ],
          { maxNewTokens: 6 },
        ),
      ).toEqual([a[0], b[0]!.slice(0, 6)]);
      await two.release();
    } finally {
      await model.close();
    }
  });

  it("a stop token ends a row and is returned", async () => {
    const tiny = await writeTinyModel(`${root}/stop`, { family: "llama", seed: 4, weightStd: 0.15 });
    const model = await openModel(tiny.dir);
    try {
      const d = await createDecoder({
        config: model.config,
        weights: (g) => graphWeights(g, model.source),
        slots: 24,
        dir: `${root}/stop-d`,
      });
      const free = (await d.generate([[1, 5, 6]], { maxNewTokens: 8 }))[0]!;
      const stopAt = free[3]!;
      const stopped = (await d.generate([[1, 5, 6]], { maxNewTokens: 8, stopTokens: [stopAt] }))[0]!;
      expect(stopped).toEqual(free.slice(0, free.indexOf(stopAt) + 1));
      await d.release();
    } finally {
      await model.close();
    }
  });

  it("sampling: greedy at temperature 0, seeded, top-k 1 and a tiny top-p are greedy, and frequencies follow softmax(logits / T)", () => {
    const logits = Float32Array.from([1, 3, 2, 3, -1]);
    expect(sampleToken(logits, {}, Math.random)).toBe(1); // first of the tied maxima
    const draw = (seed: number, o: object) => {
      const r = seededRandom(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits, { temperature: 1, ...o }, r));
    };
    expect(draw(5, {})).toEqual(draw(5, {}));
    expect(new Set(draw(6, { topK: 1 }))).toEqual(new Set([1]));
    expect(new Set(draw(7, { topP: 0.01 }))).toEqual(new Set([1]));
    expect(new Set(draw(8, { topP: 0.7 }))).toEqual(new Set([1, 3])); // the two tied maxima hold 0.73 together
    const r = seededRandom(9);
    const counts = new Array(5).fill(0);
    const N = 20000;
    for (let i = 0; i < N; i++) counts[sampleToken(logits, { temperature: 2 }, r)]++;
    const p = softmax(Array.from(logits, (x) => x / 2));
    counts.forEach((c, i) => expect(Math.abs(c / N - p[i]!)).toBeLessThan(0.015));
  });
});
