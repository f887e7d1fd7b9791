// A diverging run loses nothing and exports nothing broken. Before the guard checked updates before they landed,
// `--learning_rate 1e30 --warmup_steps 0` stopped at step 2 "keeping the weights before this step", but those were
// step 1's ±1e30 weights, checkpointed and saved; `neural export` then wrote a GGUF from them with exit 0.
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openSafetensors } from "@neural/safetensors";
import { writeTinyModel, type TinyModel } from "@neural/testkit";
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

describe("neural export refuses non-finite weights", () => {
  it("a NaN in one tensor is one line naming it, exit 1, and no temp file is left (nor a dead export's)", async () => {
    const broken = path.join(dir, "broken");
    cpSync(tiny.dir, broken, { recursive: true });
    const file = path.join(broken, "model.safetensors");
    const reader = await openSafetensors(file);
    const { byteOffset } = reader.info("model.layers.1.mlp.down_proj.weight");
    await reader.close();
    const fd = openSync(file, "r+");
    writeSync(fd, new Uint8Array(Float32Array.of(Number.NaN).buffer), 0, 4, byteOffset + 4 * 200);
    closeSync(fd);

    // a temporary file of an export that died is cleared by the next one
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    mkdirSync(path.join(dir, "gguf"));
    writeFileSync(path.join(dir, "gguf", `.broken-F32.gguf.${dead}.abc123.tmp`), "x".repeat(4096));
    for (const type of ["F32", "Q8_0"]) {
      const output = path.join(dir, "gguf", `broken-${type}.gguf`);
      const refused = await neural("export", "--model_dir", broken, "--output", output, "--quantization", type, "--no_modelfile");
      expect(refused.code).toBe(1);
      const lines = refused.stderr
        .trim()
        .split("\n")
        .filter((l) => !l.startsWith("export:"));
      expect(lines).toEqual(["neural export: tensor blk.1.ffn_down.weight: value NaN at index 200 is not finite"]);
      expect(readdirSync(path.dirname(output))).toEqual([]);
    }
  }, 120_000);
});
