import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "@neural/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import { FAMILIES, loadReferenceModel, referenceLogits, ropeInvFreq, writeTinyModel } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "testkit-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("tiny models", () => {
  it.each(FAMILIES)("%s: a complete HF directory, same seed -> same bytes", async (family) => {
    const a = await writeTinyModel(join(root, `${family}-a`), { family, seed: 9 });
    const b = await writeTinyModel(join(root, `${family}-b`), { family, seed: 9 });
    expect((await readdir(a.dir)).sort()).toEqual([
      "config.json",
      "generation_config.json",
      "model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect(Buffer.compare(await readFile(join(a.dir, "model.safetensors")), await readFile(join(b.dir, "model.safetensors")))).toBe(0);
    expect(a.textConfig.vocab_size).toBeGreaterThan(a.tokenizer.size);
    expect(a.textConfig.hidden_size % 256).toBe(0);
    expect(a.textConfig.intermediate_size % 256).toBe(0);
    const ck = await openCheckpoint(a.dir);
    expect(ck.info(a.tensors.find((t) => t.name.endsWith("model.embed_tokens.weight"))!.name).dtype).toBe("BF16");
    await ck.close();
  });

  it("sharded checkpoints come with model.safetensors.index.json", async () => {
    const m = await writeTinyModel(join(root, "sharded"), { family: "qwen2", seed: 1, maxShardBytes: 300_000 });
    const files = await readdir(m.dir);
    expect(files).toContain("model.safetensors.index.json");
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
  });
});

describe("float64 reference", () => {
  it("is causal: logits at a position do not depend on later tokens", async () => {
    const m = await writeTinyModel(join(root, "causal"), { family: "llama", seed: 2 });
    const ref = await loadReferenceModel(m.dir);
    const a = referenceLogits(ref, [1, 50, 60, 70]);
    const b = referenceLogits(ref, [1, 50, 99, 98]);
    expect([...a[1]!]).toEqual([...b[1]!]);
    expect([...a[2]!]).not.toEqual([...b[2]!]);
  });

  it("llama3 rope scaling divides low frequencies by the factor and keeps high ones", () => {
    const cfg = {
      rope_theta: 500000,
      rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    } as never;
    const scaled = ropeInvFreq(cfg, 64);
    const plain = ropeInvFreq({ rope_theta: 500000 } as never, 64);
    expect(scaled[0]).toBe(plain[0]); // wavelength 2π < 16: unchanged
    expect(scaled[31]! / plain[31]!).toBeCloseTo(1 / 8, 12); // long wavelength: divided by 8
  });
});
