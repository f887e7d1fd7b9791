// HF -> GGUF against the real oracles: llama.cpp (node-llama-cpp 3.21.1, one child process per file) loads every file;
// its next-token distributions match a float64 forward pass of the HF weights; greedy continuations are equal; its
// tokenization equals @huggingface/tokenizers' on the same tokenizer.json.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { LlamaModelProcess, chatmlPrompt, CHATML_STOP } from "@neural/llama";
import { FAMILIES, MIXED_TEXTS, loadReferenceModel, writeTinyModel, type Family, type TinyModel } from "@neural/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertHfToGguf, openGguf, HfConfigError } from "./index.js";
import { compareWithReference } from "./oracle.test-helpers.js";

const root = await mkdtemp(join(tmpdir(), "gguf-convert-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const KL_LIMIT = 1e-4;
const PROMPT = chatmlPrompt([
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "MATCH (n:Person) RETURN n.name, 3.14 — café 🚀" },
]);

async function hfTokenizer(m: TinyModel): Promise<Tokenizer> {
  const tj = JSON.parse(await readFile(join(m.dir, "tokenizer.json"), "utf8"));
  const tc = JSON.parse(await readFile(join(m.dir, "tokenizer_config.json"), "utf8"));
  return new Tokenizer(tj, tc);
}

describe.each(FAMILIES)("%s", (family: Family) => {
  let model: TinyModel;
  beforeAll(async () => {
    // llama3 is written sharded, the others as one model.safetensors; weights are bf16 as in real checkpoints.
    model = await writeTinyModel(join(root, family), { family, seed: 11, ...(family === "llama3" ? { maxShardBytes: 400_000 } : {}) });
  });

  it("F32: loads in llama.cpp, distributions match the float64 forward, greedy equal, tokenization equals HF", async () => {
    const out = join(root, `${family}.f32.gguf`);
    const res = await convertHfToGguf({ modelDir: model.dir, output: out, outType: "F32" });
    expect(res.tensors.every((t) => t.type === "F32")).toBe(true);
    const ref = await loadReferenceModel(model.dir);
    const hf = await hfTokenizer(model);
    const lm = await LlamaModelProcess.load(out);
    try {
      // Tokenizer: llama.cpp (parse special tokens, no BOS) vs @huggingface/tokenizers (no post-processor specials).
      for (const text of [...MIXED_TEXTS, PROMPT]) {
        expect(await lm.tokenize(text), JSON.stringify(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids);
      }
      const tokens = await lm.tokenize(PROMPT, { addBos: true });
      expect(tokens.length).toBeGreaterThan(20);
      const report = await compareWithReference(out, ref, tokens, { model: lm, greedyTokens: 8 });
      expect(report.maxKl).toBeLessThan(KL_LIMIT);
      expect(report.greedyLlama).toEqual(report.greedyReference);
      // The serving path: ChatML prompt, greedy, stop strings.
      const gen = await lm.generate(PROMPT, { maxTokens: 6, stop: CHATML_STOP });
      expect(gen.tokens.length).toBeGreaterThan(0);
      expect(lm.info.vocabSize).toBe(model.textConfig.vocab_size);
    } finally {
      await lm.close();
    }
  });

  it("F16: loads, distributions match the float64 forward, greedy equal", async () => {
    const out = join(root, `${family}.f16.gguf`);
    const res = await convertHfToGguf({ modelDir: model.dir, output: out, outType: "F16" });
    const types = new Map(res.tensors.map((t) => [t.name, t.type]));
    expect(types.get("token_embd.weight")).toBe("F16");
    expect(types.get("output_norm.weight")).toBe("F32");
    const ref = await loadReferenceModel(model.dir);
    const lm = await LlamaModelProcess.load(out);
    try {
      const tokens = await lm.tokenize(PROMPT, { addBos: true });
      const report = await compareWithReference(out, ref, tokens, { model: lm, greedyTokens: 8 });
      expect(report.maxKl).toBeLessThan(KL_LIMIT);
      expect(report.greedyLlama).toEqual(report.greedyReference);
    } finally {
      await lm.close();
    }
  });
});

describe("metadata", () => {
  it("carries the tokenizer, special ids, ChatML control tokens, padding, chat template and general.*", async () => {
    const m = await writeTinyModel(join(root, "meta-qwen2"), { family: "qwen2", seed: 3 });
    const out = join(root, "meta.gguf");
    await convertHfToGguf({ modelDir: m.dir, output: out, outType: "F32", name: "tiny-qwen" });
    const r = await openGguf(out);
    try {
      const md = r.metadata;
      expect(md.get("general.architecture")).toEqual({ type: "STRING", value: "qwen2" });
      expect(md.get("general.name")).toEqual({ type: "STRING", value: "tiny-qwen" });
      expect(md.get("qwen2.attention.layer_norm_rms_epsilon")?.type).toBe("F32");
      expect(md.get("qwen2.block_count")).toEqual({ type: "U32", value: 2 });
      expect(md.get("tokenizer.ggml.model")).toEqual({ type: "STRING", value: "gpt2" });
      expect(md.get("tokenizer.ggml.pre")).toEqual({ type: "STRING", value: "qwen2" });
      const tokens = md.get("tokenizer.ggml.tokens")!.value as string[];
      const types = md.get("tokenizer.ggml.token_type")!.value as number[];
      expect(tokens.length).toBe(m.config.vocab_size);
      expect(tokens[tokens.length - 1]).toBe(`[PAD${m.config.vocab_size - 1}]`);
      expect(types[tokens.length - 1]).toBe(5);
      expect(types[m.tokenizer.ids.imStart]).toBe(3);
      expect(types[m.tokenizer.ids.imEnd]).toBe(3);
      expect(md.get("tokenizer.ggml.eos_token_id")).toEqual({ type: "U32", value: m.tokenizer.ids.imEnd });
      expect(md.get("tokenizer.ggml.eot_token_id")).toEqual({ type: "U32", value: m.tokenizer.ids.imEnd });
      expect(md.get("tokenizer.ggml.add_bos_token")).toEqual({ type: "BOOL", value: false });
      expect(String(md.get("tokenizer.chat_template")?.value)).toContain("<|im_start|>");
      expect(r.tensors.some((t) => t.name === "output.weight")).toBe(false); // tied embeddings
      expect(r.tensors.find((t) => t.name === "blk.0.attn_q.bias")?.type).toBe("F32");
    } finally {
      await r.close();
    }
  });

  it("refuses what it cannot convert, with typed errors naming the file", async () => {
    const m = await writeTinyModel(join(root, "bad-llama"), { family: "llama", seed: 5 });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(m.dir, "config.json"), JSON.stringify({ ...m.config, architectures: ["GPTNeoXForCausalLM"] }));
    await expect(convertHfToGguf({ modelDir: m.dir, output: join(root, "x.gguf") })).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof HfConfigError &&
        /GPTNeoX.*supported: .*Qwen3ForCausalLM.*Gemma3ForCausalLM/.test(e.message) &&
        e.file.endsWith("config.json") &&
        e.field === "architectures",
    );
    await writeFile(join(m.dir, "config.json"), JSON.stringify({ ...m.config, vocab_size: 100 }));
    await expect(convertHfToGguf({ modelDir: m.dir, output: join(root, "x.gguf") })).rejects.toThrow(
      /config\.json: vocab_size: vocab_size disagrees with model\.safetensors: model\.embed_tokens\.weight is \[\d+, 256\], the config implies \[100, 256\]/,
    );
    await writeFile(join(m.dir, "adapter_config.json"), "{}");
    await expect(convertHfToGguf({ modelDir: m.dir, output: join(root, "x.gguf") })).rejects.toThrow(/adapter/);
  });
});

describe("BF16", () => {
  // The weights are exact (the checkpoint is bf16), but ggml's CPU matmul rounds the activations to bf16 as well
  // (vec_dot_type of BF16 is BF16), so the bound is 1e-3 instead of F32/F16's 1e-4.
  it("loads and matches the float64 forward within bf16 activation rounding", async () => {
    const m = await writeTinyModel(join(root, "bf16-llama"), { family: "llama", seed: 13 });
    const out = join(root, "bf16.gguf");
    const res = await convertHfToGguf({ modelDir: m.dir, output: out, outType: "BF16" });
    expect(res.tensors.find((t) => t.name === "blk.0.attn_q.weight")?.type).toBe("BF16");
    const ref = await loadReferenceModel(m.dir);
    const lm = await LlamaModelProcess.load(out);
    try {
      const report = await compareWithReference(out, ref, await lm.tokenize(PROMPT, { addBos: true }), { model: lm, greedyTokens: 4 });
      expect(report.maxKl).toBeLessThan(1e-3);
      expect(report.greedyLlama).toEqual(report.greedyReference);
    } finally {
      await lm.close();
    }
  });
});

describe("the q/k permutation", () => {
  it("a file converted without it loads but is caught by the same distribution test", async () => {
    const m = await writeTinyModel(join(root, "noperm"), { family: "llama", seed: 11 });
    const out = join(root, "noperm.gguf");
    await convertHfToGguf({ modelDir: m.dir, output: out, outType: "F32", skipQkPermutation: true });
    const ref = await loadReferenceModel(m.dir);
    const lm = await LlamaModelProcess.load(out);
    try {
      const tokens = await lm.tokenize(PROMPT, { addBos: true });
      const report = await compareWithReference(out, ref, tokens, { model: lm, greedyTokens: 0 });
      expect(report.kls[0]).toBeLessThan(KL_LIMIT); // position 0: rotation is the identity
      expect(report.maxKl).toBeGreaterThan(100 * KL_LIMIT);
    } finally {
      await lm.close();
    }
  });
});
