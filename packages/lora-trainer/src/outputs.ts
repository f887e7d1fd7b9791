// What a Node training run leaves in its output directory besides checkpoints: the held-out split, metrics.jsonl,
// the adapter (PEFT) or the full model (HF layout), the tokenizer, the resolved settings, the loss curve and the
// engine's answers to the held-out prompts.
import { saveTokenizer, type PreparedExample } from "@neural/dataset";
import { processAlive, saveSafetensors } from "@neural/safetensors";
import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { CheckpointError, writeDurable } from "./checkpoint.js";
import type { EvalSample } from "./evaluation.js";
import type { OptimizerState } from "./optimizer.js";
import { loraAdapterOf } from "./peft-format.js";
import { savePeftAdapter } from "./peft.js";
import { lossCurveSvg } from "./plot.js";
import type { PreparedRun } from "./setup.js";

/** The held-out examples, so they can be scored again later (neural eval model.gguf --dataset eval_split.jsonl). */
export async function writeEvalSplit(outputDir: string, examples: readonly PreparedExample[]): Promise<void> {
  const lines = examples.map((e) =>
    JSON.stringify(
      e.example.kind === "chat"
        ? {
            messages: e.example.messages.map(({ role, content }) => ({ role, content })),
            ...(e.example.category !== undefined ? { category: e.example.category } : {}),
          }
        : { text: e.example.text },
    ),
  );
  await writeFile(path.join(outputDir, "eval_split.jsonl"), lines.join("\n") + (lines.length ? "\n" : ""));
}

/** Another live process holds the output directory. */
export class OutputDirLockedError extends Error {
  override name = "OutputDirLockedError";
}

export const LOCK_FILE = ".neural.lock";

/**
 * Takes the output directory for this process: a lock file holding its pid, created exclusively. A lock whose
 * process has died is taken over; a live one is an OutputDirLockedError. Returns the release.
 */
export async function lockOutputDir(outputDir: string): Promise<() => Promise<void>> {
  const file = path.join(outputDir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }) + "\n";
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, mine, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 3) throw error;
    }
    const holder = await readFile(file, "utf8").then(
      (text) => JSON.parse(text) as { pid?: unknown; host?: unknown },
      () => ({}) as { pid?: unknown; host?: unknown },
    );
    const pid = typeof holder.pid === "number" ? holder.pid : undefined;
    if (pid !== undefined && (holder.host === undefined || holder.host === hostname()) && processAlive(pid)) {
      throw new OutputDirLockedError(
        `${outputDir} is in use by another run (pid ${pid}, ${file}); wait for it to finish or choose another --output_dir (if no such run exists, delete ${file})`,
      );
    }
    // a dead process's lock: moved aside (one taker wins the rename), then taken as new
    const stale = `${file}.stale-${process.pid}`;
    if (
      await rename(file, stale).then(
        () => true,
        () => false,
      )
    )
      await rm(stale, { force: true });
  }
  return async () => {
    const text = await readFile(file, "utf8").catch(() => "");
    if (text === mine) await rm(file, { force: true });
  };
}

/** metrics.jsonl: one JSON line per logged step or evaluation. */
export class MetricsFile {
  readonly path: string;
  constructor(outputDir: string) {
    this.path = path.join(outputDir, "metrics.jsonl");
  }

  append(record: Record<string, unknown>): Promise<void> {
    return appendFile(this.path, JSON.stringify(record) + "\n");
  }

  /**
   * A resumed run rewrites what came after its checkpoint: the lines of later steps are cut, and a torn last line (a
   * crash or a full disk in the middle of a write) is dropped. A broken line before the last is an error naming it.
   */
  async truncate(step: number): Promise<void> {
    const lines = (await readFile(this.path, "utf8").catch(() => "")).split("\n");
    const kept: string[] = [];
    lines.forEach((line, i) => {
      if (!line) return;
      let record: { step?: unknown };
      try {
        record = JSON.parse(line) as { step?: unknown };
      } catch {
        if (lines.slice(i + 1).some(Boolean))
          throw new CheckpointError(`${this.path}:${i + 1}: not a JSON line; remove the line (or the file) and resume again`);
        return;
      }
      if (typeof record.step === "number" && record.step <= step) kept.push(line);
    });
    await writeDurable(this.path, kept.map((l) => l + "\n").join(""));
  }

  remove(): Promise<void> {
    return rm(this.path, { force: true });
  }

  async records(): Promise<Record<string, number | string>[]> {
    return (await readFile(this.path, "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, number | string>);
  }
}

/** The adapter (PEFT) or the full model (HF directory), the tokenizer, the resolved config and the loss curve. */
export async function writeOutputs(
  run: PreparedRun,
  optimizer: OptimizerState,
  metrics: MetricsFile,
  lastSamples: readonly EvalSample[],
): Promise<string[]> {
  const out = run.config.output_dir;
  const files = await writeModelFiles(run, optimizer, out);
  const lines = await metrics.records();
  const series = [
    {
      name: "train loss",
      color: "#1f77b4",
      points: lines.filter((l) => l.type === "train").map((l) => ({ step: l.step as number, value: l.loss as number })),
    },
    {
      name: "eval loss",
      color: "#d62728",
      points: lines.filter((l) => l.type === "eval").map((l) => ({ step: l.step as number, value: l.loss as number })),
    },
  ];
  // a preference run's reward margin (chosen − rejected) and accuracy beside its loss
  if (lines.some((l) => "rewards/margins" in l)) {
    const curve = (type: string, key: string) =>
      lines.filter((l) => l.type === type && key in l).map((l) => ({ step: l.step as number, value: l[key] as number }));
    series.push({ name: "rewards/margins", color: "#2ca02c", points: curve("train", "rewards/margins") });
    series.push({ name: "eval rewards/margins", color: "#9467bd", points: curve("eval", "rewards/margins") });
    series.push({ name: "rewards/accuracies", color: "#ff7f0e", points: curve("train", "rewards/accuracies") });
  }
  await writeFile(path.join(out, "loss_curve.svg"), lossCurveSvg(series, `loss — ${path.basename(path.resolve(out))}`));
  files.push("metrics.jsonl", "loss_curve.svg", "eval_split.jsonl");
  if (lastSamples.length) {
    // our engine's greedy answers to held-out prompts: what an exported GGUF should answer too
    await writeFile(path.join(out, "eval_answers.jsonl"), lastSamples.map((s) => JSON.stringify(s)).join("\n") + "\n");
    files.push("eval_answers.jsonl");
  }
  return files;
}

/**
 * What makes `out` a model folder that export, merge and `train --eval_only` take: the adapter (PEFT) or the full
 * model (HF layout), the tokenizer and the resolved settings. A run's output and each of its checkpoints have them.
 */
export async function writeModelFiles(run: PreparedRun, optimizer: OptimizerState, out: string): Promise<string[]> {
  const { config } = run;
  const files: string[] = [];
  if (run.lora) {
    await savePeftAdapter(
      out,
      loraAdapterOf(optimizer.params, optimizer.values, run.lora, config.base_model, Boolean(run.model.textTower)),
    );
    files.push("adapter_config.json", "adapter_model.safetensors");
  } else {
    await saveSafetensors(
      path.join(out, "model.safetensors"),
      optimizer.params.map((p) => ({ name: p.name, dtype: "F32" as const, shape: p.shape, data: optimizer.values.get(p.name)! })),
      { metadata: { format: "pt" } },
    );
    await writeDurable(path.join(out, "config.json"), JSON.stringify(run.rawModelConfig, null, 2) + "\n");
    files.push("config.json", "model.safetensors");
  }
  await saveTokenizer(out, { tokenizerJson: run.tokenizerFiles.tokenizer, tokenizerConfig: run.tokenizerFiles.config });
  files.push("tokenizer.json", "tokenizer_config.json");
  await writeDurable(path.join(out, "train_config.json"), JSON.stringify(config, null, 2) + "\n");
  files.push("train_config.json");
  return files;
}
