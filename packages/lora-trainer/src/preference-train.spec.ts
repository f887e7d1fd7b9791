// Preference methods through the one loop on a tiny seeded model: TRL's metrics in metrics.jsonl and on held-out
// pairs, LoRA, QLoRA and full fine-tuning, the reference cache (computed once, reused by a resumed run that ends
// bit for bit where an uninterrupted one does, recomputed when the data change).
import { writeTinyModel } from "@neural/testkit";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REFERENCE_FILE } from "./reference-cache.js";
import { resolveTrainConfig, type TrainConfig } from "./train-config.js";
import { train, type TrainEvent } from "./trainer.js";

const dir = mkdtempSync(path.join(tmpdir(), "preference-train-"));
let model: string;
let pairs: string;
let labelled: string;

const common: Partial<TrainConfig> = {
  max_length: 64,
  batch_size: 2,
  eval_batch_size: 2,
  gradient_accumulation: 2,
  warmup_steps: 0,
  learning_rate: 5e-3,
  validation_split: 0.2,
  logging_steps: 1,
  eval_steps: 2,
  save_steps: 2,
  eval_generate: false,
  threads: 1,
  gradient_checkpointing: false,
  device: "cpu",
  lora_r: 4,
  lora_alpha: 8,
};

async function run(flags: Partial<TrainConfig>, signalAt?: number) {
  const events: TrainEvent[] = [];
  const controller = new AbortController();
  const { config } = resolveTrainConfig({ flags: { ...common, base_model: model, ...flags } });
  const result = await train(config, {
    signal: controller.signal,
    onEvent: (e) => {
      events.push(e);
      if (signalAt !== undefined && e.type === "step" && e.step === signalAt) controller.abort();
    },
  });
  const notes = events.flatMap((e) => (e.type === "info" || e.type === "warning" ? [e.message] : []));
  const metrics = readFileSync(path.join(config.output_dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  return { result, events, notes, metrics };
}

beforeAll(async () => {
  model = (
    await writeTinyModel(path.join(dir, "model"), {
      family: "llama",
      seed: 3,
      dtype: "F32",
      hiddenSize: 64,
      intermediateSize: 128,
      layers: 2,
    })
  ).dir;
  const colours = ["red", "blue", "green", "gold", "grey", "pink", "teal", "navy", "lime", "plum"];
  const rows = colours.flatMap((c, i) => [
    { prompt: `colour ${c}?`, chosen: `It is ${c}.`, rejected: `${c}!!! maybe` },
    {
      prompt: [{ role: "user", content: `name ${i}?` }],
      chosen: [{ role: "assistant", content: `Name ${i}.` }],
      rejected: [{ role: "assistant", content: `no idea ${i}` }],
    },
  ]);
  pairs = path.join(dir, "pairs.jsonl");
  writeFileSync(pairs, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  labelled = path.join(dir, "kto.jsonl");
  writeFileSync(
    labelled,
    colours
      .flatMap((c) => [
        { prompt: `colour ${c}?`, completion: `It is ${c}.`, label: true },
        { prompt: `shade ${c}?`, completion: `${c}!!!`, label: false },
      ])
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
}, 120_000);

const TRL = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"];

describe("preference training through the loop", () => {
  it("DPO on LoRA: TRL's metrics per step and on held-out pairs; a resumed run reuses the reference cache and ends bit for bit equal", async () => {
    const whole = await run({ method: "dpo", dataset: pairs, output_dir: path.join(dir, "dpo"), max_steps: 4 });
    expect(whole.result.stopped).toBe("completed");
    expect(whole.notes.some((n) => n.startsWith("reference log-probabilities: computing"))).toBe(true);
    expect(existsSync(path.join(dir, "dpo", REFERENCE_FILE))).toBe(true);
    const trains = whole.metrics.filter((m) => m.type === "train");
    const evals = whole.metrics.filter((m) => m.type === "eval");
    expect(trains).toHaveLength(4);
    expect(evals).toHaveLength(2);
    for (const m of [...trains, ...evals]) for (const k of TRL) expect(Number.isFinite(m[k])).toBe(true);
    // at the start the policy is the reference: rewards 0, loss log 2
    expect(trains[0]!["rewards/chosen"]).toBeCloseTo(0, 5);
    expect(trains[0]!.loss).toBeCloseTo(Math.log(2), 4);
    expect(Number(trains.at(-1)!["rewards/margins"])).toBeGreaterThan(0);
    expect(readFileSync(path.join(dir, "dpo", "loss_curve.svg"), "utf8")).toContain("rewards/margins");
    expect(readFileSync(path.join(dir, "dpo", "eval_split.jsonl"), "utf8")).toContain('"chosen"');

    const out = path.join(dir, "dpo-resumed");
    const first = await run({ method: "dpo", dataset: pairs, output_dir: out, max_steps: 4 }, 2);
    expect(first.result.stopped).toBe("interrupted");
    const resumed = await run({ method: "dpo", dataset: pairs, output_dir: out, max_steps: 4, resume: "auto" });
    expect(resumed.notes.some((n) => n.startsWith("reference log-probabilities: reused"))).toBe(true);
    expect(resumed.notes.some((n) => n.startsWith("reference log-probabilities: computing"))).toBe(false);
    expect(
      readFileSync(path.join(out, "adapter_model.safetensors")).equals(readFileSync(path.join(dir, "dpo", "adapter_model.safetensors"))),
    ).toBe(true);
    expect(resumed.metrics.filter((m) => m.type === "train").map((m) => m.loss)).toEqual(trains.map((m) => m.loss));

    // a torn cache file is recomputed with a warning, never a crash
    writeFileSync(path.join(out, REFERENCE_FILE), '{"key": "x", "train": [1, 2');
    const torn = await run({ method: "dpo", dataset: pairs, output_dir: out, max_steps: 1 });
    expect(torn.notes.some((n) => n.includes("is not a cache this version wrote"))).toBe(true);

    // other data under the same output directory: the cache is recomputed
    const fewer = path.join(dir, "pairs-fewer.jsonl");
    writeFileSync(fewer, readFileSync(pairs, "utf8").split("\n").slice(2).join("\n"));
    const other = await run({ method: "dpo", dataset: fewer, output_dir: out, max_steps: 1 });
    expect(other.notes.some((n) => n.includes("was made for another model, template or data"))).toBe(true);
  }, 300_000);

  it.each([
    ["orpo", { gradient_checkpointing: true }],
    ["simpo", {}],
    ["dpo", { loss_type: "ipo", rpo_alpha: 0.5, use_lora: false }],
    ["dpo", { loss_type: "hinge", use_qlora: true }],
  ] as const)(
    "%s %j trains and reports TRL's metrics",
    async (method, extra) => {
      const r = await run({
        method,
        dataset: pairs,
        output_dir: path.join(dir, `${method}-${Object.keys(extra).join("-")}`),
        max_steps: 2,
        ...extra,
      });
      expect(r.result.stopped).toBe("completed");
      expect(existsSync(path.join(dir, `${method}-${Object.keys(extra).join("-")}`, REFERENCE_FILE))).toBe(method === "dpo");
      for (const m of r.metrics) for (const k of TRL) expect(Number.isFinite(m[k])).toBe(true);
    },
    300_000,
  );

  it("KTO on labelled completions: its KL estimate and per-class rewards", async () => {
    const r = await run({ method: "kto", dataset: labelled, output_dir: path.join(dir, "kto"), max_steps: 2 });
    expect(r.result.stopped).toBe("completed");
    for (const m of r.metrics)
      for (const k of ["rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected", "kl"])
        expect(Number.isFinite(m[k]), `${m.type} ${k}`).toBe(true);
  }, 300_000);

  it("refuses pairs for KTO and labelled rows for DPO with one clear line", async () => {
    await expect(run({ method: "kto", dataset: pairs, output_dir: path.join(dir, "bad") })).rejects.toThrow(
      /--method kto needs \{"prompt", "completion", "label"\} rows/,
    );
    await expect(run({ method: "dpo", dataset: labelled, output_dir: path.join(dir, "bad") })).rejects.toThrow(
      /--method dpo needs \{"prompt", "chosen", "rejected"\} rows/,
    );
  }, 120_000);
});
