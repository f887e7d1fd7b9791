// Every checkpoint folder is a model folder: `neural export`, `neural merge` and `neural train --eval_only` take it as
// they take a finished run's output (before: "config.json: cannot read").
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeTinyModel } from "@neural/testkit";
import { describe, expect, it } from "vitest";
import { neural } from "../testing.js";

describe("a checkpoint folder", () => {
  it("is exported, merged and evaluated like a finished run's output", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "neural-checkpoint-folder-"));
    const tiny = await writeTinyModel(path.join(dir, "model"), {
      family: "qwen2",
      seed: 4,
      dtype: "F32",
      hiddenSize: 64,
      intermediateSize: 128,
    });
    const dataset = path.join(dir, "data.jsonl");
    writeFileSync(
      dataset,
      Array.from({ length: 16 }, (_, i) => JSON.stringify({ instruction: `Say ${i}`, output: `Answer ${i}` })).join("\n") + "\n",
    );
    const out = path.join(dir, "out");
    const run = await neural(
      "train",
      "--base_model",
      tiny.dir,
      "--dataset",
      dataset,
      "--output_dir",
      out,
      "--max_steps",
      "2",
      "--save_steps",
      "1",
      "--max_length",
      "64",
      "--batch_size",
      "2",
      "--device",
      "cpu",
      "--threads",
      "1",
      "--no-eval_generate",
    );
    expect(run.code, run.stderr).toBe(0);
    const checkpoint = path.join(out, "checkpoints", "step-00000001");
    const exported = await neural(
      "export",
      "--model_dir",
      checkpoint,
      "--base_model",
      tiny.dir,
      "--output",
      path.join(dir, "step1.gguf"),
      "--quantization",
      "F32",
      "--no_modelfile",
    );
    expect(exported.code, exported.stderr).toBe(0);
    const merged = await neural("merge", "--model_dir", checkpoint, "--base_model", tiny.dir, "--output", path.join(dir, "merged"));
    expect(merged.code, merged.stderr).toBe(0);
    const evaluated = await neural(
      "train",
      "--base_model",
      checkpoint,
      "--dataset",
      dataset,
      "--output_dir",
      path.join(dir, "eval"),
      "--eval_only",
      "--max_length",
      "64",
      "--device",
      "cpu",
      "--threads",
      "1",
      "--no-eval_generate",
    );
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(evaluated.stdout).toMatch(/^evaluated; eval loss \d/);
  }, 300_000);
});
