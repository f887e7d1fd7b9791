// What a Node training run leaves in its output directory besides checkpoints: the held-out split, metrics.jsonl,
// the adapter (PEFT) or the full model (HF layout), the tokenizer, the resolved settings, the loss curve and the
// engine's answers to the held-out prompts.
import { saveTokenizer, type PreparedExample } from "@neural/dataset";
import { saveSafetensors } from "@neural/safetensors";
import { appendFile, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { writeDurable } from "./checkpoint.js";
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
        ? { messages: e.example.messages.map(({ role, content }) => ({ role, content })), ...(e.example.category !== undefined ? { category: e.example.category } : {}) }
        : { text: e.example.text },
    ),
  );
  await writeFile(path.join(outputDir, "eval_split.jsonl"), lines.join("\n") + (lines.length ? "\n" : ""));
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

  /** A resumed run rewrites what came after its checkpoint. */
  async truncate(step: number): Promise<void> {
    const text = await readFile(this.path, "utf8").catch(() => "");
    const kept = text.split("\n").filter((line) => line && (JSON.parse(line) as { step: number }).step <= step);
    await writeFile(this.path, kept.map((l) => l + "\n").join(""));
  }

  remove(): Promise<void> {
    return rm(this.path, { force: true });
  }

  async records(): Promise<Record<string, number | string>[]> {
    return (await readFile(this.path, "utf8").catch(() => "")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
  }
}

/** The adapter (PEFT) or the full model (HF directory), the tokenizer, the resolved config and the loss curve. */
export async function writeOutputs(run: PreparedRun, optimizer: OptimizerState, metrics: MetricsFile, lastSamples: readonly EvalSample[]): Promise<string[]> {
  const { config } = run;
  const out = config.output_dir;
  const files: string[] = [];
  if (run.lora) {
    await savePeftAdapter(out, loraAdapterOf(optimizer.params, optimizer.values, run.lora, config.base_model, Boolean(run.model.textTower)));
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

  const lines = await metrics.records();
  const series = [
    { name: "train loss", color: "#1f77b4", points: lines.filter((l) => l.type === "train").map((l) => ({ step: l.step as number, value: l.loss as number })) },
    { name: "eval loss", color: "#d62728", points: lines.filter((l) => l.type === "eval").map((l) => ({ step: l.step as number, value: l.loss as number })) },
  ];
  // a preference run's reward margin (chosen − rejected) and accuracy beside its loss
  if (lines.some((l) => "rewards/margins" in l)) {
    const curve = (type: string, key: string) => lines.filter((l) => l.type === type && key in l).map((l) => ({ step: l.step as number, value: l[key] as number }));
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
