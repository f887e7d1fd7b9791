// The runner's failure modes: a file that is not a GGUF never reaches llama.cpp; a GGUF that llama.cpp refuses is a
// LlamaLoadError; a GGUF that makes llama.cpp abort() kills only the child, which is reported as LlamaChildError.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeMiniGguf, type MiniGgufValue } from "./ggml-gguf.js";
import { LlamaChildError, LlamaLoadError, LlamaModelProcess, NotGgufError, chatmlPrompt } from "./index.js";

const dir = await mkdtemp(join(tmpdir(), "llama-runner-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A minimal llama-architecture GGUF (1 layer, hidden 32, byte-level SPM vocab of 259 tokens), F32, zero weights. */
function tinyLlama(drop: { key?: string; tensor?: string } = {}): Uint8Array {
  const H = 32;
  const FF = 64;
  const tokens = ["<unk>", "<s>", "</s>", ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)];
  const V = tokens.length;
  const kv: Record<string, MiniGgufValue> = {
    "general.architecture": { type: "str", value: "llama" },
    "llama.context_length": { type: "u32", value: 256 },
    "llama.embedding_length": { type: "u32", value: H },
    "llama.block_count": { type: "u32", value: 1 },
    "llama.feed_forward_length": { type: "u32", value: FF },
    "llama.attention.head_count": { type: "u32", value: 4 },
    "llama.attention.head_count_kv": { type: "u32", value: 4 },
    "llama.attention.layer_norm_rms_epsilon": { type: "f32", value: 1e-5 },
    "llama.rope.dimension_count": { type: "u32", value: H / 4 },
    "tokenizer.ggml.model": { type: "str", value: "llama" },
    "tokenizer.ggml.tokens": { type: "str[]", value: tokens },
    "tokenizer.ggml.scores": { type: "f32[]", value: tokens.map(() => 0) },
    "tokenizer.ggml.token_type": { type: "i32[]", value: tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : 6)) },
  };
  if (drop.key) delete kv[drop.key];
  const f32 = (ne: number[]) => ({ shape: ne, type: 0, data: new Uint8Array(ne.reduce((a, b) => a * b, 1) * 4) });
  const tensors = [
    { name: "token_embd.weight", ...f32([H, V]) },
    { name: "output_norm.weight", ...f32([H]) },
    { name: "output.weight", ...f32([H, V]) },
    { name: "blk.0.attn_norm.weight", ...f32([H]) },
    { name: "blk.0.attn_q.weight", ...f32([H, H]) },
    { name: "blk.0.attn_k.weight", ...f32([H, H]) },
    { name: "blk.0.attn_v.weight", ...f32([H, H]) },
    { name: "blk.0.attn_output.weight", ...f32([H, H]) },
    { name: "blk.0.ffn_norm.weight", ...f32([H]) },
    { name: "blk.0.ffn_gate.weight", ...f32([H, FF]) },
    { name: "blk.0.ffn_up.weight", ...f32([H, FF]) },
    { name: "blk.0.ffn_down.weight", ...f32([FF, H]) },
  ].filter((t) => t.name !== drop.tensor);
  return writeMiniGguf(kv, tensors);
}

describe("LlamaModelProcess", () => {
  it("loads a valid file in a child, tokenizes, evaluates and generates", async () => {
    const path = join(dir, "ok.gguf");
    await writeFile(path, tinyLlama());
    const m = await LlamaModelProcess.load(path);
    try {
      expect(m.info.vocabSize).toBe(259);
      expect(m.info.bos).toBe(1);
      expect(m.info.eog).toContain(2); // </s>
      const tokens = await m.tokenize("hi", { addBos: true });
      expect(tokens[0]).toBe(1);
      const d = await m.distributions(tokens);
      expect(d.probabilities).toHaveLength(tokens.length);
      const sum = d.probabilities[0]!.reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
      // zero weights: a uniform distribution
      expect(d.probabilities[0]![100]).toBeCloseTo(1 / 259, 6);
      const g = await m.generate(chatmlPrompt([{ role: "user", content: "x" }]), { maxTokens: 3 });
      expect(g.tokens.length).toBeGreaterThan(0);
    } finally {
      await m.close();
    }
  });

  it("a file that is not a GGUF never reaches llama.cpp", async () => {
    const path = join(dir, "not.gguf");
    await writeFile(path, "PK\x03\x04 zip, not gguf");
    await expect(LlamaModelProcess.load(path)).rejects.toBeInstanceOf(NotGgufError);
    await expect(LlamaModelProcess.load(join(dir, "missing.gguf"))).rejects.toBeInstanceOf(NotGgufError);
  });

  it("a file llama.cpp refuses is a LlamaLoadError with its message", async () => {
    const path = join(dir, "missing-tensor.gguf");
    await writeFile(path, tinyLlama({ tensor: "blk.0.ffn_up.weight" }));
    await expect(LlamaModelProcess.load(path)).rejects.toSatisfy(
      (e: unknown) => e instanceof LlamaLoadError && /blk\.0\.ffn_up\.weight/.test(e.message),
    );
  });

  it("a file that makes llama.cpp abort() kills only the child: LlamaChildError", async () => {
    const path = join(dir, "abort.gguf");
    await writeFile(path, tinyLlama({ key: "llama.attention.head_count" }));
    await expect(LlamaModelProcess.load(path)).rejects.toSatisfy((e: unknown) => e instanceof LlamaChildError && e.signal === "SIGABRT");
  });
});
