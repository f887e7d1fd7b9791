// Training in memory on any ONNX Runtime: a dataset's bytes in, a GGUF (and safetensors, tokenizer, PEFT adapter)
// out as bytes. The setup, the loop and the evaluation are @neural/lora-trainer's, as `neural train` runs them;
// this adapter reads the dataset from bytes, keeps everything in memory and exports at the end.
import { type TokenizerFiles } from "@neural/dataset";
import {
  batchesOf,
  evaluate,
  GraphRunner,
  initialLoopState,
  initialValues,
  memoryStore,
  OptimizerState,
  optimizerSpec,
  prepareRun,
  resolveTrainConfig,
  runGraphs,
  runnerNotes,
  stepProgress,
  totalSteps,
  trainableParams,
  trainLoop,
  TrainConfigError,
  type BaseModel,
  type EvalResult,
  type EvalSample,
  type OrtModule,
  type StepProgress,
  type StepReport,
  type StopReason,
  type TrainConfig,
} from "@neural/lora-trainer";
import { formatIssue, readDataset, validateDataset, type DatasetInput } from "./data.js";
import { exportModel, type ExportSettings, type OutputFile } from "./export.js";
import { WebTrainerError, type SessionSettings } from "./runtime.js";

export type { BaseModel, EvalSample };

export type WebTrainEvent =
  | { type: "info" | "warning"; message: string }
  /** Invalid records, each as `neural validate` prints it (file:line:column: field: message). */
  | { type: "issues"; issues: string[]; invalid: number; records: number }
  | {
      type: "start";
      mode: "lora" | "full";
      provider: string;
      vocabSize: number;
      trainableParameters: number;
      totalParameters: number;
      trainExamples: number;
      evalExamples: number;
      totalSteps: number;
    }
  | ({ type: "step" } & StepProgress & Pick<StepReport, "tokens" | "seconds">)
  | ({ type: "eval"; step: number } & EvalResult)
  | { type: "export"; message: string };

export interface WebTrainOptions {
  /** The ONNX Runtime module: `onnxruntime-web` in a browser, `onnxruntime-node` in Node. */
  ort: OrtModule;
  /** Execution providers tried in order (default ["wasm"]) and other session options. */
  session?: SessionSettings;
  dataset: DatasetInput;
  /**
   * Settings with `neural train`'s names and meanings (learning_rate, max_steps, batch_size, max_length, hidden_size,
   * num_hidden_layers, lora_r, ...). Without `base`, a model is made from scratch (hidden_size, num_hidden_layers,
   * num_attention_heads, intermediate_size needed) with a new BPE tokenizer of vocab_size tokens (default 512).
   */
  settings: Partial<TrainConfig>;
  /** LoRA on this model instead of a new one. */
  base?: BaseModel;
  /** The tokenizer of a from-scratch model (default: trained on the dataset). */
  tokenizer?: TokenizerFiles;
  /** GGUF type and name of the result. */
  export?: ExportSettings;
  /** How many eval examples get a generated answer at each evaluation (default 16). */
  evalSamples?: number;
  onEvent?: (event: WebTrainEvent) => void;
  signal?: AbortSignal;
}

export interface WebTrainResult {
  steps: number;
  stopped: StopReason;
  provider: string;
  /** The training loss of every step. */
  losses: number[];
  lastEval?: EvalResult;
  /** Tokens per second over all steps but the first (which includes creating the session). */
  tokensPerSecond: number;
  /** The GGUF, the model (or adapter) in Hugging Face's layout, the tokenizer and the settings. */
  files: OutputFile[];
  config: TrainConfig;
}

/** Train, evaluate and export, all in memory. Throws DatasetError, TrainConfigError or WebTrainerError. */
export async function trainInMemory(options: WebTrainOptions): Promise<WebTrainResult> {
  const emit = options.onEvent ?? (() => {});
  const { base } = options;
  const file = options.dataset.name;
  const { config, notes } = resolveTrainConfig({
    flags: {
      vocab_size: base ? undefined : 512,
      ...options.settings,
      dataset: file,
      output_dir: "(memory)",
      ...(base ? { base_model: base.name, from_scratch: false } : { from_scratch: true }),
    },
  });
  for (const note of notes) emit({ type: "info", message: note });
  if (config.use_qlora)
    throw new TrainConfigError("use_qlora: 4-bit base weights are not available here; train LoRA on the full-precision base");
  if (config.method !== "sft")
    throw new TrainConfigError(
      `method ${config.method}: preference tuning runs in the CLI (neural train --method ${config.method}); here only sft`,
    );
  const events = await readDataset(options.dataset);
  const report = await validateDataset(events, file, { maxShown: 50 });
  if (report.errors.total)
    emit({ type: "issues", issues: report.errors.shown.map(formatIssue), invalid: report.errors.total, records: report.records });
  const records = async function* () {
    yield* events;
  };
  const run = await prepareRun(
    {
      config,
      dataset: { name: file, records },
      ...(base ? { base } : {}),
      ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}),
      smallestBucket: 32,
      maxShapes: 4,
    },
    emit,
  );

  const params = trainableParams(run.model, run.source, run.lora);
  const optimizer = new OptimizerState(params, await initialValues(run, params), optimizerSpec(config));
  const runner = await GraphRunner.open({
    ort: options.ort,
    store: memoryStore(),
    session: { executionProviders: ["wasm"], ...options.session },
    precision: "float32",
    build: runGraphs(run),
  });
  for (const note of runnerNotes(runner)) emit(note);
  const samples = options.evalSamples ?? 16;
  const evaluateNow = () => evaluate(run, runner, optimizer.feeds(), { samples, decodeBatch: samples });
  const batches = (epoch: number) => batchesOf(run, epoch);
  const loop = {
    settings: config,
    totalSteps: totalSteps(config, batches(0).length),
    batches,
    optimizer,
    state: initialLoopState(""), // nothing to resume from in memory
    ...(run.eval.length > 0 ? { evaluate: evaluateNow } : {}),
  };
  const losses: number[] = [];
  let timed = { tokens: 0, seconds: 0 };
  let outcome: { stopped: StopReason; lastEval?: EvalResult };
  try {
    emit({
      type: "start",
      mode: run.lora ? "lora" : "full",
      provider: runner.provider,
      vocabSize: run.tokenizer.vocabSize,
      trainableParameters: params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
      totalParameters: run.source.names.reduce((n, name) => n + run.source.shape(name).reduce((a, b) => a * b, 1), 0),
      trainExamples: run.train.length,
      evalExamples: run.eval.length,
      totalSteps: loop.totalSteps,
    });
    outcome = await trainLoop(loop, runner, {
      onStep(r) {
        losses.push(r.loss);
        if (r.step > 1) timed = { tokens: timed.tokens + r.tokens, seconds: timed.seconds + r.seconds };
        emit({
          type: "step",
          ...stepProgress(r),
          tokens: r.tokens,
          seconds: r.seconds,
        });
      },
      onEval: (step, e) => emit({ type: "eval", step, ...e }),
      onNote: emit,
      shouldStop: () => options.signal?.aborted === true,
    });
    // a run that stopped early is still scored on the weights it ends with
    if (outcome.stopped !== "completed" && loop.state.step > 0 && loop.evaluate) outcome.lastEval = await loop.evaluate();
  } finally {
    await runner.release();
  }

  const steps = loop.state.step;
  if (steps === 0)
    throw new WebTrainerError(
      outcome.stopped === "interrupted" ? "stopped before the first step" : "the first step diverged: nothing to export",
    );
  emit({ type: "export", message: "writing the model and its GGUF" });
  const files = await exportModel(
    {
      name: run.name,
      rawConfig: run.rawModelConfig,
      source: run.source,
      params,
      values: optimizer.values,
      tokenizer: run.tokenizerFiles,
      settings: config,
      ...(run.lora ? { lora: run.lora } : {}),
    },
    options.export ?? {},
    (message) => emit({ type: "export", message }),
  );
  return {
    steps,
    stopped: outcome.stopped,
    provider: runner.provider,
    losses,
    ...(outcome.lastEval ? { lastEval: outcome.lastEval } : {}),
    tokensPerSecond: timed.seconds > 0 ? timed.tokens / timed.seconds : Number.NaN,
    files,
    config,
  };
}
