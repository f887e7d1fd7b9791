// A PEFT LoRA adapter written as a GGUF adapter: llama.cpp applies it at load time to the base GGUF, and the result
// matches the float64 forward pass of the base weights with the adapter merged (W + alpha/r · B·A).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { loadReferenceModel, writeTinyLoraAdapter, writeTinyModel, type Family } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { convertHfToGguf, convertLoraToGguf, openGguf, GgufConvertError } from "./index.js";
import { compareWithReference } from "./oracle.test-helpers.js";

const root = await mkdtemp(join(tmpdir(), "gguf-lora-"));
afterAll(() => rm(root, { recursive: true, force: true }));
const PROMPT = chatmlPrompt([{ role: "user", content: "adapt me, please" }]);

describe.each<Family>(["llama", "qwen2", "phi3"])("%s adapter", (family) => {
  it("loads as a llama.cpp LoRA and matches the merged float64 forward", async () => {
    const base = await writeTinyModel(join(root, family), { family, seed: 31 });
    const adapter = await writeTinyLoraAdapter(join(root, `${family}-lora`), base, {
      r: 8,
      alpha: 16,
      seed: 5,
      useRslora: family === "qwen2",
    });
    const baseGguf = join(root, `${family}.gguf`);
    const loraGguf = join(root, `${family}.lora.gguf`);
    await convertHfToGguf({ modelDir: base.dir, output: baseGguf, outType: "F32" });
    const res = await convertLoraToGguf({ adapterDir: adapter.dir, baseModelDir: base.dir, output: loraGguf });
    expect(res.tensors.length).toBeGreaterThan(0);
    const r = await openGguf(loraGguf);
    expect(r.get("general.type")).toBe("adapter");
    expect(r.get("adapter.type")).toBe("lora");
    expect(r.metadata.get("adapter.lora.alpha")?.type).toBe("F32");
    await r.close();
    const merged = await loadReferenceModel(base.dir, { adapterDir: adapter.dir });
    const plain = await loadReferenceModel(base.dir);
    const lm = await LlamaModelProcess.load(baseGguf, { lora: [{ path: loraGguf }] });
    try {
      const tokens = await lm.tokenize(PROMPT, { addBos: true });
      const withLora = await compareWithReference(baseGguf, merged, tokens, { model: lm, greedyTokens: 6 });
      expect(withLora.maxKl).toBeLessThan(1e-4);
      expect(withLora.greedyLlama).toEqual(withLora.greedyReference);
      // The adapter really changes the model: the base reference is far off.
      const withoutLora = await compareWithReference(baseGguf, plain, tokens, { model: lm, greedyTokens: 0 });
      expect(withoutLora.maxKl).toBeGreaterThan(1e-2);
    } finally {
      await lm.close();
    }
  });
});

it("rejects adapters llama.cpp cannot apply", async () => {
  const base = await writeTinyModel(join(root, "rej"), { family: "llama", seed: 1 });
  const a = await writeTinyLoraAdapter(join(root, "rej-lora"), base, {});
  const { writeFile } = await import("node:fs/promises");
  await writeFile(join(a.dir, "adapter_config.json"), JSON.stringify({ ...a.config, use_dora: true }));
  await expect(convertLoraToGguf({ adapterDir: a.dir, baseModelDir: base.dir, output: join(root, "x.gguf") })).rejects.toThrow(
    GgufConvertError,
  );
});
