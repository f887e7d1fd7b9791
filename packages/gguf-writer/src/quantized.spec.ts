// Quantized exports against ggml itself: our direct HF -> Q8_0/Q4_K_M/Q5_K_M conversion must equal, tensor for
// tensor (same names, same types, same bytes), llama.cpp's llama_model_quantize applied to our F32 file; and every
// quantized file loads in llama.cpp with distributions close to a float64 forward of its own dequantized weights.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaModelProcess, chatmlPrompt, ggmlModelQuantize } from "@neural/llama";
import { FAMILIES, writeTinyModel, type Family, type TinyModel } from "@neural/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FILE_TYPE_OF, convertHfToGguf, openGguf, type OutType } from "./index.js";
import { compareWithReference, referenceFromGguf } from "./oracle.test-helpers.js";

const root = await mkdtemp(join(tmpdir(), "gguf-quant-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const MIXES: OutType[] = ["Q8_0", "Q4_K_M", "Q5_K_M"];
const PROMPT = chatmlPrompt([{ role: "user", content: "Quantized hello, world: 1 2 3" }]);

async function tensorsOf(path: string): Promise<Map<string, { type: string; ne: number[]; bytes: Uint8Array }>> {
  const r = await openGguf(path);
  try {
    const out = new Map<string, { type: string; ne: number[]; bytes: Uint8Array }>();
    for (const t of r.tensors) out.set(t.name, { type: t.type, ne: t.ne, bytes: await r.readTensorBytes(t.name) });
    return out;
  } finally {
    await r.close();
  }
}

// gemma3-mm's tensors quantize exactly as gemma3's (the same text model under other names): convert.spec covers it.
describe.each(FAMILIES.filter((f) => f !== "gemma3-mm"))("%s", (family: Family) => {
  let model: TinyModel;
  let f32: string;
  beforeAll(async () => {
    // 3 layers: llama-quantize's use_more_bits gives some layers Q6_K and others Q4_K/Q5_K.
    model = await writeTinyModel(join(root, family), { family, seed: 21, layers: 3 });
    f32 = join(root, `${family}.f32.gguf`);
    await convertHfToGguf({ modelDir: model.dir, output: f32, outType: "F32" });
  });

  for (const mix of MIXES) {
    it(`${mix}: tensor for tensor byte-identical to llama_model_quantize of our F32 file, and loads in llama.cpp`, async () => {
      const ours = join(root, `${family}.${mix}.gguf`);
      const theirs = join(root, `${family}.${mix}.ggml.gguf`);
      await convertHfToGguf({ modelDir: model.dir, output: ours, outType: mix });
      ggmlModelQuantize(f32, theirs, FILE_TYPE_OF[mix], 1);
      const a = await tensorsOf(ours);
      const b = await tensorsOf(theirs);
      expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
      const types = new Set<string>();
      for (const [name, t] of a) {
        const u = b.get(name)!;
        expect(t.type, name).toBe(u.type);
        expect(t.ne, name).toEqual(u.ne);
        expect(Buffer.compare(Buffer.from(t.bytes), Buffer.from(u.bytes)), `${name} bytes`).toBe(0);
        types.add(t.type);
      }
      if (mix !== "Q8_0") expect(types.has("Q6_K")).toBe(true);
      // The quantized file runs in llama.cpp and computes what its own (dequantized) weights say.
      const ref = await referenceFromGguf(ours, model.config);
      const lm = await LlamaModelProcess.load(ours);
      try {
        const tokens = await lm.tokenize(PROMPT, { addBos: true });
        const report = await compareWithReference(ours, ref, tokens, { model: lm, greedyTokens: 0 });
        // llama.cpp also quantizes activations (to Q8_K / Q8_0) inside quantized matmuls, so the bound is looser than
        // F32's 1e-4 (measured: up to 9e-3 for the tied, biased qwen2); a wrong layout (e.g. no q/k permutation) gives ~1.
        expect(report.maxKl).toBeLessThan(2e-2);
      } finally {
        await lm.close();
      }
    });
  }
});
