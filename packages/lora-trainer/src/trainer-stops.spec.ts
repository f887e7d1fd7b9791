// The Node trainer end to end at its two early exits: early stopping with patience, and a diverging step (its loss
// non-finite) that stops the run with the weights from before the update that caused it, checkpointed and written.
import { readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openSafetensors } from "@neural/safetensors";
import { listCheckpoints, loadCheckpoint } from "./checkpoint.js";
import { tinyTrainingRun } from "@neural/testkit";
import { resolveTrainConfig, type TrainConfig } from "./train-config.js";
import { train, type TrainEvent } from "./trainer.js";

const { dir, flags } = tinyTrainingRun("loop");

const tiny = (overrides: Partial<TrainConfig>) =>
  resolveTrainConfig({
    flags: {
      ...flags,
      save_steps: 1,
      warmup_steps: 0,
      ...overrides,
    },
  }).config;

// Each test trains a tiny model for a few steps: seconds alone, far longer on a loaded machine.
describe("the training loop", { timeout: 300_000 }, () => {
  it("stops early when the eval loss has not improved for `patience` evaluations", async () => {
    const events: TrainEvent[] = [];
    // learning rate 0: nothing changes, so no evaluation improves on the first one
    const result = await train(
      tiny({ output_dir: path.join(dir, "early"), learning_rate: 0, eval_steps: 1, early_stopping_patience: 2, max_steps: 50 }),
      {
        onEvent: (e) => events.push(e),
      },
    );
    expect(result.stopped).toBe("early_stopping");
    expect(result.steps).toBe(3);
    expect(result.bestStep).toBe(1);
    expect(events.filter((e) => e.type === "eval")).toHaveLength(3);
  });

  it.each([false, true])(
    "a diverging step is not applied: the run stops with the last finite weights, saved and written (undo state in a file: %s)",
    async (undoInFile) => {
      const events: TrainEvent[] = [];
      const output = path.join(dir, `nan-${undoInFile}`);
      const result = await train(
        tiny({
          output_dir: output,
          learning_rate: 1e30,
          max_grad_norm: 0,
          weight_decay: 0,
          eval_steps: 1000,
          max_steps: 50,
          lr_scheduler: "constant",
        }),
        {
          onEvent: (e) => events.push(e),
          undoInFile,
        },
      );
      expect(result.stopped).toBe("diverged");
      // Step 1's update (±1e30 on every weight) makes step 2's loss non-finite: it is undone, not kept.
      expect(result.steps).toBe(0);
      expect(
        events.some(
          (e) =>
            e.type === "warning" &&
            /step 2: loss .*: the run diverged; stopping with the weights of step 0 \(step 1's update undone\)/.test(e.message),
        ),
      ).toBe(true);
      // step 1's checkpoint (save_steps 1) held the update that was undone: it is gone
      expect(await listCheckpoints(output)).toEqual([]);
      const model = await openSafetensors(path.join(output, "model.safetensors"));
      for (const name of model.names) {
        const values = await model.readFloat32(name);
        expect(
          values.every((v) => Math.abs(v) < 100),
          name,
        ).toBe(true);
      }
      await model.close();
      expect(readdirSync(path.join(output))).not.toContain(".graphs");
    },
  );
});
