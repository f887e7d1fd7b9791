// A diverging run loses nothing and exports nothing broken. Before the guard checked updates before they landed,
// `--learning_rate 1e30 --warmup_steps 0` stopped at step 2 "keeping the weights before this step", but those were
// step 1's ±1e30 weights, checkpointed and saved; `neural export` then wrote a GGUF from them with exit 0.
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openGguf } from "@neural/gguf-writer";
import { LlamaModelProcess } from "@neural/llama";
import { openSafetensors } from "@neural/safetensors";
import { writeTinyLoraAdapter, writeTinyModel, type TinyModel } from "@neural/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { neural } from "../testing.js";

const dir = mkdtempSync(path.join(tmpdir(), "neural-diverged-"));
let tiny: TinyModel;
let dataset: string;

beforeAll(async () => {
  tiny = await writeTinyModel(path.join(dir, "model"), { family: "qwen2", seed: 2, dtype: "F32", hiddenSize: 64, intermediateSize: 128 });
  dataset = path.join(dir, "data.jsonl");
  writeFileSync(
    dataset,
    Array.from({ length: 16 }, (_, i) => JSON.stringify({ instruction: `Say ${i}`, output: `Answer ${i}` })).join("\n") + "\n",
  );
}, 60_000);

describe("a diverging run", () => {
  it("--learning_rate 1e30 --warmup_steps 0: the update is undone, the adapter saved is finite, and it exports", async () => {
    const out = path.join(dir, "out");
    const run = await neural(
      "train",
      "--base_model",
      tiny.dir,
      "--dataset",
      dataset,
      "--output_dir",
      out,
      "--learning_rate",
      "1e30",
      "--warmup_steps",
      "0",
      "--max_steps",
      "20",
      "--save_steps",
      "1",
      "--max_length",
      "64",
      "--batch_size",
      "2",
      "--validation_split",
      "0",
      "--device",
      "cpu",
      "--threads",
      "1",
    );
    expect(run.stderr).toMatch(
      /warning: step 2: loss .*: the run diverged; stopping with the weights of step 0 \(step 1's update undone\)/,
    );
    expect(run.code).toBe(1);
    const adapter = await openSafetensors(path.join(out, "adapter_model.safetensors"));
    for (const name of adapter.names)
      expect(
        (await adapter.readFloat32(name)).every((v) => Math.abs(v) < 10),
        name,
      ).toBe(true);
    await adapter.close();
    const exported = await neural(
      "export",
      "--model_dir",
      out,
      "--base_model",
      tiny.dir,
      "--output",
      path.join(dir, "out.gguf"),
      "--quantization",
      "F32",
      "--no_modelfile",
    );
    expect(exported.code, exported.stderr).toBe(0);
  }, 300_000);
});

/** A copy of the tiny model with `value` at index 200 of model.layers.1.mlp.down_proj.weight. */
async function poisonedCopy(name: string, value: number): Promise<string> {
  const copy = path.join(dir, name);
  cpSync(tiny.dir, copy, { recursive: true });
  const file = path.join(copy, "model.safetensors");
  const reader = await openSafetensors(file);
  const { byteOffset } = reader.info("model.layers.1.mlp.down_proj.weight");
  await reader.close();
  const fd = openSync(file, "r+");
  writeSync(fd, new Uint8Array(Float32Array.of(value).buffer), 0, 4, byteOffset + 4 * 200);
  closeSync(fd);
  return copy;
}

/** stderr without progress lines. */
const problems = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("export:"));

describe("neural export refuses non-finite weights", () => {
  it("a NaN in one tensor is one line naming its file and tensor, exit 1, and no file is left (nor a dead export's)", async () => {
    const broken = await poisonedCopy("broken", Number.NaN);
    // a temporary file of an export that died is cleared by the next one
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    mkdirSync(path.join(dir, "gguf"));
    writeFileSync(path.join(dir, "gguf", `.broken-F32.gguf.${dead}.abc123.tmp`), "x".repeat(4096));
    for (const type of ["F32", "Q8_0"]) {
      const output = path.join(dir, "gguf", `broken-${type}.gguf`);
      const refused = await neural("export", "--model_dir", broken, "--output", output, "--quantization", type);
      expect(refused.code).toBe(1);
      expect(problems(refused.stderr)).toEqual([
        `neural export: ${path.join(broken, "model.safetensors")} (model.layers.1.mlp.down_proj.weight): value NaN at index 200 is not finite (GGUF tensor blk.1.ffn_down.weight); nothing written (--allow_non_finite writes it anyway)`,
      ]);
      expect(readdirSync(path.dirname(output))).toEqual([]);
    }
  }, 120_000);

  // What a diverged step once left: 1e30 is finite as F32 but infinite as F16, and llama.cpp could not load the file.
  it("a finite weight too large for F16 is refused as F16 and written as F32", async () => {
    const huge = await poisonedCopy("huge", 1e30);
    const output = path.join(dir, "huge", "huge-F16.gguf");
    const refused = await neural("export", "--model_dir", huge, "--output", output, "--quantization", "F16", "--no_modelfile");
    expect(refused.code).toBe(1);
    expect(problems(refused.stderr)).toEqual([
      `neural export: ${path.join(huge, "model.safetensors")} (model.layers.1.mlp.down_proj.weight): value 1e+30 at index 200 is too large for f16 (it becomes infinite) (GGUF tensor blk.1.ffn_down.weight); nothing written (--allow_non_finite writes it anyway)`,
    ]);
    expect(existsSync(output)).toBe(false);
    const f32 = path.join(dir, "huge", "huge-F32.gguf");
    const written = await neural("export", "--model_dir", huge, "--output", f32, "--quantization", "F32", "--no_modelfile");
    expect(written.code, written.stderr).toBe(0);
  }, 120_000);

  it("--allow_non_finite writes the NaN, and llama.cpp loads the file", async () => {
    const broken = await poisonedCopy("allowed", Number.NaN);
    const output = path.join(dir, "allowed.gguf");
    const r = await neural(
      "export",
      "--model_dir",
      broken,
      "--output",
      output,
      "--quantization",
      "Q8_0",
      "--no_modelfile",
      "--allow_non_finite",
    );
    expect(r.code, r.stderr).toBe(0);
    const gguf = await openGguf(output);
    expect(gguf.tensors.find((t) => t.name === "blk.1.ffn_down.weight")?.type).toBe("Q8_0");
    await gguf.close();
    const model = await LlamaModelProcess.load(output, { contextSize: 64 });
    await model.close();
  }, 180_000);

  it("a NaN in an adapter: named by the adapter when merged, and by its file and tensor as a GGUF adapter", async () => {
    const adapter = await writeTinyLoraAdapter(path.join(dir, "nan-adapter"), tiny);
    const file = path.join(adapter.dir, "adapter_model.safetensors");
    const reader = await openSafetensors(file);
    const lora = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
    const { byteOffset } = reader.info(lora);
    await reader.close();
    const fd = openSync(file, "r+");
    writeSync(fd, new Uint8Array(Float32Array.of(Number.NaN).buffer), 0, 4, byteOffset);
    closeSync(fd);
    const merged = await neural("export", "--model_dir", adapter.dir, "--output", path.join(dir, "nan-adapter", "merged.gguf"));
    expect(merged.code).toBe(1);
    expect(problems(merged.stderr).filter((l) => !l.startsWith("merge:"))).toEqual([
      `neural export: ${adapter.dir} merged into its base (model.layers.0.self_attn.q_proj.weight): value NaN at index 0 is not finite (GGUF tensor blk.0.attn_q.weight); nothing written (--allow_non_finite writes it anyway)`,
    ]);
    const asAdapter = path.join(dir, "nan-adapter", "adapter.gguf");
    const refused = await neural("export", "--model_dir", adapter.dir, "--lora_adapter", "--output", asAdapter);
    expect(refused.code).toBe(1);
    expect(problems(refused.stderr)).toEqual([
      `neural export: ${file} (${lora}): value NaN at index 0 is not finite (GGUF tensor blk.0.attn_q.weight.lora_b); nothing written (--allow_non_finite writes it anyway)`,
    ]);
    expect(readdirSync(path.join(dir, "nan-adapter")).filter((f) => f.endsWith(".gguf") || f.includes(".tmp"))).toEqual([]);
  }, 180_000);

  it("the help shows --allow_non_finite and its default", async () => {
    const help = await neural("export", "--help");
    expect(help.stdout).toMatch(/--allow_non_finite\b[\s\S]*?default false/);
  });
});
