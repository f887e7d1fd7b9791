// Training in memory on any ONNX Runtime: a dataset's bytes in, a GGUF (and safetensors, tokenizer, PEFT adapter)
// out as bytes. The same graphs as `neural train` (@neural/lora-trainer's one-graph optimizer step, eval graph and
// decode graph), the same settings (the CLI's flag names), the same dataset checks and messages (@neural/dataset);
// only the loop is this package's, because the CLI's trainer writes checkpoints and outputs to disk.
import {
  createTokenizer,
  DatasetError,
  hash53,
  pack,
  prepareDataset,
  Random,
  batches,
  trainTokenizer,
  unpacked,
  type ChatTemplate,
  type PreparedExample,
  type ReadEvent,
  type TextTokenizer,
  type TokenizerFiles,
} from "@neural/dataset";
import { Graph, type TypedArray } from "@neural/graph";
import {
  buildDecodeGraph,
  buildEvalGraph,
  adamwInPlace,
  adamwScalars,
  buildStepGraph,
  createScratchModel,
  generate,
  graphWeights,
  learningRateAt,
  padIdOf,
  linearModules,
  parseConfig,
  resolveTrainConfig,
  scratchConfig,
  stepNames,
  trainableParams,
  TrainConfigError,
  type LoraSpec,
  type ModelConfig,
  type StepGraphSpec,
  type TrainableParam,
  type TrainConfig,
  type WeightSource,
} from "@neural/lora-trainer";
import { batchFeeds, epochBatches, formatIssue, learnedTargets, readDataset, shapeBuckets, validateDataset, tokenizerTexts, type DatasetInput } from "./data.js";
import { exportModel, type ExportSettings, type OutputFile } from "./export.js";
import { GraphSession, WebTrainerError, type OrtRuntime, type SessionSettings } from "./runtime.js";

/** A base model held in memory (e.g. a Hugging Face folder dropped on a page): LoRA trains on top of it. */
export interface BaseModel {
  /** A label for messages and the GGUF's general.name (e.g. the folder's name). */
  name: string;
  /** Parsed config.json. */
  config: Record<string, unknown>;
  /** Its weights by HF name, read as float32 on demand. */
  weights: WeightSource;
  tokenizer: TokenizerFiles;
}

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
  | { type: "step"; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; tokens: number; seconds: number; tokensPerSecond: number }
  | { type: "eval"; step: number; loss: number; accuracy: number; exactMatch?: number; samples: EvalSample[] }
  | { type: "export"; message: string };

export interface EvalSample {
  /** The last user message. */
  prompt: string;
  /** The conversation before the answer. */
  messages: { role: string; content: string }[];
  expected: string;
  /** Our engine's greedy answer. */
  generated: string;
}

export interface WebTrainOptions {
  /** The ONNX Runtime module: `onnxruntime-web` in a browser, `onnxruntime-node` in Node. */
  ort: OrtRuntime;
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
  stopped: "completed" | "interrupted" | "diverged";
  provider: string;
  /** The training loss of every step. */
  losses: number[];
  lastEval?: { loss: number; accuracy: number; exactMatch?: number; samples: EvalSample[] };
  /** Tokens per second over all steps but the first (which includes creating the session). */
  tokensPerSecond: number;
  /** The GGUF, the model (or adapter) in Hugging Face's layout, the tokenizer and the settings. */
  files: OutputFile[];
  config: TrainConfig;
}

/** Train, evaluate and export, all in memory. Throws DatasetError, TrainConfigError or WebTrainerError. */
export async function trainInMemory(options: WebTrainOptions): Promise<WebTrainResult> {
  const emit = options.onEvent ?? (() => {});
  const setup = await prepare(options, emit);
  return run(setup, options, emit);
}

interface Setup {
  config: TrainConfig;
  name: string;
  model: ModelConfig;
  rawModelConfig: Record<string, unknown>;
  source: WeightSource;
  tokenizer: TextTokenizer;
  tokenizerFiles: TokenizerFiles;
  template: ChatTemplate;
  train: PreparedExample[];
  eval: PreparedExample[];
  lora?: LoraSpec;
}

async function prepare(options: WebTrainOptions, emit: (e: WebTrainEvent) => void): Promise<Setup> {
  const file = options.dataset.name;
  const base = options.base;
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
  if (config.use_qlora) throw new TrainConfigError("use_qlora: 4-bit base weights are not available here; train LoRA on the full-precision base");

  const events = await readDataset(options.dataset);
  const report = await validateDataset(events, file, { maxShown: 50 });
  if (report.errors.total) emit({ type: "issues", issues: report.errors.shown.map(formatIssue), invalid: report.errors.total, records: report.records });

  let tokenizerFiles: TokenizerFiles;
  let rawModelConfig: Record<string, unknown>;
  let model: ModelConfig;
  let source: WeightSource;
  if (base) {
    tokenizerFiles = base.tokenizer;
    rawModelConfig = base.config;
    model = parseConfig(base.config);
    source = base.weights;
  } else {
    if (options.tokenizer) tokenizerFiles = options.tokenizer;
    else {
      emit({ type: "info", message: `training a ${config.vocab_size}-token BPE tokenizer on ${file}` });
      const trained = await trainTokenizer(tokenizerTexts(events, file), { vocabSize: config.vocab_size!, modelMaxLength: config.max_length });
      tokenizerFiles = { tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig };
    }
    const t = createTokenizer(tokenizerFiles, "tokenizer");
    if (config.vocab_size !== undefined && config.vocab_size < t.vocabSize) {
      throw new TrainConfigError(`vocab_size ${config.vocab_size} is smaller than the tokenizer's ${t.vocabSize} tokens`);
    }
    rawModelConfig = scratchConfig({ ...config, vocab_size: t.vocabSize }, t.vocabSize, {
      ...(t.bos ? { bos: t.bos.id } : {}),
      ...(t.eos ? { eos: t.eos.id } : {}),
      ...(t.pad ? { pad: t.pad.id } : {}),
    });
    const scratch = createScratchModel(rawModelConfig, config.seed);
    model = scratch.config;
    source = scratch.source;
  }
  const tokenizer = createTokenizer(tokenizerFiles, "tokenizer");
  if (tokenizer.vocabSize > model.vocabSize) {
    throw new TrainConfigError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has only ${model.vocabSize} rows`);
  }
  if (config.max_length > model.maxPositions) {
    throw new TrainConfigError(`max_length ${config.max_length} exceeds the model's context (max_position_embeddings ${model.maxPositions})`);
  }

  const data = await prepareDataset(
    (async function* (): AsyncGenerator<ReadEvent> {
      yield* events;
    })(),
    file,
    {
      tokenizer,
      template: config.template,
      maxLength: config.max_length,
      trainOnInputs: config.train_on_inputs,
      validationSplit: config.validation_split,
      seed: config.seed,
      ...(config.max_samples !== undefined ? { maxSamples: config.max_samples } : {}),
    },
  );
  const s = data.stats;
  if (s.invalid) emit({ type: "warning", message: `${s.invalid} invalid record${s.invalid === 1 ? "" : "s"} skipped` });
  for (const [reason, n] of Object.entries(s.dropped)) {
    if (n) emit({ type: "warning", message: `${n} example${n === 1 ? "" : "s"} dropped: ${reason.replace(/_/g, " ")}` });
  }
  if (data.train.length === 0) throw new DatasetError("no training examples left after the eval split", file);

  let lora: LoraSpec | undefined;
  if (config.use_lora) {
    const available = linearModules(model).map((m) => m.slice(m.indexOf(".") + 1));
    const requested = config.lora_target_modules;
    const targets = !requested || requested.length === 0 || requested.includes("all-linear") ? available : available.filter((a) => requested.some((r) => r.endsWith(a)));
    if (targets.length === 0) throw new TrainConfigError(`lora_target_modules: a ${model.family} model's linear layers are ${available.join(", ")}`);
    lora = { rank: config.lora_r, alpha: config.lora_alpha, rsLora: config.use_rslora, targets, dropout: config.lora_dropout };
  }
  return { config, name: base?.name ?? file.replace(/\.[^.]*$/, ""), model, rawModelConfig, source, tokenizer, tokenizerFiles, template: data.template, train: data.train, eval: data.eval, ...(lora ? { lora } : {}) };
}

/** Sessions per graph kind and shape, created on first use. */
class Sessions {
  private sessions = new Map<string, Promise<GraphSession>>();
  provider = "";

  constructor(
    private readonly ort: OrtRuntime,
    private readonly settings: SessionSettings,
    private readonly emit: (e: WebTrainEvent) => void,
  ) {}

  get(key: string, build: () => Graph): Promise<GraphSession> {
    let entry = this.sessions.get(key);
    if (!entry) {
      entry = GraphSession.create(this.ort, build(), this.provider ? { ...this.settings, executionProviders: [this.provider] } : this.settings).then((s) => {
        if (!this.provider) {
          this.provider = s.provider;
          if (s.message) this.emit({ type: "warning", message: s.message });
          this.emit({ type: "info", message: `running on ONNX Runtime's ${s.provider} execution provider` });
        }
        return s;
      });
      this.sessions.set(key, entry);
    }
    return entry;
  }

  async release(): Promise<void> {
    for (const entry of this.sessions.values()) await (await entry.catch(() => undefined))?.release();
    this.sessions.clear();
  }
}


function promptOf(template: ChatTemplate, e: PreparedExample): string {
  if (e.example.kind !== "chat") return "";
  const messages = e.example.messages;
  return template.prompt(messages.slice(0, messages.map((m) => m.role).lastIndexOf("assistant")));
}

async function run(setup: Setup, options: WebTrainOptions, emit: (e: WebTrainEvent) => void): Promise<WebTrainResult> {
  const { config, model, lora } = setup;
  const sessions = new Sessions(options.ort, { executionProviders: ["wasm"], ...options.session }, emit);
  const optimizer = { beta1: config.adam_beta1, beta2: config.adam_beta2, epsilon: config.adam_epsilon, weightDecay: config.weight_decay, maxGradNorm: config.max_grad_norm };
  const spec = (batch: number, seq: number): Omit<StepGraphSpec, "kind" | "optimizer"> => ({
    config: model,
    source: setup.source,
    batch,
    seq,
    ...(lora ? { lora } : {}),
    recompute: config.gradient_checkpointing,
  });
  const runGraph = async (kind: "step" | "accumulate" | "step-acc" | "eval", batch: number, seq: number, feeds: Record<string, TypedArray>) => {
    const session = await sessions.get(`${kind}-${batch}x${seq}`, () =>
      kind === "eval"
        ? buildEvalGraph(spec(batch, seq))
        : buildStepGraph({ ...spec(batch, seq), optimizer, kind: kind === "accumulate" ? "accumulate" : "gradients", withAccumulators: kind === "step-acc" }).graph,
    );
    return session.run(feeds);
  };

  // Trainable tensors: LoRA adapters (A random, B zero, as PEFT initializes them), or every weight.
  const params: TrainableParam[] = trainableParams(model, setup.source, lora);
  const values = new Map<string, Float32Array>();
  if (lora) {
    const random = new Random(hash53("lora-init", config.seed));
    for (const p of params) {
      const n = p.shape[0]! * p.shape[1]!;
      const bound = 1 / Math.sqrt(p.shape[1]!);
      values.set(p.name, p.name.endsWith(".lora_A") ? Float32Array.from({ length: n }, () => (random.next() * 2 - 1) * bound) : new Float32Array(n));
    }
  } else for (const p of params) values.set(p.name, Float32Array.from(await setup.source.read(p.name)));
  const m = new Map<string, Float32Array>(params.map((p) => [p.name, new Float32Array(values.get(p.name)!.length)]));
  const v = new Map<string, Float32Array>(params.map((p) => [p.name, new Float32Array(values.get(p.name)!.length)]));

  const batchSettings = { batchSize: config.batch_size, maxLength: config.max_length, packing: config.packing, padId: padIdOf(setup.tokenizer), seed: config.seed };
  let epoch = 0;
  let batchInEpoch = 0;
  let epochData = epochBatches(setup.train, 0, batchSettings);
  const stepsPerEpoch = Math.ceil(epochData.length / config.gradient_accumulation);
  const totalSteps = config.max_steps ?? Math.max(1, Math.ceil(config.epochs * stepsPerEpoch));
  const totalParameters = setup.source.names.reduce((n, name) => n + setup.source.shape(name).reduce((a, b) => a * b, 1), 0);

  // The decoder for sample answers: the same weights, trainable ones fed as inputs.
  let decoder: { session: GraphSession; batch: number; slots: number } | undefined;
  const chats = setup.eval.filter((e) => e.example.kind === "chat").slice(0, options.evalSamples ?? 16);
  const openDecoder = async () => {
    const longest = Math.max(1, ...chats.map((e) => setup.tokenizer.encode(promptOf(setup.template, e)).length + 1));
    const slots = Math.min(model.maxPositions, longest + config.max_new_tokens);
    const batch = Math.max(1, chats.length);
    const graph = buildDecodeGraph(model, (g) => graphWeights(g, setup.source, lora ? {} : { asInput: () => true }), {
      batch,
      slots,
      ...(lora
        ? {
            forward: (g: Graph) => ({
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
    return { session: await sessions.get("decode", () => graph), batch, slots };
  };

  const answers = async (): Promise<{ exactMatch: number; samples: EvalSample[] } | undefined> => {
    if (chats.length === 0 || !config.eval_generate) return undefined;
    decoder ??= await openDecoder();
    const d = decoder;
    const { tokenizer, template } = setup;
    const stop = [tokenizer.tokenToId(template.endOfTurn), tokenizer.eos?.id].filter((x): x is number => x !== undefined);
    const prompts = chats.map((e) => {
      const ids = tokenizer.encode(promptOf(template, e));
      return tokenizer.addBos && tokenizer.bos ? [tokenizer.bos.id, ...ids] : ids;
    });
    const weights = Object.fromEntries(values);
    const outputs = await generate(
      {
        async run(ids, positions, keys, vals) {
          const feeds: Record<string, TypedArray> = { ...weights, input_ids: ids, position_ids: positions };
          keys.forEach((k, l) => (feeds[`past.${l}.key`] = k));
          vals.forEach((x, l) => (feeds[`past.${l}.value`] = x));
          const out = await d.session.run(feeds);
          return {
            logits: out.logits as Float32Array,
            keys: keys.map((_, l) => out[`present.${l}.key`] as Float32Array),
            values: vals.map((_, l) => out[`present.${l}.value`] as Float32Array),
          };
        },
      },
      model,
      { batch: d.batch, slots: d.slots },
      prompts,
      { maxNewTokens: config.max_new_tokens, temperature: 0, stopTokens: stop },
    );
    let hits = 0;
    const samples = chats.map((e, i) => {
      const ids = outputs[i]!.filter((id) => !stop.includes(id));
      const generated = tokenizer.decode(ids).trim();
      const messages = e.example.kind === "chat" ? e.example.messages : [];
      const expected = messages.filter((x) => x.role === "assistant").at(-1)!.content.trim();
      if (generated === expected) hits++;
      const last = messages.map((x) => x.role).lastIndexOf("assistant");
      return {
        prompt: messages.filter((x) => x.role === "user").at(-1)?.content ?? "",
        messages: messages.slice(0, last).map(({ role, content }) => ({ role, content })),
        expected,
        generated,
      };
    });
    return { exactMatch: hits / chats.length, samples };
  };

  const evaluate = async () => {
    let lossSum = 0;
    let count = 0;
    let correct = 0;
    const encoded = setup.eval.map((e) => e.encoded);
    const sequences = config.packing ? pack(encoded, config.max_length) : unpacked(encoded);
    const trainable = Object.fromEntries(params.map((p) => [p.name, values.get(p.name)!]));
    for (const batch of batches(sequences, { batchSize: config.eval_batch_size, padId: padIdOf(setup.tokenizer), buckets: shapeBuckets(config.max_length, 32) })) {
      const out = await runGraph("eval", batch.batchSize, batch.seqLen, { ...batchFeeds(batch), ...trainable });
      lossSum += Number(out.loss_sum![0]);
      count += Number(out.count![0]);
      correct += Number(out.correct![0]);
    }
    const scored = await answers();
    return {
      loss: count ? lossSum / count : Number.NaN,
      accuracy: count ? correct / count : Number.NaN,
      ...(scored ? { exactMatch: scored.exactMatch } : {}),
      samples: scored?.samples ?? [],
    };
  };

  const losses: number[] = [];
  let lastEval: WebTrainResult["lastEval"];
  let stopped: WebTrainResult["stopped"] = "completed";
  let step = 0;
  let tokensAfterFirst = 0;
  let secondsAfterFirst = 0;
  try {
    // The first session (the step graph) decides the provider; report it before the first step.
    const first = epochData[0]!;
    const firstKind = Math.min(config.gradient_accumulation, epochData.length) > 1 ? "accumulate" : "step";
    await sessions.get(`${firstKind}-${first.batchSize}x${first.seqLen}`, () => buildStepGraph({ ...spec(first.batchSize, first.seqLen), optimizer, kind: firstKind === "step" ? "gradients" : firstKind }).graph);
    emit({
      type: "start",
      mode: lora ? "lora" : "full",
      provider: sessions.provider,
      vocabSize: setup.tokenizer.vocabSize,
      trainableParameters: params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
      totalParameters,
      trainExamples: setup.train.length,
      evalExamples: setup.eval.length,
      totalSteps,
    });
    while (step < totalSteps) {
      if (options.signal?.aborted) {
        stopped = "interrupted";
        break;
      }
      if (batchInEpoch >= epochData.length) {
        epoch++;
        batchInEpoch = 0;
        epochData = epochBatches(setup.train, epoch, batchSettings);
      }
      const group = epochData.slice(batchInEpoch, batchInEpoch + config.gradient_accumulation);
      const learned = group.reduce((n, b) => n + learnedTargets(b), 0);
      const t0 = performance.now();
      const lr = learningRateAt(step, { learningRate: config.learning_rate, warmupSteps: config.warmup_steps, totalSteps, kind: config.lr_scheduler });
      const shared: Record<string, TypedArray> = {
        [stepNames.invCount]: Float32Array.of(1 / Math.max(1, learned)),
      };
      for (const p of params) shared[p.name] = values.get(p.name)!;
      let acc: Record<string, TypedArray> | undefined;
      let loss = 0;
      let out: Record<string, TypedArray> = {};
      for (let k = 0; k < group.length; k++) {
        const batch = group[k]!;
        const feeds: Record<string, TypedArray> = { ...shared, ...batchFeeds(batch), [stepNames.dropoutSeed]: Float32Array.of(hash53(`dropout:${step}:${k}`, config.seed) % 100_000) };
        const last = k === group.length - 1;
        if (!last || acc) {
          acc ??= Object.fromEntries(params.map((p) => [stepNames.acc(p.name), new Float32Array(values.get(p.name)!.length)]));
          Object.assign(feeds, acc);
        }
        out = await runGraph(last ? (acc ? "step-acc" : "step") : "accumulate", batch.batchSize, batch.seqLen, feeds);
        loss += Number(out[stepNames.loss]![0]);
        if (!last) acc = Object.fromEntries(params.map((p) => [stepNames.acc(p.name), out[stepNames.newAcc(p.name)]!]));
      }
      const gradNorm = Number(out[stepNames.gradNorm]![0]);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        emit({ type: "warning", message: `step ${step + 1}: loss ${loss}, gradient norm ${gradNorm}: stopping; the weights before this step are kept` });
        stopped = "diverged";
        break;
      }
      const scalars = adamwScalars(optimizer, { lr, step: step + 1, gradNorm });
      for (const p of params) adamwInPlace(values.get(p.name)!, out[stepNames.grad(p.name)] as Float32Array, m.get(p.name)!, v.get(p.name)!, scalars, p.decay);
      step++;
      batchInEpoch += group.length;
      const seconds = (performance.now() - t0) / 1000;
      const tokens = group.reduce((n, b) => n + b.tokens, 0);
      if (step > 1) {
        tokensAfterFirst += tokens;
        secondsAfterFirst += seconds;
      }
      losses.push(loss);
      emit({ type: "step", step, totalSteps, epoch: epoch + batchInEpoch / Math.max(1, epochData.length), loss, lr, gradNorm, tokens, seconds, tokensPerSecond: tokens / seconds });
      if (setup.eval.length > 0 && (step % config.eval_steps === 0 || step === totalSteps)) {
        const e = await evaluate();
        lastEval = e;
        emit({ type: "eval", step, ...e });
      }
    }
    if (stopped !== "completed" && step > 0 && setup.eval.length > 0) lastEval = await evaluate();
  } finally {
    await sessions.release();
  }

  if (step === 0) throw new WebTrainerError(stopped === "interrupted" ? "stopped before the first step" : "the first step diverged: nothing to export");
  emit({ type: "export", message: "writing the model and its GGUF" });
  const files = await exportModel(
    {
      name: setup.name,
      rawConfig: setup.rawModelConfig,
      source: setup.source,
      params,
      values,
      tokenizer: setup.tokenizerFiles,
      settings: setup.config,
      ...(lora ? { lora } : {}),
    },
    options.export ?? {},
    (message) => emit({ type: "export", message }),
  );
  return {
    steps: step,
    stopped,
    provider: sessions.provider,
    losses,
    ...(lastEval ? { lastEval } : {}),
    tokensPerSecond: secondsAfterFirst > 0 ? tokensAfterFirst / secondsAfterFirst : Number.NaN,
    files,
    config: setup.config,
  };
}
