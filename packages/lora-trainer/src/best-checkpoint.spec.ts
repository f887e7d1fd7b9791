// The run's output is the best evaluation's weights when asked (--load_best_model_at_end) or when early stopping
// ends it (before: always the last step's); every checkpoint folder is a model folder that evaluation (and export,
// merge) take; a dataset that loses more than 10% of its examples to --max_length stops the run, saying how many and
// what length keeps them; a resume with other settings names them.
import { openSafetensors } from "@neural/safetensors";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listCheckpoints, loadCheckpoint } from "./checkpoint.js";
import { tinyTrainingRun } from "@neural/testkit";
import { resolveTrainConfig, type TrainConfig } from "./train-config.js";
import { train, type TrainEvent } from "./trainer.js";

const { dir, flags } = tinyTrainingRun("best");

const tiny = (overrides: Partial<TrainConfig>) =>
  resolveTrainConfig({
    flags: {
      ...flags,
      save_steps: 1,
      save_total_limit: 100,
      eval_steps: 1,
      warmup_steps: 0,
      lr_scheduler: "constant",
      validation_split: 0.2,
      ...overrides,
    },
  }).config;

async function weights(file: string): Promise<Map<string, Float32Array>> {
  const f = await openSafetensors(file);
  const out = new Map<string, Float32Array>();
  for (const name of f.names) out.set(name, await f.readFloat32(name));
  await f.close();
  return out;
}

describe("the best checkpoint", () => {
  it("--load_best_model_at_end: the output holds the best evaluation's weights, and evaluates to its loss", async () => {
    const output = path.join(dir, "best");
    const evals: Array<{ step: number; loss: number }> = [];
    const result = await train(tiny({ output_dir: output, learning_rate: 0.1, max_steps: 10, load_best_model_at_end: true }), {
      onEvent: (e: TrainEvent) => void (e.type === "eval" && evals.push({ step: e.step, loss: e.loss })),
    });
    const best = evals.reduce((a, b) => (b.loss < a.loss ? b : a));
    expect(result.bestStep).toBe(best.step);
    expect(best.step).not.toBe(10); // the run got worse after its best, so best and last differ
    const checkpoint = (await listCheckpoints(output)).find((c) => c.step === best.step)!;
    const { tensors } = await loadCheckpoint(checkpoint.dir);
    const written = await weights(path.join(output, "model.safetensors"));
    for (const [name, { data }] of tensors.params) expect(written.get(name), name).toEqual(data);
    // the output and the best checkpoint's folder are model folders: evaluated, each gives the best eval loss
    for (const model of [output, checkpoint.dir]) {
      const again = await train(
        tiny({ output_dir: path.join(dir, `eval-${path.basename(model)}`), base_model: model, from_scratch: false }),
        { evalOnly: true },
      );
      expect(again.lastEval!.loss).toBeCloseTo(best.loss, 5);
    }
  }, 120_000);

  it("early stopping leaves the best evaluation's weights, not the last step's", async () => {
    const output = path.join(dir, "early");
    const result = await train(tiny({ output_dir: output, learning_rate: 0.1, max_steps: 10, early_stopping_patience: 2 }));
    expect(result.stopped).toBe("early_stopping");
    expect(result.bestStep).toBeLessThan(result.steps);
    const { tensors } = await loadCheckpoint((await listCheckpoints(output)).find((c) => c.step === result.bestStep)!.dir);
    const written = await weights(path.join(output, "model.safetensors"));
    for (const [name, { data }] of tensors.params) expect(written.get(name), name).toEqual(data);
  }, 120_000);

  it("a resume with other settings names each one", async () => {
    const output = path.join(dir, "resume");
    await train(tiny({ output_dir: output, learning_rate: 0.001, max_steps: 2 }));
    await expect(train(tiny({ output_dir: output, learning_rate: 0.002, max_steps: 3, resume: "auto" }))).rejects.toThrow(
      /step-00000002 was made with other settings \(max_steps 2 \(now 3\), learning_rate 0\.001 \(now 0\.002\)\); resume with the same settings or start a new --output_dir/,
    );
  }, 120_000);

  it("more than 10% of the examples dropped by --max_length stops the run, unless --allow_truncation", async () => {
    const long = path.join(dir, "long.jsonl");
    writeFileSync(
      long,
      Array.from({ length: 20 }, (_, i) =>
        JSON.stringify({ instruction: `Count to ${i}`, output: i < 5 ? "word ".repeat(40 + 10 * i) : `${i}` }),
      ).join("\n") + "\n",
    );
    const config = tiny({ output_dir: path.join(dir, "long"), dataset: long, max_steps: 1, max_length: 32 });
    await expect(train(config)).rejects.toThrow(
      /^--max_length 32 drops 5 of 20 examples \(25\.0%, more than 10%\) as too long: --max_length \d+ would keep them all; or pass --allow_truncation to train on the 15 that fit$/,
    );
    const allowed = await train({ ...config, allow_truncation: true });
    expect(allowed.steps).toBe(1);
  }, 120_000);
});
