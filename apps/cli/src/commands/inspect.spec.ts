import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertHfToGguf } from "@neural/gguf-writer";
import { writeTinyModel } from "@neural/testkit";
import { afterAll, expect, it } from "vitest";
import type { Io } from "../command.js";
import { runCli } from "../run.js";
import { commands } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "cli-inspect-"));
afterAll(() => rm(root, { recursive: true, force: true }));

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    isTTY: false,
    out: (t: string) => {
      io.stdout += t + "\n";
    },
    err: (t: string) => {
      io.stderr += t + "\n";
    },
    status: () => {},
  };
  return io;
}

it("prints metadata and the tensor table, as text and as JSON (long arrays summarised unless --full)", async () => {
  const m = await writeTinyModel(join(root, "m"), { family: "phi3", seed: 1 });
  const out = join(root, "m.gguf");
  await convertHfToGguf({ modelDir: m.dir, output: out, outType: "F32" });
  const text = capture();
  expect(await runCli(["inspect", out], commands, text)).toBe(0);
  expect(text.stdout).toMatch(/general\.architecture\s+string "phi3"/);
  expect(text.stdout).toMatch(/phi3\.attention\.head_count_kv\s+u32\s+2/);
  expect(text.stdout).toMatch(/blk\.1\.attn_qkv\.weight\s+F32\s+\[256, 512\]\s+524288/);
  expect(text.stdout).toMatch(/general\.file_type\s+u32\s+ALL_F32 \(0\)/);
  const json = capture();
  expect(await runCli(["inspect", out, "--json"], commands, json)).toBe(0);
  const info = JSON.parse(json.stdout);
  expect(info.metadata["tokenizer.ggml.tokens"].value.length).toBe(m.config.vocab_size);
  expect(text.stdout).toContain('architecture "phi3": what neural exports from Phi3ForCausalLM');
  expect(info.metadata["tokenizer.ggml.scores"].type).toBe("ARRAY<F32>");
  expect(info.metadata["general.file_type"]).toEqual({ type: "U32", value: 0, name: "ALL_F32" });
  const full = capture();
  await runCli(["inspect", out, "--json", "--full"], commands, full);
  expect(JSON.parse(full.stdout).metadata["tokenizer.ggml.scores"].value.length).toBe(m.config.vocab_size);
});

it("a truncated file is a clean error (exit 1), not a crash", async () => {
  const bad = join(root, "trunc.gguf");
  await writeFile(bad, Buffer.from("GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00\x00\x00\x00\x00\x00\x00", "latin1"));
  const io = capture();
  expect(await runCli(["inspect", bad], commands, io)).toBe(1);
  expect(io.stderr).toMatch(/tensor_count/);
});

it("--families lists every architecture neural trains with its llama.cpp architecture", async () => {
  const io = capture();
  expect(await runCli(["inspect", "--families"], commands, io)).toBe(0);
  expect(io.stdout).toMatch(/^Qwen3ForCausalLM\s+qwen3\s+qwen3\s/m);
  expect(io.stdout).toMatch(/^Gemma3ForConditionalGeneration\s+gemma3\s+gemma3\s/m);
  expect(io.stdout).toMatch(/^SmolLM3ForCausalLM\s+smollm3\s+smollm3\s/m);
  expect(io.stdout).toMatch(/^MistralForCausalLM\s+mistral\s+llama\s/m);
  const json = capture();
  await runCli(["inspect", "--families", "--json"], commands, json);
  expect(JSON.parse(json.stdout)).toContainEqual(
    expect.objectContaining({ architecture: "LlamaForCausalLM", family: "llama", llamaCpp: "llama" }),
  );
});

it("a Hugging Face model folder: its family, llama.cpp architecture, shapes and layer patterns; an unsupported one names the supported", async () => {
  const m = await writeTinyModel(join(root, "gemma"), { family: "gemma3-mm", seed: 1 });
  const io = capture();
  expect(await runCli(["inspect", m.dir], commands, io)).toBe(0);
  expect(io.stdout).toContain("Gemma3ForConditionalGeneration (its text model), family gemma3 → llama.cpp architecture gemma3");
  expect(io.stdout).toContain("sliding window: 32 tokens on layers 0-4");
  expect(io.stdout).toContain("(sliding layers 10000)");
  const json = capture();
  expect(await runCli(["inspect", m.dir, "--json"], commands, json)).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({
    llamaCppArchitecture: "gemma3",
    config: { family: "gemma3", headDim: 128, numKvHeads: 1 },
  });
  await writeFile(join(m.dir, "config.json"), JSON.stringify({ ...m.config, architectures: ["MambaForCausalLM"] }));
  const bad = capture();
  expect(await runCli(["inspect", m.dir], commands, bad)).toBe(1);
  expect(bad.stderr).toMatch(
    /config\.json: architectures: MambaForCausalLM is not supported \(supported: LlamaForCausalLM, .*Qwen3ForCausalLM.*\)/,
  );
});

it("names the file type of a quantized file (general.file_type) and the tensors' ggml types", async () => {
  const m = await writeTinyModel(join(root, "q"), { family: "llama", seed: 2 });
  const out = join(root, "q.gguf");
  await convertHfToGguf({ modelDir: m.dir, output: out, outType: "Q4_K_M" });
  const text = capture();
  expect(await runCli(["inspect", out], commands, text)).toBe(0);
  expect(text.stdout).toMatch(/general\.file_type\s+u32\s+MOSTLY_Q4_K_M \(15\)/);
  expect(text.stdout).toMatch(/\sQ4_K\s+\[/);
  expect(text.stdout).toMatch(/Q4_K: \d+ tensors/);
});
