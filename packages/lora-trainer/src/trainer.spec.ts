// Training that really learns, end to end and offline: a tiny model trained from scratch on one generated task, then
// a LoRA fine-tune of it on another, each judged by exact match of its own greedy answers on a held-out split.
import { Random } from "@neural/dataset";
import { Graph } from "@neural/graph";
import { runGraph } from "@neural/graph/node";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openModel } from "./models/load.js";
import { buildForward } from "./models/transformer.js";
import { graphWeights, memorySource, readAll } from "./models/weights.js";
import { loadPeftAdapter, loraScale, mergeLoraWeight } from "./peft.js";
import { resolveTrainConfig, type TrainConfig } from "./train-config.js";
import { train, type TrainEvent, type TrainResult } from "./trainer.js";

const WORDS = "red blue green gold iron wood stone glass river cloud storm light night sun moon star fire ice wind rain".split(" ");

function taskFile(
  dir: string,
  name: string,
  seed: number,
  rows: number,
  row: (words: string[]) => { instruction: string; output: string },
): string {
  const random = new Random(seed);
  const lines = new Set<string>();
  while (lines.size < rows) {
    const words = Array.from({ length: 2 + random.int(3) }, () => WORDS[random.int(WORDS.length)]!);
    lines.add(JSON.stringify(row(words)));
  }
  const file = path.join(dir, name);
  writeFileSync(file, [...lines].join("\n") + "\n");
  return file;
}

const common: Partial<TrainConfig> = {
  max_length: 128,
  batch_size: 8,
  gradient_accumulation: 1,
  warmup_steps: 20,
  weight_decay: 0,
  eval_steps: 100,
  save_steps: 100,
  logging_steps: 10,
  threads: 1,
  max_new_tokens: 24,
  gradient_checkpointing: false,
  device: "cpu",
};

async function run(flags: Partial<TrainConfig>): Promise<{ result: TrainResult; evals: Extract<TrainEvent, { type: "eval" }>[] }> {
  const evals: Extract<TrainEvent, { type: "eval" }>[] = [];
  const { config } = resolveTrainConfig({ flags: { ...common, ...flags } });
  const result = await train(config, { onEvent: (e) => e.type === "eval" && evals.push(e) });
  return { result, evals };
}

describe("training learns, end to end, with no download", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "trainer-"));
  let scratch: Awaited<ReturnType<typeof run>>;
  let lora: Awaited<ReturnType<typeof run>>;
  let qlora: Awaited<ReturnType<typeof run>>;

  beforeAll(async () => {
    const upper = taskFile(dir, "upper.jsonl", 1, 1500, (w) => ({
      instruction: `Uppercase: ${w.join(" ")}`,
      output: w.join(" ").toUpperCase(),
    }));
    scratch = await run({
      from_scratch: true,
      hidden_size: 64,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      intermediate_size: 128,
      vocab_size: 512,
      dataset: upper,
      output_dir: path.join(dir, "scratch"),
      epochs: 20,
      learning_rate: 1e-3,
    });
    const reverse = taskFile(dir, "reverse.jsonl", 2, 1500, (w) => ({
      instruction: `Reverse: ${w.join(" ")}`,
      output: [...w].reverse().join(" ").toUpperCase(),
    }));
    lora = await run({
      base_model: path.join(dir, "scratch"),
      dataset: reverse,
      output_dir: path.join(dir, "lora"),
      lora_r: 16,
      lora_alpha: 16,
      lora_dropout: 0,
      epochs: 12,
      learning_rate: 2e-3,
    });
    // the same fine-tune on the 4-bit base
    qlora = await run({
      base_model: path.join(dir, "scratch"),
      dataset: reverse,
      output_dir: path.join(dir, "qlora"),
      use_qlora: true,
      lora_r: 16,
      lora_alpha: 16,
      lora_dropout: 0,
      epochs: 12,
      learning_rate: 2e-3,
    });
  }, 900_000);

  it("trains a model from scratch (with a tokenizer trained on the data) to ≥ 95 % exact match on held-out prompts", () => {
    const last = scratch.evals.at(-1)!;
    expect(scratch.result.stopped).toBe("completed");
    expect(last.exactMatch).toBeGreaterThanOrEqual(0.95);
    expect(scratch.evals[0]!.loss).toBeGreaterThan(2 * last.loss); // the eval loss curve falls
    expect(scratch.result.files).toEqual(
      expect.arrayContaining(["config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl", "loss_curve.svg"]),
    );
    expect(readFileSync(path.join(dir, "scratch", "loss_curve.svg"), "utf8")).toContain("<polyline");
  });

  it("fine-tunes that model with LoRA on a different task to ≥ 95 % exact match", () => {
    const last = lora.evals.at(-1)!;
    expect(lora.evals[0]!.exactMatch ?? 0).toBeLessThan(last.exactMatch!);
    expect(last.exactMatch).toBeGreaterThanOrEqual(0.95);
    expect(lora.evals[0]!.loss).toBeGreaterThan(2 * last.loss);
    const metrics = readFileSync(path.join(dir, "lora", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(metrics.filter((m) => m.type === "eval").map((m) => m.step)).toEqual(lora.evals.map((e) => e.step));
    expect(metrics.find((m) => m.type === "train")).toMatchObject({
      step: 10,
      lr: expect.any(Number),
      loss: expect.any(Number),
      grad_norm: expect.any(Number),
    });
  });

  it("fine-tunes the same model with QLoRA (4-bit base weights, forward and backward) to ≥ 90 % exact match", () => {
    const last = qlora.evals.at(-1)!;
    expect(qlora.evals[0]!.exactMatch ?? 0).toBeLessThan(last.exactMatch!);
    expect(last.exactMatch).toBeGreaterThanOrEqual(0.9);
    expect(qlora.evals[0]!.loss).toBeGreaterThan(2 * last.loss);
    expect(qlora.result.files).toEqual(expect.arrayContaining(["adapter_config.json", "adapter_model.safetensors"]));
  });

  it("evaluates a trained adapter directory on its own (--eval_only), with the numbers training reported", async () => {
    const { config } = resolveTrainConfig({
      flags: {
        ...common,
        base_model: path.join(dir, "lora"),
        dataset: path.join(dir, "reverse.jsonl"),
        output_dir: path.join(dir, "eval-only"),
      },
    });
    const events: TrainEvent[] = [];
    const result = await train(config, { evalOnly: true, onEvent: (e) => events.push(e) });
    expect(result.steps).toBe(0);
    expect(result.lastEval!.exactMatch).toBe(lora.evals.at(-1)!.exactMatch);
    expect(result.lastEval!.loss).toBeCloseTo(lora.evals.at(-1)!.loss, 4);
    expect(events.some((e) => e.type === "info" && /adapter .* \(r 16, alpha 16\)/.test(e.message))).toBe(true);
  }, 120_000);

  it("writes a PEFT adapter whose merge into the base gives the logits of training-time LoRA", async () => {
    const base = await openModel(path.join(dir, "scratch"));
    const adapter = await loadPeftAdapter(path.join(dir, "lora"));
    expect(adapter.targetModules).toEqual(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
    const weights = await readAll(base.source);
    const merged = new Map([...weights].map(([name, data]) => [name, { shape: [...base.source.shape(name)], data }]));
    for (const [module, w] of adapter.modules) {
      const name = `${module}.weight`;
      merged.set(name, { shape: merged.get(name)!.shape, data: mergeLoraWeight(weights.get(name)!, w, adapter.rank, loraScale(adapter)) });
    }
    const tokens = [5, 17, 42, 9, 3, 77, 12, 8];
    const logits = async (withLora: boolean) => {
      const g = new Graph();
      const inputIds = g.input("ids", "int64", [1, tokens.length]);
      const positionIds = g.input("pos", "int64", [1, tokens.length]);
      const source = memorySource(
        withLora ? new Map([...weights].map(([name, data]) => [name, { shape: [...base.source.shape(name)], data }])) : merged,
      );
      const out = buildForward(
        g,
        base.config,
        graphWeights(g, source),
        { inputIds, positionIds },
        withLora
          ? {
              lora: {
                targets: adapter.targetModules,
                rank: adapter.rank,
                alpha: adapter.alpha,
                weights: (m) => ({
                  a: g.constant(adapter.modules.get(m)!.a, "float32", [adapter.rank, adapter.modules.get(m)!.in]),
                  b: g.constant(adapter.modules.get(m)!.b, "float32", [adapter.modules.get(m)!.out, adapter.rank]),
                }),
              },
            }
          : {},
      );
      g.output("logits", out.logits!);
      const ids = BigInt64Array.from(tokens, BigInt);
      return (await runGraph(g, { ids, pos: BigInt64Array.from(tokens.keys(), BigInt) })).logits as Float32Array;
    };
    const a = await logits(true);
    const b = await logits(false);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(1e-3);
    await base.close();
  });
});
