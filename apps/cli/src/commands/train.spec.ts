// `neural train` as a user runs it, in a child process: killed with SIGKILL at a random step and resumed with
// --resume auto, it ends bit for bit where an uninterrupted run ends; Ctrl-C saves a checkpoint; no checkpoint is torn.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadCheckpoint, listCheckpoints } from "@neural/lora-trainer";
import { beforeAll, describe, expect, it } from "vitest";
import { neural } from "../testing.js";

const main = path.resolve(fileURLToPath(import.meta.url), "../../main.ts");
const dir = mkdtempSync(path.join(tmpdir(), "neural-train-"));
const dataset = path.join(dir, "data.jsonl");

function flags(output: string): string[] {
  return [
    "train",
    "--from_scratch",
    "--hidden_size",
    "32",
    "--num_hidden_layers",
    "2",
    "--num_attention_heads",
    "2",
    "--intermediate_size",
    "64",
    "--vocab_size",
    "300",
    "--dataset",
    dataset,
    "--output_dir",
    output,
    "--max_length",
    "64",
    "--batch_size",
    "4",
    "--gradient_accumulation",
    "2",
    "--max_steps",
    "24",
    "--save_steps",
    "1",
    "--save_total_limit",
    "2",
    "--eval_steps",
    "8",
    "--no-eval_generate",
    "--logging_steps",
    "1",
    "--learning_rate",
    "3e-3",
    "--warmup_steps",
    "3",
    "--threads",
    "1",
    "--device",
    "cpu",
  ];
}

/** Runs the CLI in its own process (tsx on the sources); `stopAt` kills it once that checkpoint step exists. */
function cli(
  args: string[],
  stopAt?: { step: number; signal: NodeJS.Signals; output: string },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", main, ...args], {
      cwd: path.resolve(main, "../../../.."),
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => (stderr += d.toString())); // one transcript, as a user sees it
    let timer: NodeJS.Timeout | undefined;
    if (stopAt) {
      let sent = false;
      timer = setInterval(() => {
        const reached =
          existsSync(path.join(stopAt.output, "checkpoints")) &&
          readdirSync(path.join(stopAt.output, "checkpoints")).some((n) => /^step-\d+$/.test(n) && Number(n.slice(5)) >= stopAt.step);
        if (reached && !sent) {
          sent = true;
          child.kill(stopAt.signal);
        }
      }, 5);
    }
    child.on("exit", (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, stderr });
    });
  });
}

const trainLosses = (output: string) =>
  readFileSync(path.join(output, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === "train")
    .map((m) => [m.step, m.loss]);

describe("neural train: exact resume", () => {
  const reference = path.join(dir, "reference");
  beforeAll(async () => {
    const words = "alpha beta gamma delta omega sigma".split(" ");
    const rows: string[] = [];
    for (let i = 0; i < 120; i++)
      rows.push(JSON.stringify({ instruction: `Say ${words[i % 6]} ${words[(i * 7) % 6]} ${i}`, output: `${words[(i * 5) % 6]} ${i}` }));
    writeFileSync(dataset, rows.join("\n") + "\n");
    const result = await cli(flags(reference));
    expect(result.stderr).toContain("done after 24 steps");
    expect(result.code).toBe(0);
  }, 300_000);

  it("a run killed with SIGKILL at a random step and resumed ends bit-identical, and no checkpoint is torn", async () => {
    const output = path.join(dir, "killed");
    const step = 3 + Math.floor(Math.random() * 18);
    const killed = await cli(flags(output), { step, signal: "SIGKILL", output });
    expect(killed.signal).toBe("SIGKILL");
    const left = await listCheckpoints(output);
    expect(left.length).toBeGreaterThan(0);
    expect(left.at(-1)!.step).toBeLessThan(24);
    for (const c of left) await expect(loadCheckpoint(c.dir)).resolves.toMatchObject({ state: { step: c.step } }); // every complete checkpoint loads
    const resumed = await cli([...flags(output), "--resume", "auto"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resumed from .*step-\d+ \(step \d+/);
    expect(readFileSync(path.join(output, "model.safetensors")).equals(readFileSync(path.join(reference, "model.safetensors")))).toBe(true);
    expect(trainLosses(output)).toEqual(trainLosses(reference));
  }, 300_000);

  it("Ctrl-C saves a checkpoint and exits; resuming finishes identically", async () => {
    const output = path.join(dir, "interrupted");
    const stopped = await cli(flags(output), { step: 10, signal: "SIGINT", output });
    expect(stopped.stderr).toContain("stopping: saving a checkpoint");
    expect(stopped.stderr).toMatch(/interrupted after \d+ steps/);
    expect(stopped.code).toBe(0);
    const resumed = await cli([...flags(output), "--resume", "auto"]);
    expect(resumed.code).toBe(0);
    expect(readFileSync(path.join(output, "model.safetensors")).equals(readFileSync(path.join(reference, "model.safetensors")))).toBe(true);
  }, 300_000);

  it("refuses to resume with other settings", async () => {
    const output = path.join(dir, "killed");
    const args = flags(output).map((a) => (a === "3e-3" ? "1e-3" : a));
    const result = await neural(...args, "--resume", "auto");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/was made with other settings/);
  }, 120_000);
});

describe("neural train --estimate_memory", () => {
  it("prints the predicted peak, part by part, and exits 0 without training", async () => {
    const output = path.join(dir, "estimate");
    const result = await neural(...flags(output), "--estimate_memory");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/estimated peak memory of this run \(RAM, CPU\): \d+\.\d\d GiB/);
    for (const part of ["runtime", "graphs", "weights", "trainable", "activations", "peak"]) expect(result.stdout).toContain(part);
    expect(existsSync(output)).toBe(false);
  }, 120_000);

  it("qwen3_0_6b and gemma3_1b print a prediction from their base model's published config.json, offline and with an empty cache", async () => {
    const saved = { cache: process.env.HF_HUB_CACHE, offline: process.env.HF_HUB_OFFLINE };
    process.env.HF_HUB_CACHE = mkdtempSync(path.join(tmpdir(), "empty-hub-"));
    process.env.HF_HUB_OFFLINE = "1";
    try {
      for (const [preset, repo] of [
        ["qwen3_0_6b", "Qwen/Qwen3-0.6B"],
        ["gemma3_1b", "google/gemma-3-1b-it"],
      ]) {
        const result = await neural(
          "train",
          "--preset",
          preset!,
          "--dataset",
          dataset,
          "--output_dir",
          path.join(dir, preset!),
          "--estimate_memory",
        );
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(/estimated peak memory of this run \(RAM, CPU\): \d+\.\d\d GiB/);
        expect(result.stdout).toContain(`shapes from ${repo}'s config.json as published`);
      }
    } finally {
      for (const [key, value] of [
        ["HF_HUB_CACHE", saved.cache],
        ["HF_HUB_OFFLINE", saved.offline],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }, 240_000);

  it("a base model that is neither a directory nor a hub id gets training's own error, with no trip to the hub", async () => {
    const missing = path.join(dir, "no-such-model");
    const result = await neural("train", "--dataset", dataset, "--base_model", missing, "--estimate_memory");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${missing}: no such directory, and not a Hugging Face model id`);
    expect(result.stderr).not.toMatch(/fetch failed|\n\s+at /);
  }, 120_000);
});
