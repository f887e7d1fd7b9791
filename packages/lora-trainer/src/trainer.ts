// The Node trainer: the files a config names (a model directory, hub id or adapter directory; a dataset file) are
// opened and checked (setup.ts), the loop (loop.ts) runs on onnxruntime-node with its graphs in one shared weights
// file, and around it checkpoints are written atomically every save_steps, metrics.jsonl and the loss curve, and
// the adapter or model at the end. A resumed run continues bit for bit where it stopped.
import { readRecordsFromFile, readTokenizerFiles, type TokenizerFiles } from "@neural/dataset";
import { SharedWeights } from "@neural/graph/node";
import { checkTokenizerIds } from "@neural/hf-config";
import { removeDeadTempFiles } from "@neural/safetensors";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { batchesOf, paddingShare } from "./batching.js";
import { cachedStore, defaultGraphCacheDir, graphCacheKey, modelFilesFingerprint } from "./graph-cache.js";
import {
  checkpointsDir,
  findResume,
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  removeCheckpointsAfter,
  saveCheckpoint,
} from "./checkpoint.js";
import { evaluate, type EvalResult, type EvalSample } from "./evaluation.js";
import {
  initialLoopState,
  totalSteps,
  trainLoop,
  stepProgress,
  type LoopState,
  type StepProgress,
  type StopReason,
  type TrainingRun,
} from "./loop.js";
import { resolveModel, type ResolveModelOptions } from "./model-source.js";
import { openModel } from "./models/load.js";
import { OptimizerState, optimizerSpec } from "./optimizer.js";
import { lockOutputDir, MetricsFile, writeEvalSplit, writeModelFiles, writeOutputs } from "./outputs.js";
import { loadPeftAdapter } from "./peft.js";
import { chooseProviders, nodeGarbageCollector, sessionOptions, setMallocForRun } from "./runtime.js";
import { GraphRunner, runnerNotes, type GraphStore } from "./sessions.js";
import { initialValues, prepareRun, runGraphs, type BaseModel, type Note, type PreparedRun } from "./setup.js";
import { resumeDifferences, resumeKey, TrainConfigError, type TrainConfig } from "./train-config.js";
import { trainableParams, trainableValueCount } from "./train-step.js";
import { undoStoreFor } from "./undo-file.js";
import {
  evaluatePreference,
  objectiveFeeds,
  preferenceBatches,
  preferenceEvalRows,
  stepMetrics,
  type PreferenceBatch,
} from "./preference-run.js";
import { ensureReference } from "./reference-cache.js";

export type TrainEvent =
  | Note
  | {
      type: "start";
      mode: "lora" | "full";
      trainableParameters: number;
      totalParameters: number;
      trainExamples: number;
      evalExamples: number;
      totalSteps: number;
      startStep: number;
    }
  | ({ type: "step"; etaSeconds: number; paddingShare: number; metrics?: Record<string, number> } & StepProgress)
  | ({ type: "eval"; step: number } & EvalResult)
  | { type: "checkpoint"; step: number; dir: string };

export interface TrainOptions {
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
  /** Where base models come from (cache dir, offline, hub address). */
  modelSource?: ResolveModelOptions;
  /** How many eval examples get an exact-match generation (default 64). */
  exactMatchSamples?: number;
  /** Evaluate the model (base_model, or an adapter directory) on the eval split and return, without training. */
  evalOnly?: boolean;
  /** Where built graphs are kept for the next run of the same model and settings (graph-cache.ts); false: nowhere. Default: defaultGraphCacheDir(). */
  graphCache?: string | false;
  /** Keep the state that undoes a diverged step in a scratch file instead of memory. Default: when the trainable state reaches 64 MiB (full fine-tuning). */
  undoInFile?: boolean;
}

export interface TrainResult {
  outputDir: string;
  steps: number;
  stopped: StopReason;
  /** The last evaluation, with our engine's greedy answers to the held-out prompts (up to exactMatchSamples). */
  lastEval?: EvalResult;
  bestEvalLoss: number | null;
  bestStep: number | null;
  files: string[];
  /** Graphs this run built, and the seconds spent building them and writing them and their weights and opening sessions (graphs from the cache only open). */
  graphs?: { built: number; buildSeconds: number; openSeconds: number };
}

export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const emit = options.onEvent ?? (() => {});
  const { run, close, modelDir } = await prepareRunFromFiles(config, emit, options.modelSource);
  try {
    return await trainPrepared(run, emit, options, modelDir);
  } finally {
    await close();
  }
}

/** Opens what a config names (base model or adapter directory, tokenizer, dataset file) and prepares the run. */
export async function prepareRunFromFiles(
  requested: TrainConfig,
  emit: (e: Note) => void,
  modelSource?: ResolveModelOptions,
): Promise<{ run: PreparedRun; close(): Promise<void>; modelDir?: string }> {
  let config = requested;
  let base: BaseModel | undefined;
  let tokenizer: TokenizerFiles | undefined;
  let close = async () => {};
  let modelDir: string | undefined;
  if (config.from_scratch) {
    if (config.tokenizer) tokenizer = await readTokenizerFiles(config.tokenizer);
  } else {
    // A PEFT adapter directory stands for its base model plus the adapter (to evaluate it, or train it further).
    const adapter = (await isFile(path.join(config.base_model!, "adapter_config.json")))
      ? await loadPeftAdapter(config.base_model!)
      : undefined;
    let tokenizerDir: string | undefined;
    if (adapter) {
      if (!adapter.baseModel)
        throw new TrainConfigError(`${config.base_model}: adapter_config.json names no base model (base_model_name_or_path)`);
      emit({ type: "info", message: `adapter ${config.base_model} (r ${adapter.rank}, alpha ${adapter.alpha}) on ${adapter.baseModel}` });
      if (await isFile(path.join(config.base_model!, "tokenizer.json"))) tokenizerDir = config.base_model!;
      config = {
        ...config,
        base_model: adapter.baseModel,
        use_lora: true,
        lora_r: adapter.rank,
        lora_alpha: adapter.alpha,
        use_rslora: adapter.rsLora,
        lora_target_modules: adapter.targetModules,
      };
    }
    const resolved = await resolveModel(config.base_model!, {
      ...modelSource,
      onProgress: (p) =>
        emit({
          type: "info",
          message: `downloading ${p.file}: ${(p.bytes / 2 ** 20).toFixed(0)} of ${(p.totalBytes / 2 ** 20).toFixed(0)} MiB`,
        }),
    });
    emit({ type: "info", message: `base model: ${resolved.dir}${resolved.source === "download" ? " (downloaded)" : ""}` });
    const opened = await openModel(resolved.dir);
    modelDir = resolved.dir;
    close = opened.close;
    try {
      const tokenizerFrom = config.tokenizer ?? tokenizerDir ?? resolved.dir;
      const tokenizerFiles = await readTokenizerFiles(tokenizerFrom);
      checkTokenizerIds(
        tokenizerFiles.tokenizer,
        opened.config.vocabSize,
        path.join(tokenizerFrom, "tokenizer.json"),
        path.join(resolved.dir, "config.json"),
      );
      base = {
        name: config.base_model!,
        config: opened.rawConfig,
        weights: opened.source,
        textTower: opened.config.textTower,
        tokenizer: tokenizerFiles,
        ...(adapter ? { adapter } : {}),
      };
    } catch (error) {
      await close();
      throw error;
    }
  }
  const dataset = { name: config.dataset, records: () => readRecordsFromFile(config.dataset) };
  try {
    const run = await prepareRun({ config, dataset, ...(base ? { base } : {}), ...(tokenizer ? { tokenizer } : {}) }, emit);
    return { run, close, ...(modelDir ? { modelDir } : {}) };
  } catch (error) {
    await close();
    throw error;
  }
}

const isFile = (p: string) =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/** Graphs written into one shared weights file: the frozen weights exist once on disk, and ORT maps one file. */
export function fileStore(dir: string): GraphStore {
  const weights = new SharedWeights(dir);
  return { reopens: true, save: async (graph, name) => ({ model: await weights.save(graph, `${name}.onnx`) }) };
}

/**
 * The graph cache's store for a run: keyed by what runGraphs(run) reads (the model and its weight files, LoRA,
 * QLoRA, checkpointing) and the graph code; without a cache, graphs written into `workDir` for this run only.
 */
function graphStore(run: PreparedRun, workDir: string, cache: string | false | undefined, modelDir: string | undefined) {
  const root = cache === undefined ? defaultGraphCacheDir() : cache || undefined;
  if (!root) return { store: fileStore(workDir), release: async () => {} };
  const shapes = {
    model: run.model,
    weights: modelDir ? modelFilesFingerprint(modelDir) : { scratch: run.rawModelConfig, seed: run.config.seed },
    lora: run.lora ?? null,
    qlora: run.config.use_qlora,
    recompute: run.config.gradient_checkpointing,
    preference: run.preference?.spec ?? null,
  };
  const store = cachedStore(root, graphCacheKey(shapes), workDir);
  return { store, release: () => store.release() };
}

async function trainPrepared(
  run: PreparedRun,
  emit: (e: TrainEvent) => void,
  options: TrainOptions,
  modelDir?: string,
): Promise<TrainResult> {
  const { config } = run;
  const outputDir = config.output_dir;
  await mkdir(outputDir, { recursive: true });
  const unlock = await lockOutputDir(outputDir);
  try {
    return await trainLocked(run, emit, options, modelDir);
  } finally {
    await unlock();
  }
}

async function trainLocked(
  run: PreparedRun,
  emit: (e: TrainEvent) => void,
  options: TrainOptions,
  modelDir?: string,
): Promise<TrainResult> {
  const { config } = run;
  const outputDir = config.output_dir;
  setMallocForRun({ fullFineTuning: !run.lora, gradientCheckpointing: config.gradient_checkpointing });
  // With the lock held, a temporary file here belongs to a run that died while writing it.
  await removeDeadTempFiles(outputDir);
  await removeDeadTempFiles(checkpointsDir(outputDir));
  const workDir = path.join(outputDir, ".graphs");
  await rm(workDir, { recursive: true, force: true });
  await writeEvalSplit(outputDir, run.eval);
  const metrics = new MetricsFile(outputDir);

  const params = trainableParams(run.model, run.source, run.lora);
  const undo = undoStoreFor(params, workDir, options.undoInFile);
  if (undo.note) emit({ type: "info", message: undo.note });
  const optimizer = new OptimizerState(params, await initialValues(run, params), optimizerSpec(config), undo.store);
  let state: LoopState = initialLoopState(resumeKey(config));
  if (config.resume) {
    const dir = await findResume(outputDir, config.resume);
    if (!dir) {
      emit({ type: "info", message: `--resume ${config.resume}: no checkpoint in ${outputDir}; starting from the beginning` });
      await metrics.remove();
    } else {
      const loaded = await loadCheckpoint(dir);
      if (loaded.state.configHash !== state.configHash) {
        const saved = await readFile(path.join(dir, "train_config.json"), "utf8").then(
          (t) => JSON.parse(t) as Record<string, unknown>,
          () => undefined,
        );
        const differences = saved ? resumeDifferences(saved, config) : [];
        throw new TrainConfigError(
          `${dir} was made with other settings (${differences.length ? differences.join(", ") : "model, data, batch shape, optimizer or seed changed"}); ` +
            "resume with the same settings or start a new --output_dir",
        );
      }
      optimizer.load(loaded.tensors, dir);
      state = loaded.state;
      emit({ type: "info", message: `resumed from ${dir} (step ${state.step}, epoch ${state.epoch + 1}, batch ${state.batchInEpoch})` });
      await metrics.truncate(state.step);
    }
  } else if (!options.evalOnly) await metrics.remove();

  const choice = chooseProviders(config.device);
  for (const s of choice.skipped) emit({ type: "info", message: `not using ${s.provider}: ${s.reason}` });
  const graphs = graphStore(run, workDir, options.graphCache, modelDir);
  const runner = await GraphRunner.open({
    ort,
    store: graphs.store,
    session: sessionOptions(choice.providers, config.threads),
    // generation runs on one thread unless --threads says otherwise
    sessionFor: (kind) => (kind === "decode" && config.threads === undefined ? { intraOpNumThreads: 1 } : {}),
    precision: "auto",
    build: runGraphs(run),
    collectGarbage: nodeGarbageCollector(),
  });
  for (const note of runnerNotes(runner)) emit(note);
  const preference = run.preference;
  if (preference) {
    // the reference is the model as the run starts: the optimizer's values before a resume loads a checkpoint's
    const fresh = state.step === 0;
    await ensureReference(
      run,
      preference,
      runner,
      outputDir,
      async () => (fresh ? optimizer.feeds() : Object.fromEntries(await initialValues(run, params))),
      emit,
    );
    await writeFile(
      path.join(outputDir, "eval_split.jsonl"),
      preferenceEvalRows(preference)
        .map((l) => l + "\n")
        .join(""),
    );
  }
  const evaluateNow = () =>
    preference
      ? evaluatePreference(run, preference, runner, optimizer.feeds())
      : evaluate(run, runner, optimizer.feeds(), { samples: options.exactMatchSamples ?? 64 });

  try {
    if (options.evalOnly) {
      if ((preference?.eval.length ?? run.eval.length) === 0)
        throw new TrainConfigError("--eval_only needs an eval split: --validation_split is 0");
      const e = await evaluateNow();
      emit({ type: "eval", step: state.step, ...e });
      return { outputDir, steps: state.step, stopped: "completed", lastEval: e, bestEvalLoss: null, bestStep: null, files: [] };
    }
    const batches = (epoch: number) => (preference ? preferenceBatches(run, preference, epoch) : batchesOf(run, epoch));
    const firstEpoch = batches(0);
    const shapes = new Set(firstEpoch.map((b) => `${b.batchSize}x${b.seqLen}`)).size;
    emit({
      type: "info",
      message: `batches: ${shapes} shape${shapes === 1 ? "" : "s"}, ${(100 * paddingShare(firstEpoch)).toFixed(1)}% of the first epoch's slots are padding`,
    });
    const loop: TrainingRun = {
      ...(preference
        ? { objectiveFeeds: (batch, group) => objectiveFeeds(preference.spec, batch as PreferenceBatch, group as PreferenceBatch[]) }
        : {}),
      settings: config,
      totalSteps: totalSteps(config, firstEpoch.length),
      batches,
      optimizer,
      state,
      ...((preference?.eval.length ?? run.eval.length) > 0 ? { evaluate: evaluateNow } : {}),
    };
    emit({
      type: "start",
      mode: run.lora ? "lora" : "full",
      trainableParameters: trainableValueCount(params),
      totalParameters: run.source.names.reduce((n, name) => n + run.source.shape(name).reduce((a, b) => a * b, 1), 0),
      trainExamples: preference?.train.length ?? run.train.length,
      evalExamples: preference?.eval.length ?? run.eval.length,
      totalSteps: loop.totalSteps,
      startStep: state.step,
    });
    const keepBest = config.load_best_model_at_end || config.early_stopping_patience !== undefined;
    let best: Map<string, Float32Array> | undefined;
    let window = { loss: 0, steps: 0, tokens: 0, slots: 0, metrics: {} as Record<string, number> };
    let epoch = state.epoch;
    const round = (x: number) => Math.round(x * 1000) / 1000;
    const { stopped, lastEval } = await trainLoop(loop, runner, {
      async onStep(r) {
        const objective = preference ? stepMetrics(preference.spec, r.metrics) : {};
        emit({
          type: "step",
          ...stepProgress(r),
          etaSeconds: r.etaSeconds,
          paddingShare: 1 - r.tokens / r.slots,
          ...(preference ? { metrics: objective } : {}),
        });
        epoch = r.epoch;
        for (const [name, value] of Object.entries(objective)) window.metrics[name] = (window.metrics[name] ?? 0) + value;
        window = {
          loss: window.loss + r.loss,
          steps: window.steps + 1,
          tokens: window.tokens + r.tokens,
          slots: window.slots + r.slots,
          metrics: window.metrics,
        };
        if (r.step % config.logging_steps === 0 || r.step === r.totalSteps) {
          const averaged = Object.fromEntries(Object.entries(window.metrics).map(([name, value]) => [name, value / window.steps]));
          await metrics.append({
            type: "train",
            step: r.step,
            epoch: round(r.epoch),
            loss: window.loss / window.steps,
            lr: r.lr,
            grad_norm: r.gradNorm,
            tokens_per_second: Math.round(r.tokens / r.seconds),
            padding_share: round(1 - window.tokens / window.slots),
            elapsed_seconds: round(state.elapsedSeconds),
            ...averaged,
          });
          window = { loss: 0, steps: 0, tokens: 0, slots: 0, metrics: {} };
        }
      },
      async onEval(step, e) {
        // the loop records a new best after this hook: a copy of its weights, to become the output at the end
        if (keepBest && (state.bestEvalLoss === null || e.loss < state.bestEvalLoss)) best = copyValues(optimizer.values, best);
        emit({ type: "eval", step, ...e });
        await metrics.append({
          type: "eval",
          step,
          epoch: round(epoch),
          loss: e.loss,
          ...(preference ? e.metrics : { perplexity: e.perplexity, accuracy: e.accuracy }),
          ...(e.exactMatch !== undefined ? { exact_match: e.exactMatch } : {}),
        });
      },
      onNote: emit,
      async checkpoint(s) {
        const dir = await saveCheckpoint(outputDir, s, optimizer.saveLazily(), {
          files: (temp) => writeModelFiles(run, optimizer, temp).then(() => {}),
        });
        await pruneCheckpoints(outputDir, config.save_total_limit, s.bestStep);
        emit({ type: "checkpoint", step: s.step, dir });
      },
      shouldStop: () => options.signal?.aborted === true,
    });
    if (keepBest && (config.load_best_model_at_end || stopped === "early_stopping") && stopped !== "diverged")
      await loadBest(state, optimizer, best, outputDir, emit);
    if (stopped === "diverged") {
      // the undone step's checkpoint and metrics go too
      await removeCheckpointsAfter(outputDir, state.step);
      await metrics.truncate(state.step);
    }
    await runner.release();
    const files = await writeOutputs(run, optimizer, metrics, lastEval?.samples ?? []);
    const graphStats = { built: runner.built, buildSeconds: runner.seconds.build, openSeconds: runner.seconds.open };
    return {
      outputDir,
      steps: state.step,
      stopped,
      ...(lastEval ? { lastEval } : {}),
      bestEvalLoss: state.bestEvalLoss,
      bestStep: state.bestStep,
      files,
      graphs: graphStats,
    };
  } finally {
    optimizer.close();
    await runner.release();
    await graphs.release();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Copies each tensor into `into`'s buffers (allocated the first time). */
function copyValues(from: ReadonlyMap<string, Float32Array>, into?: Map<string, Float32Array>): Map<string, Float32Array> {
  const out = into ?? new Map<string, Float32Array>();
  for (const [name, data] of from) {
    const buffer = out.get(name) ?? new Float32Array(data.length);
    buffer.set(data);
    out.set(name, buffer);
  }
  return out;
}

/**
 * Puts the best evaluation's weights in the optimizer, so they are what the run writes: from the copy this process
 * made, or (a resumed run) from the best step's checkpoint, which pruning keeps.
 */
async function loadBest(
  state: LoopState,
  optimizer: OptimizerState,
  copy: Map<string, Float32Array> | undefined,
  outputDir: string,
  emit: (e: TrainEvent) => void,
): Promise<void> {
  if (state.bestStep === null || state.bestStep === state.step) return;
  const about = `the best evaluation's weights (step ${state.bestStep}, eval loss ${state.bestEvalLoss?.toFixed(4)})`;
  if (copy) {
    for (const [name, data] of copy) optimizer.values.get(name)!.set(data);
  } else {
    const saved = (await listCheckpoints(outputDir)).find((c) => c.step === state.bestStep);
    if (!saved) {
      emit({
        type: "warning",
        message: `no checkpoint of step ${state.bestStep} is left: the output is the last step's weights, not ${about}`,
      });
      return;
    }
    const { tensors } = await loadCheckpoint(saved.dir);
    for (const [name, { data }] of tensors.params) optimizer.values.get(name)?.set(data);
  }
  emit({ type: "info", message: `the output is ${about}, not the last step's (${state.step})` });
}

export type { EvalSample };
