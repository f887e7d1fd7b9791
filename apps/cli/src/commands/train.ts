import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { Worker } from "node:worker_threads";
import {
  estimateTrainingMemory,
  formatMemoryEstimate,
  ModelSourceError,
  resolveTrainConfig,
  SETTING_GROUPS,
  SETTINGS,
  TrainConfigError,
  type Setting,
  type TrainConfig,
  type TrainEvent,
  type TrainResult,
} from "@neural/lora-trainer";
import { DatasetError, formatIssue, validateFile } from "@neural/dataset";
import { parse as parseYaml } from "yaml";
import type { OptionSpec } from "../args.js";
import { EXIT, type Command, type Io } from "../command.js";
import { fileSystemMessage, type FileSystemErrorFields } from "../fs-errors.js";
import { fetchModel, HF_TOKEN_OPTION, modelSourceMessage } from "../download.js";

/** One flag per setting, read from the settings table: flags and config files mirror each other. */
function settingOptions(): OptionSpec[] {
  const options = Object.entries(SETTINGS as Record<string, Setting>).map(([name, s]): OptionSpec => {
    const schema = s.schema as { type?: string; enum?: readonly string[] };
    const type =
      schema.type === "boolean"
        ? "boolean"
        : schema.type === "number" || schema.type === "integer"
          ? "number"
          : schema.type === "array"
            ? "string[]"
            : "string";
    return {
      name,
      type,
      description: s.help,
      group: s.group,
      ...(s.default !== undefined ? { default: s.default as OptionSpec["default"] } : {}),
      ...(s.unset !== undefined ? { unset: s.unset } : {}),
      ...(schema.enum ? { choices: schema.enum } : {}),
    };
  });
  const order = SETTING_GROUPS as readonly string[];
  return options.sort((a, b) => order.indexOf(a.group!) - order.indexOf(b.group!));
}

export const trainCommand: Command = {
  name: "train",
  options: [
    { name: "config", type: "string", description: "a YAML or JSON config file whose keys are these flags' names", unset: "none" },
    ...settingOptions(),
    { name: "eval_only", type: "boolean", description: "evaluate the model on the eval split and exit", group: "evaluation" },
    { name: "estimate_memory", type: "boolean", description: "print the memory the run would need and exit", group: "device" },
    {
      name: "skip_memory_check",
      type: "boolean",
      description: "train even when the estimated peak memory exceeds this machine's RAM",
      group: "device",
    },
    { ...HF_TOKEN_OPTION, group: "model" },
  ],
  async run(args, io) {
    const o = args.options;
    let file: Record<string, unknown> | undefined;
    const fileName = o.config as string | undefined;
    if (fileName !== undefined) {
      let text: string;
      try {
        text = await readFile(fileName, "utf8");
      } catch (error) {
        io.err(
          `neural train: --config ${fileName}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message}`,
        );
        return EXIT.problems;
      }
      try {
        const parsed = fileName.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("expected a mapping of settings");
        file = parsed as Record<string, unknown>;
      } catch (error) {
        io.err(`neural train: --config ${fileName}: ${(error as Error).message}`);
        return EXIT.usage;
      }
    }
    const flags: Partial<TrainConfig> = {};
    for (const name of args.given) if (name in SETTINGS) (flags as Record<string, unknown>)[name] = o[name];
    let config: TrainConfig;
    try {
      const resolved = resolveTrainConfig({ ...(file ? { file, fileName } : {}), flags });
      config = resolved.config;
      for (const note of resolved.notes) io.err(`note: ${note}`);
    } catch (error) {
      if (error instanceof TrainConfigError) {
        io.err(`neural train: ${error.message}`);
        return EXIT.usage;
      }
      throw error;
    }
    if (o.estimate_memory) {
      const e = await estimateTrainingMemory(config, { readData: true });
      io.out(
        `estimated peak memory of this run (${e.device === "cpu" ? "RAM, CPU" : `${config.device}: the CPU figure, unmeasured on GPUs`}): ${(e.peakBytes / 2 ** 30).toFixed(2)} GiB`,
      );
      io.out(formatMemoryEstimate(e));
      for (const note of e.notes) io.out(`note: ${note}`);
      return EXIT.ok;
    }
    // The heimdall presets train on the Heimdall pack (neural generate heimdall) when no dataset is named.
    const presetName = (flags as { preset?: string }).preset ?? (file?.preset as string | undefined);
    if (presetName?.startsWith("heimdall") && flags.dataset === undefined && file?.dataset === undefined) {
      config = { ...config, dataset: HEIMDALL_PACK };
      if (!existsSync(HEIMDALL_PACK)) {
        const { heimdallGenerator } = await import("@neural/generator-heimdall");
        const { runGenerator } = await import("@neural/generators");
        io.err(
          `no --dataset: generating the Heimdall pack (neural generate heimdall --count ${heimdallGenerator.defaultCount} --seed ${config.seed}) into ${HEIMDALL_PACK}`,
        );
        await runGenerator(heimdallGenerator, { count: heimdallGenerator.defaultCount, seed: config.seed, output: HEIMDALL_PACK });
      } else io.err(`no --dataset: training on the Heimdall pack ${HEIMDALL_PACK}`);
    }
    // The dataset is read and checked before anything is downloaded; then the base model comes into the cache here,
    // where its progress can be drawn (the trainer then finds it there).
    const datasetProblem = await checkDataset(config.dataset, io);
    if (datasetProblem !== undefined) return datasetProblem;
    if (!config.from_scratch) {
      try {
        await fetchModel(config.base_model!, io, { token: o.hf_token as string | undefined });
      } catch (error) {
        io.status("");
        if (error instanceof ModelSourceError) {
          io.err(`neural train: ${modelSourceMessage(error)}`);
          return EXIT.problems;
        }
        throw error;
      }
    }
    // The model folder is checked (config.json against its tensors) and its memory against the machine's before
    // the worker starts: the upper bound first (logits at every position), then, only when that does not fit, the
    // figure with the answer-only loss's answer slots read from the data.
    let estimate = await estimateTrainingMemory(config);
    if (estimate.device === "cpu" && estimate.peakBytes > totalmem()) estimate = await estimateTrainingMemory(config, { readData: true });
    if (estimate.device === "cpu" && estimate.peakBytes > totalmem() && !o.skip_memory_check) {
      const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
      io.err(
        `neural train: this run needs about ${gib(estimate.peakBytes)} of memory and the machine has ${gib(totalmem())}: lower --batch_size or --max_length, ` +
          "add --gradient_checkpointing or --use_qlora (see neural train --estimate_memory), or pass --skip_memory_check to try anyway",
      );
      return EXIT.problems;
    }
    const { code } = await trainInWorker(config, io, { evalOnly: o.eval_only === true });
    return code;
  },
};

/** Where the heimdall presets' default dataset is written (the generator's own default output). */
const HEIMDALL_PACK = "data/heimdall.jsonl";

/** Reads the whole dataset once; an unreadable file or one without a single usable record stops the run here. */
async function checkDataset(file: string, io: Io): Promise<number | undefined> {
  try {
    const report = await validateFile(file, {
      maxShown: 3,
      onProgress: (n) => io.status(`checking ${file}: ${n.toLocaleString("en-US")} records`),
    });
    io.status("");
    if (report.valid > 0) return undefined;
    io.err(`neural train: ${file}: no usable record${report.records ? ` in ${report.records}` : " (the file is empty)"}`);
    for (const issue of report.errors.shown) io.err(`  ${formatIssue(issue)}`);
    return EXIT.problems;
  } catch (error) {
    io.status("");
    if (error instanceof DatasetError) {
      io.err(`neural train: ${error.message}`);
      return EXIT.problems;
    }
    throw error;
  }
}

/** Trains in a worker thread with a live progress display; Ctrl-C stops after a checkpoint. */
export async function trainInWorker(
  config: TrainConfig,
  io: Io,
  options: { evalOnly?: boolean } = {},
): Promise<{ code: number; result?: TrainResult }> {
  // From the TypeScript sources (pnpm neural ...), the worker needs tsx's loader too; the built CLI runs plain JS.
  const fromSources = import.meta.url.endsWith(".ts");
  const worker = fromSources
    ? new Worker(new URL("../dev-worker.mjs", import.meta.url), {
        workerData: { config, evalOnly: options.evalOnly, module: new URL("../train-worker.ts", import.meta.url).href },
        execArgv: ["--conditions=source"],
      })
    : new Worker(new URL("./train-worker.js", import.meta.url), { workerData: { config, evalOnly: options.evalOnly } });
  const progress = new Progress(io, config.logging_steps);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      io.status("");
      io.err("stopping: saving a checkpoint (Ctrl-C again to quit at once)");
      worker.postMessage({ type: "stop" });
    } else void worker.terminate();
  };
  process.on("SIGINT", onSigint);
  try {
    type WorkerError = { name: string; message: string; stack?: string } & FileSystemErrorFields;
    const outcome = await new Promise<{ result?: TrainResult; error?: WorkerError }>((resolve) => {
      worker.on("message", (message: TrainEvent | { type: "result"; result: TrainResult } | ({ type: "error" } & WorkerError)) => {
        if (message.type === "result") resolve({ result: message.result });
        else if (message.type === "error") resolve({ error: message });
        else progress.event(message);
      });
      worker.on("error", (error) =>
        resolve({ error: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) } }),
      );
      worker.on("exit", (code) => resolve({ error: { name: "WorkerExit", message: `training stopped (exit code ${code})` } }));
    });
    io.status("");
    if (outcome.error) {
      const builtin = ["Error", "TypeError", "RangeError", "ReferenceError"].includes(outcome.error.name);
      const fsMessage = fileSystemMessage(outcome.error);
      io.err(`neural train: ${fsMessage ?? (builtin ? (outcome.error.stack ?? outcome.error.message) : outcome.error.message)}`);
      return { code: EXIT.problems };
    }
    const r = outcome.result!;
    const e = r.lastEval;
    io.out(
      `${options.evalOnly ? "evaluated" : r.stopped === "completed" ? "done" : r.stopped.replace("_", " ")}${options.evalOnly ? "" : ` after ${r.steps} steps`}` +
        (e
          ? `; eval loss ${e.loss.toFixed(4)}, perplexity ${e.perplexity.toFixed(2)}, token accuracy ${(100 * e.accuracy).toFixed(1)}%${e.exactMatch !== undefined ? `, exact match ${(100 * e.exactMatch).toFixed(1)}%` : ""}`
          : ""),
    );
    if (r.files.length) io.out(`wrote ${r.files.map((f) => `${r.outputDir}/${f}`).join(", ")}`);
    return { code: r.stopped === "diverged" ? EXIT.problems : EXIT.ok, result: r };
  } finally {
    process.off("SIGINT", onSigint);
    await worker.terminate();
  }
}

class Progress {
  constructor(
    private io: Io,
    private every: number,
  ) {}

  event(e: TrainEvent): void {
    switch (e.type) {
      case "info":
        this.line(e.message);
        break;
      case "warning":
        this.line(`warning: ${e.message}`);
        for (const issue of e.issues ?? []) this.line(`  ${formatIssue(issue)}`);
        break;
      case "start":
        this.line(
          `training ${e.mode === "lora" ? "LoRA adapters" : "all weights"}: ${e.trainableParameters.toLocaleString("en-US")} of ${e.totalParameters.toLocaleString("en-US")} parameters; ` +
            `${e.trainExamples} train / ${e.evalExamples} eval examples; ${e.totalSteps} steps${e.startStep ? ` (resuming at ${e.startStep})` : ""}`,
        );
        break;
      case "step": {
        const margin = e.metrics?.["rewards/margins"];
        const text =
          `step ${e.step}/${e.totalSteps} ${bar(e.step / e.totalSteps)} loss ${e.loss.toFixed(4)}${margin !== undefined ? ` margin ${margin.toFixed(3)}` : ""} lr ${e.lr.toExponential(2)} ` +
          `${Math.round(e.tokensPerSecond).toLocaleString("en-US")} tok/s pad ${(100 * e.paddingShare).toFixed(1)}% ETA ${duration(e.etaSeconds)}`;
        if (this.io.isTTY) this.io.status(text);
        else if (e.step % this.every === 0 || e.step === e.totalSteps) this.io.err(text);
        break;
      }
      case "eval":
        if (e.metrics) {
          const m = e.metrics;
          const accuracy = m["rewards/accuracies"] !== undefined ? `, reward accuracy ${(100 * m["rewards/accuracies"]).toFixed(1)}%` : "";
          this.line(
            `eval @ ${e.step}: loss ${e.loss.toFixed(4)}, rewards chosen ${m["rewards/chosen"]!.toFixed(3)} / rejected ${m["rewards/rejected"]!.toFixed(3)}, margin ${m["rewards/margins"]!.toFixed(3)}${accuracy}`,
          );
          break;
        }
        this.line(
          `eval @ ${e.step}: loss ${e.loss.toFixed(4)}, perplexity ${e.perplexity.toFixed(2)}, token accuracy ${(100 * e.accuracy).toFixed(1)}%` +
            (e.exactMatch !== undefined ? `, exact match ${(100 * e.exactMatch).toFixed(1)}%` : ""),
        );
        break;
      case "checkpoint":
        break;
    }
  }

  private line(text: string): void {
    this.io.status("");
    this.io.err(text);
  }
}

function bar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`;
}
