// `neural train --estimate_memory`: the memory estimate for a training config, with the model's shapes read from
// its config.json and checkpoint header (no weights are read; a model not on disk has only its config.json fetched).
// With `readData`, the dataset is prepared as the trainer prepares it, for the answer slots of the answer-only loss
// (the logits are answer slots × vocabulary); without, the logits are counted at every position (an upper bound).
import { downloadFile } from "@huggingface/hub";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ModelConfigError, parseConfig, type ModelConfig } from "./models/config.js";
import { openModel } from "./models/load.js";
import { PUBLISHED_CONFIGS } from "./models/published.js";
import type { WeightSource } from "./models/weights.js";
import { configWeights, estimateMemory, type MemoryEstimate } from "./memory.js";
import { preferenceSpecOf } from "./preference.js";
import { hubToken, isHubModelId, resolveModel, ModelSourceError, type ResolveModelOptions } from "./model-source.js";
import { scratchConfig } from "./scratch-model.js";
import { loraSpec } from "./setup.js";
import { TrainConfigError, type TrainConfig } from "./train-config.js";

export interface TrainingMemoryEstimate extends MemoryEstimate {
  model: ModelConfig;
  /** The largest shape bucket, which the estimate is for. */
  batch: number;
  seq: number;
  /** Which memory the figure is: the process's RAM (CPU) or, with a GPU provider, device memory (not measured). */
  device: "cpu" | "gpu";
  notes: string[];
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

async function modelShapes(
  config: TrainConfig,
  options: ResolveModelOptions,
): Promise<{ model: ModelConfig; weights: Pick<WeightSource, "names" | "shape">; notes: string[]; onDisk?: boolean }> {
  if (config.from_scratch) {
    const vocab = config.vocab_size ?? 4096;
    const model = parseConfig(scratchConfig({ ...config, vocab_size: vocab }, vocab, {}));
    return { model, weights: configWeights(model), notes: [`a new ${config.model_family} model with a ${vocab}-token vocabulary`] };
  }
  let spec = config.base_model!;
  if (await exists(path.join(spec, "adapter_config.json"))) {
    const adapter = JSON.parse(await readFile(path.join(spec, "adapter_config.json"), "utf8")) as { base_model_name_or_path?: string };
    if (!adapter.base_model_name_or_path) throw new TrainConfigError(`${spec}: adapter_config.json names no base model`);
    spec = adapter.base_model_name_or_path;
  }
  try {
    const resolved = await resolveModel(spec, { ...options, offline: true });
    const opened = await openModel(resolved.dir);
    const weights = { names: [...opened.source.names], shape: (n: string) => opened.source.shape(n) };
    await opened.close();
    return { model: opened.config, weights, notes: [`shapes from ${resolved.dir}`], onDisk: true };
  } catch (error) {
    if (!(error instanceof ModelSourceError) || (await exists(spec)) || !isHubModelId(spec)) throw error;
    const [repo, revision] = spec.split("@") as [string, string | undefined];
    // A preset's base model not on disk: its published config.json is built in.
    const published = revision === undefined ? PUBLISHED_CONFIGS[repo] : undefined;
    if (published) {
      const model = parseConfig(published, `${repo}/config.json`);
      return { model, weights: configWeights(model), notes: [`shapes from ${repo}'s config.json as published (built in; not downloaded)`] };
    }
    const offline = /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE ?? "") || options.offline;
    if (offline) throw error;
    // A hub id not on disk: its config.json alone says every shape.
    let response: Awaited<ReturnType<typeof downloadFile>>;
    try {
      response = await downloadFile({
        repo,
        path: "config.json",
        revision: revision ?? options.revision ?? "main",
        ...((options.hubUrl ?? process.env.HF_ENDPOINT) ? { hubUrl: options.hubUrl ?? process.env.HF_ENDPOINT } : {}),
        ...((options.accessToken ?? hubToken()) ? { accessToken: options.accessToken ?? hubToken() } : {}),
      });
    } catch (cause) {
      throw new ModelSourceError(
        `${repo}: not on disk, and its config.json could not be read from the hub (${(cause as Error).message}); pass a local directory to --base_model`,
      );
    }
    if (!response) throw new ModelSourceError(`${repo} has no config.json on the hub`);
    let json: unknown;
    try {
      json = JSON.parse(await response.text());
    } catch (cause) {
      throw new ModelConfigError(`not valid JSON: ${(cause as Error).message}`, `${repo}/config.json`);
    }
    const model = parseConfig(json, `${repo}/config.json`);
    return { model, weights: configWeights(model), notes: [`shapes from ${repo}'s config.json (hub)`] };
  }
}

/** Predict the peak memory of `neural train` with this config, before reading any weights or data. */
export async function estimateTrainingMemory(
  config: TrainConfig,
  options: { modelSource?: ResolveModelOptions; readData?: boolean } = {},
): Promise<TrainingMemoryEstimate> {
  const { model, weights, notes, onDisk } = await modelShapes(config, options.modelSource ?? {});
  // the answer slots need the model's tokenizer on disk and the dataset (a preference objective has none)
  let slots: { train: number; eval?: number } | undefined;
  let unread = "the dataset was not read";
  if (options.readData && !preferenceSpecOf(config) && onDisk && config.dataset && (await exists(config.dataset))) {
    try {
      slots = await answerSlots(config, options.modelSource);
    } catch (error) {
      unread = `the dataset could not be prepared (${(error as Error).message.split("\n")[0]})`;
    }
  }
  const seq = Math.min(config.max_length, model.maxPositions);
  const lora = config.use_lora ? loraSpec(config, model) : undefined;
  const estimate = estimateMemory({
    model,
    weights,
    batch: config.batch_size,
    seq,
    ...(lora ? { lora } : {}),
    qlora: config.use_qlora,
    recompute: config.gradient_checkpointing,
    gradientAccumulation: config.gradient_accumulation,
    evalBatch: config.validation_split > 0 ? config.eval_batch_size : 0,
    ...(preferenceSpecOf(config) ? { preference: preferenceSpecOf(config)! } : {}),
    ...(slots ? { answers: slots.train, ...(slots.eval !== undefined ? { evalAnswers: slots.eval } : {}) } : {}),
  });
  const gpu = config.device === "cuda" || config.device === "webgpu" || config.device === "coreml";
  const spec = preferenceSpecOf(config);
  notes.push(
    spec
      ? `for the largest shape bucket: ${config.batch_size} ${spec.method === "kto" ? "rows (each with its KL row)" : "pairs (chosen and rejected)"}, each a row of its prompt and both answers, at most ${2 * seq} tokens (a shared prompt makes it shorter)`
      : `for the largest shape bucket: batch ${config.batch_size} × ${seq} tokens (packing fills rows; shorter buckets need less)`,
  );
  if (!spec)
    notes.push(
      slots
        ? `answer-only loss: logits at most at ${slots.train} answer slots per micro-batch (the dataset as the trainer prepares it)`
        : `logits counted at every position (an upper bound): ${unread} for the answer-only loss's answer slots`,
    );
  if (spec && (spec.method === "dpo" || spec.method === "kto"))
    notes.push(`${spec.method}: the reference is the starting weights, run once before training; no second model in memory`);
  if (gpu)
    notes.push(`${config.device}: weights and activations would sit in device memory; this is the CPU figure, not measured on a GPU`);
  if (config.device === "auto") notes.push("device auto: this is the CPU figure (the GPU providers are not measured)");
  return { ...estimate, model, batch: config.batch_size, seq, device: gpu ? "gpu" : "cpu", notes };
}

/**
 * The answer slots the trainer would plan for this config's dataset (batching.ts): the most over the first epoch's
 * micro-batches, and over the eval split's batches.
 */
async function answerSlots(config: TrainConfig, modelSource?: ResolveModelOptions): Promise<{ train: number; eval?: number }> {
  // the trainer's own preparation (it pulls ONNX Runtime in: loaded only here)
  const { prepareRunFromFiles } = await import("./trainer.js");
  const { evalBatchesOf, batchesOf } = await import("./batching.js");
  const { run, close } = await prepareRunFromFiles(config, () => {}, modelSource);
  try {
    const most = (batches: readonly { answers?: number; batchSize: number; seqLen: number }[]) =>
      batches.reduce((m, b) => Math.max(m, b.answers ?? b.batchSize * b.seqLen), 0);
    const evalBatches = run.eval.length ? evalBatchesOf(run) : [];
    return { train: most(batchesOf(run, 0)), ...(evalBatches.length ? { eval: most(evalBatches) } : {}) };
  } finally {
    await close();
  }
}
