// The training loop. Everything that can be wrong with the inputs is checked before the first step; then each
// optimizer step is one session.run (plus one per extra accumulated micro-batch) and AdamW in place (adamw.ts),
// evaluation runs every eval_steps,
// checkpoints are written atomically every save_steps, and a resumed run continues bit for bit where it stopped.
import {
  batches,
  createTokenizer,
  datasetTexts,
  DatasetError,
  hash53,
  pack,
  prepareDatasetFile,
  Random,
  readRecordsFromFile,
  readTokenizerFiles,
  saveTokenizer,
  toExample,
  trainTokenizer,
  unpacked,
  type Batch,
  type ChatTemplate,
  type PreparedExample,
  type RecordIssue,
  type TextTokenizer,
  type TokenizerFiles,
} from "@neural/dataset";
import type { Graph, TypedArray } from "@neural/graph";
import { SharedWeights, createSession, toOrt } from "@neural/graph/node";
import { textTowerModuleName } from "@neural/hf-config";
import { saveSafetensors } from "@neural/safetensors";
import { appendFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type * as ort from "onnxruntime-node";
import { findResume, loadCheckpoint, pruneCheckpoints, saveCheckpoint, writeDurable, type LoopState } from "./checkpoint.js";
import { resolveModel, type ResolveModelOptions } from "./model-source.js";
import { type ModelConfig } from "./models/config.js";
import { createDecoder, type Decoder } from "./models/decoder.js";
import { linearModules } from "./models/transformer.js";
import { graphWeights, type WeightSource } from "./models/weights.js";
import { adamwInPlace, adamwScalars } from "./adamw.js";
import { openModel } from "./models/load.js";
import { loadPeftAdapter, savePeftAdapter, type LoraAdapter } from "./peft.js";
import { lossCurveSvg } from "./plot.js";
import { qloraLinear } from "./qlora.js";
import { LossScaler, precisionFor, type Precision } from "./precision.js";
import { chooseProviders, sessionOptions } from "./runtime.js";
import { learningRateAt } from "./schedule.js";
import { createScratchModel, scratchConfig } from "./scratch-model.js";
import { batchFeeds, epochBatches, learnedTargets, padIdOf, shapeBuckets } from "./batching.js";
import { buildEvalGraph, buildStepGraph, stepNames, trainableParams, type LoraSpec, type OptimizerSpec, type StepGraphSpec, type TrainableParam } from "./train-step.js";
import { TrainConfigError, type TrainConfig } from "./train-config.js";

export class TrainingError extends Error {
  override name = "TrainingError";
}

export type TrainEvent =
  /** `issues`: the bad dataset rows behind a warning (the first 50), each with its file and line. */
  | { type: "info" | "warning"; message: string; issues?: RecordIssue[] }
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
  | { type: "step"; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokensPerSecond: number; etaSeconds: number }
  | { type: "eval"; step: number; loss: number; perplexity: number; accuracy: number; exactMatch?: number; samples: EvalSample[] }
  | { type: "checkpoint"; step: number; dir: string };

export interface EvalSample {
  /** The last user message (for display). */
  prompt: string;
  /** The conversation up to the answer, as the model saw it. */
  messages: { role: string; content: string }[];
  expected: string;
  generated: string;
}

export interface TrainOptions {
  signal?: AbortSignal;
  onEvent?: (event: TrainEvent) => void;
  /** Where base models come from (cache dir, offline, hub address). */
  modelSource?: ResolveModelOptions;
  /** How many eval examples get an exact-match generation (default 64). */
  exactMatchSamples?: number;
  /** Evaluate the model (base_model, or an adapter directory) on the eval split and return, without training. */
  evalOnly?: boolean;
}

export interface TrainResult {
  outputDir: string;
  steps: number;
  stopped: "completed" | "early_stopping" | "interrupted" | "diverged";
  /** The last evaluation, with our engine's greedy answers to the held-out prompts (up to exactMatchSamples). */
  lastEval?: { loss: number; perplexity: number; accuracy: number; exactMatch?: number; samples: EvalSample[] };
  bestEvalLoss: number | null;
  bestStep: number | null;
  files: string[];
}

/** A model, tokenizer and data ready to train: the result of every check that runs before the first step. */
interface Setup {
  config: TrainConfig;
  model: ModelConfig;
  rawModelConfig: Record<string, unknown>;
  source: WeightSource;
  tokenizer: TextTokenizer;
  tokenizerFiles: TokenizerFiles;
  template: ChatTemplate;
  train: PreparedExample[];
  eval: PreparedExample[];
  lora?: LoraSpec;
  /** Starting LoRA weights (base_model was an adapter directory). */
  adapter?: LoraAdapter;
  close(): Promise<void>;
}

export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const emit = options.onEvent ?? (() => {});
  const setup = await prepare(config, emit, options);
  try {
    return await run(setup, emit, options);
  } finally {
    await setup.close();
  }
}

async function prepare(requested: TrainConfig, emit: (e: TrainEvent) => void, options: TrainOptions): Promise<Setup> {
  let config = requested;
  // The model and its tokenizer.
  let rawModelConfig: Record<string, unknown>;
  let model: ModelConfig;
  let source: WeightSource;
  let tokenizerFiles: TokenizerFiles;
  let close = async () => {};
  let adapter: LoraAdapter | undefined;
  let tokenizerFromAdapter: string | undefined;
  if (config.from_scratch) {
    if (config.tokenizer) tokenizerFiles = await readTokenizerFiles(config.tokenizer);
    else {
      const vocab = config.vocab_size ?? 4096;
      emit({ type: "info", message: `training a ${vocab}-token BPE tokenizer on ${config.dataset}` });
      const trained = await trainTokenizer(datasetTexts(config.dataset), { vocabSize: vocab, modelMaxLength: config.max_length });
      tokenizerFiles = { tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig };
    }
    const tokenizer = createTokenizer(tokenizerFiles, "tokenizer");
    if (config.vocab_size !== undefined && config.vocab_size < tokenizer.vocabSize) {
      throw new TrainConfigError(`--vocab_size ${config.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`);
    }
    rawModelConfig = scratchConfig({ ...config, vocab_size: config.vocab_size ?? tokenizer.vocabSize }, tokenizer.vocabSize, {
      ...(tokenizer.bos ? { bos: tokenizer.bos.id } : {}),
      ...(tokenizer.eos ? { eos: tokenizer.eos.id } : {}),
      ...(tokenizer.pad ? { pad: tokenizer.pad.id } : {}),
    });
    const scratch = createScratchModel(rawModelConfig, config.seed);
    model = scratch.config;
    source = scratch.source;
  } else {
    // A PEFT adapter directory stands for its base model plus the adapter (to evaluate it, or train it further).
    if (await isAdapterDirectory(config.base_model!)) {
      adapter = await loadPeftAdapter(config.base_model!);
      const baseSpec = adapter.baseModel;
      if (!baseSpec) throw new TrainConfigError(`${config.base_model}: adapter_config.json names no base model (base_model_name_or_path)`);
      emit({ type: "info", message: `adapter ${config.base_model} (r ${adapter.rank}, alpha ${adapter.alpha}) on ${baseSpec}` });
      tokenizerFromAdapter = (await isFile(path.join(config.base_model!, "tokenizer.json"))) ? config.base_model! : undefined;
      config = { ...config, base_model: baseSpec, use_lora: true, lora_r: adapter.rank, lora_alpha: adapter.alpha, use_rslora: adapter.rsLora, lora_target_modules: adapter.targetModules };
    }
    const resolved = await resolveModel(config.base_model!, {
      ...options.modelSource,
      onProgress: (p) => emit({ type: "info", message: `downloading ${p.file}: ${(p.bytes / 2 ** 20).toFixed(0)} of ${(p.totalBytes / 2 ** 20).toFixed(0)} MiB` }),
    });
    emit({ type: "info", message: `base model: ${resolved.dir}${resolved.source === "download" ? " (downloaded)" : ""}` });
    const opened = await openModel(resolved.dir);
    rawModelConfig = opened.rawConfig;
    model = opened.config;
    source = opened.source;
    close = opened.close;
    tokenizerFiles = await readTokenizerFiles(config.tokenizer ?? tokenizerFromAdapter ?? resolved.dir);
  }
  const tokenizer = createTokenizer(tokenizerFiles, config.tokenizer ?? "tokenizer");
  if (tokenizer.vocabSize > model.vocabSize) {
    throw new TrainConfigError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has only ${model.vocabSize} rows`);
  }
  if (config.max_length > model.maxPositions) {
    throw new TrainConfigError(`--max_length ${config.max_length} exceeds the model's context (max_position_embeddings ${model.maxPositions})`);
  }

  // The data: every bad row reported, nothing dropped silently.
  const data = await prepareDatasetFile(config.dataset, {
    tokenizer,
    template: config.template,
    maxLength: config.max_length,
    trainOnInputs: config.train_on_inputs,
    validationSplit: config.validation_split,
    seed: config.seed,
    ...(config.max_samples !== undefined ? { maxSamples: config.max_samples } : {}),
  });
  const s = data.stats;
  if (s.invalid) emit({ type: "warning", message: `${s.invalid} invalid record${s.invalid === 1 ? "" : "s"} skipped${s.invalid > s.issues.length ? ` (the first ${s.issues.length} below)` : ""}:`, issues: s.issues });
  for (const [reason, n] of Object.entries(s.dropped)) {
    if (n) emit({ type: "warning", message: `${n} example${n === 1 ? "" : "s"} dropped: ${reason.replace(/_/g, " ")}` });
  }
  if (data.train.length === 0) throw new DatasetError("no training examples left after the eval split", config.dataset);
  const endOfTurn = tokenizer.tokenToId(data.template.endOfTurn);
  if (endOfTurn === undefined) {
    emit({ type: "warning", message: `the tokenizer has no "${data.template.endOfTurn}" token: the end of a turn is learned as text` });
  }

  let lora: LoraSpec | undefined;
  if (config.use_lora) {
    const available = linearModules(model).map((m) => m.slice(m.indexOf(".") + 1));
    const targets = resolveTargets(config.lora_target_modules, available, model.family);
    lora = { rank: config.lora_r, alpha: config.lora_alpha, rsLora: config.use_rslora, targets, dropout: config.lora_dropout };
  }
  return {
    config,
    model,
    rawModelConfig,
    source,
    tokenizer,
    tokenizerFiles,
    template: data.template,
    train: data.train,
    eval: data.eval,
    ...(lora ? { lora } : {}),
    ...(adapter ? { adapter } : {}),
    close,
  };
}

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);
const isAdapterDirectory = (dir: string) => isFile(path.join(dir, "adapter_config.json"));

/** LoRA targets for a family: all linear layers by default; Phi-3's fused layers stand in for the names they fuse. */
function resolveTargets(requested: readonly string[] | undefined, available: string[], family: string): string[] {
  if (!requested || requested.length === 0 || requested.includes("all-linear")) return available;
  const fused: Record<string, string> = { q_proj: "qkv_proj", k_proj: "qkv_proj", v_proj: "qkv_proj", gate_proj: "gate_up_proj", up_proj: "gate_up_proj" };
  const out = new Set<string>();
  for (const name of requested) {
    const short = name.slice(name.lastIndexOf(".") + 1);
    const mapped = available.includes(short) ? short : available.includes(fused[short] ?? "") ? fused[short]! : undefined;
    if (!mapped) throw new TrainConfigError(`LoRA target ${name}: a ${family} model's linear layers are ${available.join(", ")}`);
    out.add(mapped);
  }
  return available.filter((a) => out.has(a));
}

/** Sessions per graph kind and shape bucket, built on first use. */
class Engine {
  private sessions = new Map<string, Promise<{ session: ort.InferenceSession; graph: Graph }>>();
  /** The provider the first session got; later sessions use it directly (no more failed attempts). */
  provider = "";
  private candidates: string[];
  /** One external data file for every graph of the run: the frozen weights are written (and mapped) once. */
  readonly weights: SharedWeights;

  constructor(
    private setup: Setup,
    private workDir: string,
    private emit: (e: TrainEvent) => void,
  ) {
    const choice = chooseProviders(setup.config.device);
    for (const s of choice.skipped) emit({ type: "info", message: `not using ${s.provider}: ${s.reason}` });
    this.candidates = choice.providers;
    this.weights = new SharedWeights(workDir);
    if (setup.config.use_qlora) this.qlora = qloraLinear(setup.source);
    this.precision = precisionFor(this.candidates[0] ?? "cpu");
  }

  /** The compute precision of the training graphs: float32 on the CPU, float16 on GPU providers (precision.ts). */
  precision: Precision;

  /** QLoRA: how every graph of the run applies the 4-bit base weights (qlora.ts). */
  readonly qlora?: ReturnType<typeof qloraLinear>;

  /** Session options for any session of this run (the decoder's too). */
  options() {
    return sessionOptions(this.provider ? [this.provider] : this.candidates, this.setup.config.threads);
  }

  private spec(batch: number, seq: number): Omit<StepGraphSpec, "kind" | "optimizer"> {
    const c = this.setup.config;
    return {
      config: this.setup.model,
      source: this.setup.source,
      batch,
      seq,
      ...(this.setup.lora ? { lora: this.setup.lora } : {}),
      recompute: c.gradient_checkpointing,
      ...(this.qlora ? { linear: this.qlora } : {}),
      ...(this.precision !== "float32" ? { precision: this.precision } : {}),
    };
  }

  /** Graphs whose session was released by suspend(): their model file is reopened when needed again. */
  private parked = new Map<string, { file: string; graph: Graph }>();
  private files = new Map<string, string>();

  /**
   * Release the sessions of these graph kinds ("step", "accumulate", "step-acc", "eval"), keeping their model
   * files. Each session maps the weights file on its own, and process RSS counts every mapping: evaluating with
   * the training sessions suspended keeps the peak at the larger of the two, not their sum.
   */
  async suspend(kinds: readonly string[]): Promise<void> {
    for (const [key, entry] of this.sessions) {
      if (!kinds.includes(key.slice(0, key.lastIndexOf("-")))) continue;
      const { session, graph } = await entry;
      await session.release();
      this.sessions.delete(key);
      this.parked.set(key, { file: this.files.get(key)!, graph });
    }
  }

  private open(key: string, build: () => Graph): Promise<{ session: ort.InferenceSession; graph: Graph }> {
    let entry = this.sessions.get(key);
    const parked = this.parked.get(key);
    if (!entry && parked) {
      this.parked.delete(key);
      entry = createSession(parked.file, this.options()).then((created) => ({ session: created.session, graph: parked.graph }));
      this.sessions.set(key, entry);
    }
    if (!entry) {
      entry = (async () => {
        let graph = build();
        const file = await this.weights.save(graph, `${key}.onnx`);
        this.files.set(key, file);
        let created = await createSession(file, this.options());
        if (!this.provider) {
          this.provider = created.provider;
          if (created.message) this.emit({ type: "warning", message: created.message });
          this.emit({ type: "info", message: `running on ONNX Runtime's ${created.provider} execution provider` });
          const wanted = precisionFor(created.provider);
          if (wanted !== this.precision) {
            // fell back to a provider that computes in another precision: this graph again, for it
            await created.session.release();
            this.precision = wanted;
            graph = build();
            const again = await this.weights.save(graph, `${key}.${wanted}.onnx`);
            this.files.set(key, again);
            created = await createSession(again, this.options());
          }
          if (this.precision !== "float32") {
            this.emit({ type: "info", message: `mixed precision: ${this.precision} compute, float32 trainable weights, AdamW and loss${this.precision === "float16" ? ", dynamic loss scaling" : ""}` });
          }
        }
        return { session: created.session, graph };
      })();
      this.sessions.set(key, entry);
    }
    return entry;
  }

  async run(kind: "step" | "accumulate" | "step-acc" | "eval", batch: number, seq: number, feeds: Record<string, TypedArray>): Promise<Record<string, TypedArray>> {
    const c = this.setup.config;
    const optimizer = optimizerOf(c);
    const { session, graph } = await this.open(`${kind}-${batch}x${seq}`, () =>
      kind === "eval"
        ? buildEvalGraph(this.spec(batch, seq))
        : buildStepGraph({ ...this.spec(batch, seq), optimizer, kind: kind === "accumulate" ? "accumulate" : "gradients", withAccumulators: kind === "step-acc" }).graph,
    );
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const t of graph.inputs) {
      const name = (t.source as { name: string }).name;
      const data = feeds[name];
      if (!data) throw new TrainingError(`internal: no value for graph input ${name}`);
      ortFeeds[name] = toOrt(t.dtype, t.shape, data);
    }
    const out = await session.run(ortFeeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as TypedArray]));
  }

  async release(): Promise<void> {
    for (const entry of this.sessions.values()) await (await entry).session.release();
    this.sessions.clear();
  }
}

function optimizerOf(c: TrainConfig): OptimizerSpec {
  return { beta1: c.adam_beta1, beta2: c.adam_beta2, epsilon: c.adam_epsilon, weightDecay: c.weight_decay, maxGradNorm: c.max_grad_norm };
}

/** The micro-batches of one epoch, in the epoch's seeded order. */
function epochBatchesOf(setup: Setup, epoch: number): Batch[] {
  const { config } = setup;
  return epochBatches(setup.train, epoch, { batchSize: config.batch_size, maxLength: config.max_length, packing: config.packing, padId: padIdOf(setup.tokenizer), seed: config.seed });
}

/** Settings a resumed run must share with the checkpoint. */
function resumeKey(c: TrainConfig): string {
  const keys: (keyof TrainConfig)[] = [
    "base_model", "dataset", "template", "max_length", "packing", "train_on_inputs", "validation_split", "max_samples", "batch_size",
    "gradient_accumulation", "epochs", "max_steps", "learning_rate", "lr_scheduler", "warmup_steps", "weight_decay", "max_grad_norm",
    "adam_beta1", "adam_beta2", "adam_epsilon", "use_lora", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "use_rslora",
    "seed", "from_scratch", "model_family", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "intermediate_size", "vocab_size",
  ];
  return hash53(JSON.stringify(keys.map((k) => [k, c[k] ?? null]))).toString(36);
}

async function run(setup: Setup, emit: (e: TrainEvent) => void, options: TrainOptions): Promise<TrainResult> {
  const { config, model } = setup;
  const outputDir = config.output_dir;
  await mkdir(outputDir, { recursive: true });
  const workDir = path.join(outputDir, ".graphs");
  await rm(workDir, { recursive: true, force: true });
  const metricsFile = path.join(outputDir, "metrics.jsonl");
  // The held-out examples, so they can be scored again later (neural eval model.gguf --dataset eval_split.jsonl).
  await writeFile(
    path.join(outputDir, "eval_split.jsonl"),
    setup.eval.map((e) => JSON.stringify(e.example.kind === "chat" ? { messages: e.example.messages.map(({ role, content }) => ({ role, content })), ...(e.example.category !== undefined ? { category: e.example.category } : {}) } : { text: e.example.text })).join("\n") + (setup.eval.length ? "\n" : ""),
  );

  // Trainable tensors: LoRA adapters (A random, B zero, as PEFT initializes them), or every weight.
  const params: TrainableParam[] = trainableParams(model, setup.source, setup.lora);
  let values = new Map<string, Float32Array>();
  let m = new Map<string, Float32Array>();
  let v = new Map<string, Float32Array>();
  if (setup.adapter) {
    for (const p of params) {
      const module = setup.adapter.modules.get(p.name.replace(/\.lora_[AB]$/, ""));
      if (!module) throw new TrainingError(`the adapter has no weights for ${p.name}`);
      values.set(p.name, Float32Array.from(p.name.endsWith(".lora_A") ? module.a : module.b));
    }
  } else if (setup.lora) {
    const random = new Random(hash53("lora-init", config.seed));
    for (const p of params) {
      const n = p.shape[0]! * p.shape[1]!;
      const bound = 1 / Math.sqrt(p.shape[1]!);
      values.set(p.name, p.name.endsWith(".lora_A") ? Float32Array.from({ length: n }, () => (random.next() * 2 - 1) * bound) : new Float32Array(n));
    }
  } else {
    // copies, one tensor at a time: AdamW updates these arrays in place, and a source may hand out its own
    for (const p of params) values.set(p.name, Float32Array.from(await setup.source.read(p.name)));
  }
  for (const p of params) {
    m.set(p.name, new Float32Array(values.get(p.name)!.length));
    v.set(p.name, new Float32Array(values.get(p.name)!.length));
  }

  const stepsPerEpoch = Math.ceil(Math.ceil(epochBatchesOf(setup, 0).length) / config.gradient_accumulation);
  const totalSteps = config.max_steps ?? Math.max(1, Math.ceil(config.epochs * stepsPerEpoch));
  let state: LoopState = {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    tokensSeen: 0,
    bestEvalLoss: null,
    bestStep: null,
    evalsWithoutImprovement: 0,
    configHash: resumeKey(config),
    elapsedSeconds: 0,
  };
  if (config.resume) {
    const dir = await findResume(outputDir, config.resume);
    if (!dir) emit({ type: "info", message: `--resume ${config.resume}: no checkpoint in ${outputDir}; starting from the beginning` });
    else {
      const loaded = await loadCheckpoint(dir);
      if (loaded.state.configHash !== state.configHash) {
        throw new TrainConfigError(`${dir} was made with other settings (model, data, batch shape, optimizer or seed changed); resume with the same settings or start a new --output_dir`);
      }
      for (const p of params) {
        const saved = loaded.tensors.params.get(p.name);
        if (!saved || saved.data.length !== values.get(p.name)!.length) throw new TrainingError(`${dir}: no tensor ${p.name} of the expected size`);
        values.set(p.name, saved.data);
        m.set(p.name, loaded.tensors.m.get(p.name)!);
        v.set(p.name, loaded.tensors.v.get(p.name)!);
      }
      state = loaded.state;
      emit({ type: "info", message: `resumed from ${dir} (step ${state.step}, epoch ${state.epoch + 1}, batch ${state.batchInEpoch})` });
      await truncateMetrics(metricsFile, state.step);
    }
  } else if (!options.evalOnly) await rm(metricsFile, { force: true });

  const engine = new Engine(setup, workDir, emit);
  const scaler = new LossScaler();
  let decoder: Decoder | undefined;
  const totalParameters = setup.source.names.reduce((n, name) => n + setup.source.shape(name).reduce((a, b) => a * b, 1), 0);
  const log = (record: Record<string, unknown>) => appendFile(metricsFile, JSON.stringify(record) + "\n");

  const optimizer = optimizerOf(config);
  const paramFeeds = (): Record<string, TypedArray> => {
    const feeds: Record<string, TypedArray> = {};
    for (const p of params) {
      feeds[p.name] = values.get(p.name)!;
    }
    return feeds;
  };

  const evaluate = async (): Promise<{ loss: number; perplexity: number; accuracy: number; exactMatch?: number; samples: EvalSample[] }> => {
    let lossSum = 0;
    let count = 0;
    let correct = 0;
    const sequences = config.packing ? pack(setup.eval.map((e) => e.encoded), config.max_length) : unpacked(setup.eval.map((e) => e.encoded));
    // one set of sessions at a time (each maps the weights): training's are reopened by the next step
    await engine.suspend(["step", "accumulate", "step-acc"]);
    for (const batch of batches(sequences, { batchSize: config.eval_batch_size, padId: padIdOf(setup.tokenizer), buckets: shapeBuckets(config.max_length) })) {
      const out = await engine.run("eval", batch.batchSize, batch.seqLen, { ...batchFeeds(batch), ...Object.fromEntries(params.map((p) => [p.name, values.get(p.name)!])) });
      lossSum += out.loss_sum![0] as number;
      count += Number(out.count![0]);
      correct += Number(out.correct![0]);
    }
    await engine.suspend(["eval"]);
    const loss = count ? lossSum / count : Number.NaN;
    const result: { loss: number; perplexity: number; accuracy: number; exactMatch?: number; samples: EvalSample[] } = {
      loss,
      perplexity: Math.exp(loss),
      accuracy: count ? correct / count : Number.NaN,
      samples: [],
    };
    if (config.eval_generate) {
      decoder ??= await openDecoder();
      const scored = await exactMatch(setup, decoder, values, options.exactMatchSamples ?? 64);
      await decoder.release();
      decoder = undefined;
      if (scored) {
        result.exactMatch = scored.exactMatch;
        result.samples = scored.samples;
      }
    }
    return result;
  };

  const openDecoder = async (): Promise<Decoder> => {
    const chats = setup.eval.filter((e) => e.example.kind === "chat");
    const longestPrompt = Math.max(1, ...chats.map((e) => setup.tokenizer.encode(promptOf(setup.template, e)).length + 1));
    const slots = Math.min(model.maxPositions, longestPrompt + config.max_new_tokens);
    const lora = setup.lora;
    return createDecoder({
      config: model,
      dir: workDir,
      shared: engine.weights,
      batch: Math.max(1, Math.min(config.eval_batch_size, chats.length)),
      slots,
      session: engine.options(),
      weights: (g) => graphWeights(g, setup.source, lora ? {} : { asInput: () => true }),
      ...(lora
        ? {
            forward: (g) => ({
              ...(engine.qlora ? { linear: engine.qlora } : {}),
              lora: {
                targets: lora.targets,
                rank: lora.rank,
                alpha: lora.alpha,
                rsLora: lora.rsLora,
                weights: (module: string, shape: { in: number; out: number; rank: number }) => ({
                  a: g.input(`${module}.lora_A`, "float32", [shape.rank, shape.in]),
                  b: g.input(`${module}.lora_B`, "float32", [shape.out, shape.rank]),
                }),
              },
            }),
          }
        : {}),
    });
  };

  const checkpoint = async () => {
    const dir = await saveCheckpoint(outputDir, state, {
      params: new Map(params.map((p) => [p.name, { shape: p.shape, data: values.get(p.name)! }])),
      m,
      v,
    });
    await pruneCheckpoints(outputDir, config.save_total_limit, state.bestStep);
    emit({ type: "checkpoint", step: state.step, dir });
  };

  emit({
    type: "start",
    mode: setup.lora ? "lora" : "full",
    trainableParameters: params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
    totalParameters,
    trainExamples: setup.train.length,
    evalExamples: setup.eval.length,
    totalSteps,
    startStep: state.step,
  });

  let stopped: TrainResult["stopped"] = "completed";
  let lastEval: TrainResult["lastEval"];
  if (options.evalOnly) {
    if (setup.eval.length === 0) throw new TrainConfigError("--eval_only needs an eval split: --validation_split is 0");
    try {
      const e = await evaluate();
      emit({ type: "eval", step: state.step, ...e });
      return {
        outputDir,
        steps: state.step,
        stopped,
        lastEval: { loss: e.loss, perplexity: e.perplexity, accuracy: e.accuracy, ...(e.exactMatch !== undefined ? { exactMatch: e.exactMatch } : {}), samples: e.samples },
        bestEvalLoss: null,
        bestStep: null,
        files: [],
      };
    } finally {
      await engine.release();
      await decoder?.release();
      await rm(workDir, { recursive: true, force: true });
    }
  }
  let epochData = epochBatchesOf(setup, state.epoch);
  let windowLoss = 0;
  let windowSteps = 0;
  let stepSeconds = 0;
  const runStart = performance.now() - state.elapsedSeconds * 1000;
  try {
    while (state.step < totalSteps) {
      if (options.signal?.aborted) {
        stopped = "interrupted";
        break;
      }
      // The micro-batches of this optimizer step (an epoch's last step may have fewer).
      if (state.batchInEpoch >= epochData.length) {
        state.epoch++;
        state.batchInEpoch = 0;
        epochData = epochBatchesOf(setup, state.epoch);
      }
      const group = epochData.slice(state.batchInEpoch, state.batchInEpoch + config.gradient_accumulation);
      const learned = group.reduce((n, b) => n + learnedTargets(b), 0);
      const t0 = performance.now();
      const lr = learningRateAt(state.step, { learningRate: config.learning_rate, warmupSteps: config.warmup_steps, totalSteps, kind: config.lr_scheduler });
      const shared: Record<string, TypedArray> = {
        ...paramFeeds(),
        [stepNames.invCount]: Float32Array.of(1 / Math.max(1, learned)),
        [stepNames.lossScale]: Float32Array.of(scaler.scale), // read by float16 graphs only
      };
      let acc: Record<string, TypedArray> | undefined;
      let loss = 0;
      let out: Record<string, TypedArray> = {};
      for (let k = 0; k < group.length; k++) {
        const batch = group[k]!;
        const feeds = { ...shared, ...batchFeeds(batch), [stepNames.dropoutSeed]: Float32Array.of(hash53(`dropout:${state.step}:${k}`, config.seed) % 100_000) };
        const last = k === group.length - 1;
        if (!last || acc) {
          acc ??= Object.fromEntries(params.map((p) => [stepNames.acc(p.name), new Float32Array(values.get(p.name)!.length)]));
          Object.assign(feeds, acc);
        }
        out = await engine.run(last ? (acc ? "step-acc" : "step") : "accumulate", batch.batchSize, batch.seqLen, feeds);
        loss += out[stepNames.loss]![0] as number;
        if (!last) acc = Object.fromEntries(params.map((p) => [stepNames.acc(p.name), out[stepNames.newAcc(p.name)]!]));
        state.tokensSeen += batch.tokens;
      }
      const gradNorm = out[stepNames.gradNorm]![0] as number;
      if (engine.precision === "float16" && Number.isFinite(loss) && !Number.isFinite(gradNorm) && !scaler.exhausted) {
        // float16 gradients overflowed: nothing was updated; the same batches again at half the scale
        scaler.update(false);
        state.tokensSeen -= group.reduce((n, b) => n + b.tokens, 0);
        emit({ type: "warning", message: `step ${state.step + 1}: float16 gradients overflowed; retrying with loss scale ${scaler.scale}` });
        continue;
      }
      if (engine.precision === "float16") scaler.update(Number.isFinite(gradNorm));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        emit({ type: "warning", message: `step ${state.step + 1}: loss ${loss}, gradient norm ${gradNorm}: stopping; the weights before this step are kept` });
        stopped = "diverged";
        break;
      }
      const scalars = adamwScalars(optimizer, { lr, step: state.step + 1, gradNorm });
      for (const p of params) adamwInPlace(values.get(p.name)!, out[stepNames.grad(p.name)] as Float32Array, m.get(p.name)!, v.get(p.name)!, scalars, p.decay);
      state.step++;
      state.batchInEpoch += group.length;
      const seconds = (performance.now() - t0) / 1000;
      stepSeconds = stepSeconds === 0 ? seconds : 0.9 * stepSeconds + 0.1 * seconds;
      state.elapsedSeconds = (performance.now() - runStart) / 1000;
      windowLoss += loss;
      windowSteps++;
      const tokens = group.reduce((n, b) => n + b.tokens, 0);
      const epochFloat = state.epoch + state.batchInEpoch / Math.max(1, epochData.length);
      emit({
        type: "step",
        step: state.step,
        totalSteps,
        epoch: epochFloat,
        loss,
        lr,
        gradNorm,
        tokensPerSecond: tokens / seconds,
        etaSeconds: (totalSteps - state.step) * stepSeconds,
      });
      if (state.step % config.logging_steps === 0 || state.step === totalSteps) {
        await log({ type: "train", step: state.step, epoch: round(epochFloat), loss: windowLoss / windowSteps, lr, grad_norm: gradNorm, tokens_per_second: Math.round(tokens / seconds), elapsed_seconds: round(state.elapsedSeconds) });
        windowLoss = 0;
        windowSteps = 0;
      }
      const evalNow = setup.eval.length > 0 && (state.step % config.eval_steps === 0 || state.step === totalSteps);
      if (evalNow) {
        const e = await evaluate();
        lastEval = { loss: e.loss, perplexity: e.perplexity, accuracy: e.accuracy, ...(e.exactMatch !== undefined ? { exactMatch: e.exactMatch } : {}), samples: e.samples };
        emit({ type: "eval", step: state.step, ...e });
        await log({ type: "eval", step: state.step, epoch: round(epochFloat), loss: e.loss, perplexity: e.perplexity, accuracy: e.accuracy, ...(e.exactMatch !== undefined ? { exact_match: e.exactMatch } : {}) });
        if (state.bestEvalLoss === null || e.loss < state.bestEvalLoss) {
          state.bestEvalLoss = e.loss;
          state.bestStep = state.step;
          state.evalsWithoutImprovement = 0;
        } else state.evalsWithoutImprovement++;
      }
      if (state.step % config.save_steps === 0 || state.step === totalSteps) await checkpoint();
      if (config.early_stopping_patience !== undefined && state.evalsWithoutImprovement >= config.early_stopping_patience) {
        emit({ type: "info", message: `early stopping: eval loss has not improved for ${state.evalsWithoutImprovement} evaluations (best ${state.bestEvalLoss} at step ${state.bestStep})` });
        stopped = "early_stopping";
        break;
      }
    }
    if (stopped !== "completed" && state.step > 0) await checkpoint();
  } finally {
    await engine.release();
    await decoder?.release();
  }

  const files = await writeOutputs(setup, params, values, metricsFile, lastEval?.samples ?? []);
  await rm(workDir, { recursive: true, force: true });
  return { outputDir, steps: state.step, stopped, ...(lastEval ? { lastEval } : {}), bestEvalLoss: state.bestEvalLoss, bestStep: state.bestStep, files };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function promptOf(template: ChatTemplate, e: PreparedExample): string {
  if (e.example.kind !== "chat") return "";
  const messages = e.example.messages;
  const last = messages.map((m) => m.role).lastIndexOf("assistant");
  return template.prompt(messages.slice(0, last));
}

/** Greedy answers to the eval prompts, compared with the expected answers (trimmed, exact). */
async function exactMatch(setup: Setup, decoder: Decoder, values: Map<string, Float32Array>, limit: number): Promise<{ exactMatch: number; samples: EvalSample[] } | undefined> {
  const chats = setup.eval.filter((e) => e.example.kind === "chat").slice(0, limit);
  if (chats.length === 0) return undefined;
  decoder.setInputs(Object.fromEntries([...values].filter(([name]) => decoder.graph.inputs.some((t) => (t.source as { name: string }).name === name))));
  const { tokenizer, template } = setup;
  const stop = [tokenizer.tokenToId(template.endOfTurn), tokenizer.eos?.id].filter((x): x is number => x !== undefined);
  const samples: EvalSample[] = [];
  let hits = 0;
  const batchSize = decoder.graph.dim("batch");
  for (let start = 0; start < chats.length; start += batchSize) {
    const slice = chats.slice(start, start + batchSize);
    const prompts = slice.map((e) => {
      const ids = tokenizer.encode(promptOf(template, e));
      return tokenizer.addBos && tokenizer.bos ? [tokenizer.bos.id, ...ids] : ids;
    });
    const outputs = await decoder.generate(prompts, { maxNewTokens: setup.config.max_new_tokens, temperature: 0, stopTokens: stop });
    slice.forEach((e, i) => {
      const ids = outputs[i]!.filter((id) => !stop.includes(id));
      const generated = tokenizer.decode(ids).trim();
      const messages = e.example.kind === "chat" ? e.example.messages : [];
      const expected = messages.filter((m) => m.role === "assistant").at(-1)!.content.trim();
      if (generated === expected) hits++;
      const last = messages.map((m) => m.role).lastIndexOf("assistant");
      samples.push({
        prompt: messages.filter((m) => m.role === "user").at(-1)?.content ?? "",
        messages: messages.slice(0, last).map(({ role, content }) => ({ role, content })),
        expected,
        generated,
      });
    });
  }
  return { exactMatch: hits / chats.length, samples };
}

async function truncateMetrics(file: string, step: number): Promise<void> {
  const text = await readFile(file, "utf8").catch(() => "");
  const kept = text.split("\n").filter((line) => line && (JSON.parse(line) as { step: number }).step <= step);
  await writeFile(file, kept.map((l) => l + "\n").join(""));
}

/** The adapter (PEFT) or the full model (HF directory), the tokenizer, the resolved config and the loss curve. */
async function writeOutputs(setup: Setup, params: TrainableParam[], values: Map<string, Float32Array>, metricsFile: string, lastSamples: EvalSample[]): Promise<string[]> {
  const { config } = setup;
  const out = config.output_dir;
  const files: string[] = [];
  if (setup.lora) {
    const modules: LoraAdapter["modules"] = new Map();
    for (const p of params) {
      if (!p.name.endsWith(".lora_A")) continue;
      const module = p.name.slice(0, -".lora_A".length);
      const b = params.find((q) => q.name === `${module}.lora_B`)!;
      // PEFT's module names: a multimodal base's text layers are model.language_model.layers...
      modules.set(setup.model.textTower ? textTowerModuleName(module) : module, { a: values.get(p.name)!, b: values.get(b.name)!, in: p.shape[1]!, out: b.shape[0]! });
    }
    await savePeftAdapter(out, {
      modules,
      rank: setup.lora.rank,
      alpha: setup.lora.alpha,
      dropout: setup.lora.dropout,
      rsLora: setup.lora.rsLora,
      targetModules: [...setup.lora.targets],
      ...(config.base_model ? { baseModel: config.base_model } : {}),
    });
    files.push("adapter_config.json", "adapter_model.safetensors");
  } else {
    await saveSafetensors(
      path.join(out, "model.safetensors"),
      params.map((p) => ({ name: p.name, dtype: "F32" as const, shape: p.shape, data: values.get(p.name)! })),
      { metadata: { format: "pt" } },
    );
    await writeDurable(path.join(out, "config.json"), JSON.stringify(setup.rawModelConfig, null, 2) + "\n");
    files.push("config.json", "model.safetensors");
  }
  await saveTokenizer(out, { tokenizerJson: setup.tokenizerFiles.tokenizer, tokenizerConfig: setup.tokenizerFiles.config });
  files.push("tokenizer.json", "tokenizer_config.json");
  await writeDurable(path.join(out, "train_config.json"), JSON.stringify(config, null, 2) + "\n");
  files.push("train_config.json");

  const lines = (await readFile(metricsFile, "utf8").catch(() => "")).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
  const series = [
    { name: "train loss", color: "#1f77b4", points: lines.filter((l) => l.type === "train").map((l) => ({ step: l.step as number, value: l.loss as number })) },
    { name: "eval loss", color: "#d62728", points: lines.filter((l) => l.type === "eval").map((l) => ({ step: l.step as number, value: l.loss as number })) },
  ];
  await writeFile(path.join(out, "loss_curve.svg"), lossCurveSvg(series, `loss — ${path.basename(path.resolve(out))}`));
  files.push("metrics.jsonl", "loss_curve.svg", "eval_split.jsonl");
  if (lastSamples.length) {
    // Our engine's greedy answers to held-out prompts: what an exported GGUF should answer too.
    await writeFile(path.join(out, "eval_answers.jsonl"), lastSamples.map((s) => JSON.stringify(s)).join("\n") + "\n");
    files.push("eval_answers.jsonl");
  }
  return files;
}
