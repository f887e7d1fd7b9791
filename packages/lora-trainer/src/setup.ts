// Everything that can be wrong with a run's inputs, checked once before the first step: the model (a base model
// given as bytes, or a new one), its tokenizer, the dataset (every bad row reported, nothing dropped silently) and
// the LoRA targets. Shared by the Node trainer (which opens files first) and the in-memory one.
import {
  CHATML_JINJA,
  createTokenizer,
  DatasetError,
  exampleTexts,
  hash53,
  mismatchedRows,
  prepareDataset,
  preparePreferenceDataset,
  Random,
  trainTokenizer,
  withSpecialTokens,
  type ChatTemplate,
  type PreparedExample,
  type ReadEvent,
  type RecordIssue,
  type TextTokenizer,
  type TokenizerFiles,
} from "@neural/dataset";
import type { Graph } from "@neural/graph";
import { MAX_SHAPE_BUCKETS } from "./batching.js";
import { parseConfig, type ModelConfig } from "./models/config.js";
import { buildDecodeGraph } from "./models/decode.js";
import { linearModules, type ForwardOptions } from "./models/transformer.js";
import { graphWeights, type WeightSource } from "./models/weights.js";
import { TrainingError } from "./optimizer.js";
import type { LoraAdapter } from "./peft-format.js";
import { preferenceSpecOf } from "./preference.js";
import type { PreferenceData } from "./preference-run.js";
import type { Precision } from "./precision.js";
import { qloraLinear } from "./qlora.js";
import { createScratchModel, scratchConfig } from "./scratch-model.js";
import type { GraphKey } from "./sessions.js";
import { tokenRowValues, tokenRowWeights, tokenRowsName, withNewTokenRows, withTrainedRows } from "./token-rows.js";
import { TrainConfigError, type TrainConfig } from "./train-config.js";
import { buildEvalGraph, buildStepGraph, type LoraSpec, type StepGraphSpec, type TrainableParam } from "./train-step.js";

/** A base model held in memory (opened from a directory, or a Hugging Face folder dropped on a page). */
export interface BaseModel {
  /** A label for messages and the GGUF's general.name (e.g. the folder's name). */
  name: string;
  /** Parsed config.json. */
  config: Record<string, unknown>;
  /** Its weights by HF name, read as float32 on demand. */
  weights: WeightSource;
  tokenizer: TokenizerFiles;
  /** LoRA weights to start from (the base was given as a PEFT adapter on top of it). */
  adapter?: LoraAdapter;
  /** `config` is the text model of a multimodal checkpoint, whose modules PEFT names model.language_model.*. */
  textTower?: boolean;
}

export interface RunInputs {
  /** Resolved settings (resolveTrainConfig). */
  config: TrainConfig;
  /** The dataset's records and its name for messages; `records()` is read again when a tokenizer is trained on it. */
  dataset: { name: string; records(): AsyncIterable<ReadEvent> };
  /** LoRA (or full fine-tuning) on this model; without it, a new model from the size settings. */
  base?: BaseModel;
  /** A new model's tokenizer (default: one trained on the dataset). */
  tokenizer?: TokenizerFiles;
  /** The smallest shape bucket of batches (default 64). */
  smallestBucket?: number;
  /** Most sequence lengths batches are padded to, each a graph per kind (default 16; fewer where graphs are held in memory). */
  maxShapes?: number;
}

/** A model, tokenizer and data ready to train: the result of every check that runs before the first step. */
export interface PreparedRun {
  config: TrainConfig;
  /** The base model's name, or the dataset's stem for a new model. */
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
  adapter?: LoraAdapter;
  smallestBucket: number;
  /** --method other than sft: the preference rows (train and eval above are empty then). */
  preference?: PreferenceData;
  maxShapes: number;
}

/** `issues`: the bad dataset rows behind a warning (the first 50), each with its file and line. */
export type Note = { type: "info" | "warning"; message: string; issues?: RecordIssue[] };

export async function prepareRun(inputs: RunInputs, emit: (note: Note) => void = () => {}): Promise<PreparedRun> {
  const { config, base, dataset } = inputs;
  let tokenizerFiles: TokenizerFiles;
  let rawModelConfig: Record<string, unknown>;
  let model: ModelConfig;
  let source: WeightSource;
  let addedTokens: number[] = [];
  if (base) {
    model = parseConfig(base.config);
    const chat = chatTokens(inputs.tokenizer ?? base.tokenizer, config, emit, model.family === "phi3");
    tokenizerFiles = chat.files;
    addedTokens = chat.added;
    const rows = Math.max(model.vocabSize, ...addedTokens.map((id) => id + 1));
    rawModelConfig = rows === model.vocabSize ? base.config : { ...base.config, vocab_size: rows };
    if (rows !== model.vocabSize) model = parseConfig(rawModelConfig);
    if (base.textTower) model = { ...model, textTower: true };
    source = addedTokens.length ? withNewTokenRows(base.weights, addedTokens, rows) : base.weights;
  } else {
    if (inputs.tokenizer) tokenizerFiles = chatTokens(inputs.tokenizer, config, emit).files;
    else {
      const vocab = config.vocab_size ?? 4096;
      emit({ type: "info", message: `training a ${vocab}-token BPE tokenizer on ${dataset.name}` });
      const trained = await trainTokenizer(exampleTexts(dataset.records(), dataset.name), {
        vocabSize: vocab,
        modelMaxLength: config.max_length,
      });
      tokenizerFiles = { tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig };
    }
    const t = createTokenizer(tokenizerFiles, config.tokenizer ?? "tokenizer");
    if (config.vocab_size !== undefined && config.vocab_size < t.vocabSize) {
      throw new TrainConfigError(`--vocab_size ${config.vocab_size} is smaller than the tokenizer's ${t.vocabSize} tokens`);
    }
    rawModelConfig = scratchConfig({ ...config, vocab_size: config.vocab_size ?? t.vocabSize }, t.vocabSize, {
      ...(t.bos ? { bos: t.bos.id } : {}),
      ...(t.eos ? { eos: t.eos.id } : {}),
      ...(t.pad ? { pad: t.pad.id } : {}),
    });
    const scratch = createScratchModel(rawModelConfig, config.seed);
    model = scratch.config;
    source = scratch.source;
  }
  const tokenizer = createTokenizer(tokenizerFiles, config.tokenizer ?? "tokenizer");
  if (tokenizer.vocabSize > model.vocabSize) {
    throw new TrainConfigError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has only ${model.vocabSize} rows`,
    );
  }
  if (config.max_length > model.maxPositions) {
    throw new TrainConfigError(
      `--max_length ${config.max_length} exceeds the model's context (max_position_embeddings ${model.maxPositions})`,
    );
  }

  const prepareOptions = {
    tokenizer,
    template: config.template,
    maxLength: config.max_length,
    trainOnInputs: config.train_on_inputs,
    validationSplit: config.validation_split,
    seed: config.seed,
    ...(config.max_samples !== undefined ? { maxSamples: config.max_samples } : {}),
  };
  const spec = preferenceSpecOf(config);
  const pairs = spec ? await preparePreferenceDataset(dataset.records(), dataset.name, prepareOptions) : undefined;
  const data = pairs
    ? { template: pairs.template, train: [], eval: [], stats: pairs.stats }
    : await prepareDataset(dataset.records(), dataset.name, prepareOptions);
  let preference: PreferenceData | undefined;
  if (spec && pairs) {
    const wanted = spec.method === "kto" ? "unpaired" : "pair";
    if (pairs.kind !== wanted) {
      throw new DatasetError(
        `--method ${spec.method} needs ${wanted === "pair" ? '{"prompt", "chosen", "rejected"} rows' : '{"prompt", "completion", "label"} rows'}; this file has ${pairs.kind === "pair" ? "pairs" : "labelled completions"}`,
        dataset.name,
      );
    }
    if (pairs.train.length === 0) throw new DatasetError("no training rows left after the eval split", dataset.name);
    const encode = { template: pairs.template, tokenizer, maxLength: config.max_length };
    preference = {
      spec,
      kind: pairs.kind,
      train: pairs.train,
      eval: pairs.eval,
      ...(spec.method === "kto"
        ? { mismatched: { train: mismatchedRows(pairs.train, encode), eval: pairs.eval.length ? mismatchedRows(pairs.eval, encode) : [] } }
        : {}),
    };
  }
  const s = data.stats;
  if (s.invalid)
    emit({
      type: "warning",
      message: `${s.invalid} invalid record${s.invalid === 1 ? "" : "s"} skipped${s.invalid > s.issues.length ? ` (the first ${s.issues.length} below)` : ""}:`,
      issues: s.issues,
    });
  for (const [reason, n] of Object.entries(s.dropped)) {
    if (n) emit({ type: "warning", message: `${n} example${n === 1 ? "" : "s"} dropped: ${reason.replace(/_/g, " ")}` });
  }
  checkDroppedShare(config, s.valid, ("tooLongLengths" in s ? s.tooLongLengths : undefined) ?? [], model.maxPositions);
  if (data.train.length === 0 && !preference) throw new DatasetError("no training examples left after the eval split", dataset.name);
  if (tokenizer.tokenToId(data.template.endOfTurn) === undefined) {
    emit({ type: "warning", message: `the tokenizer has no "${data.template.endOfTurn}" token: the end of a turn is learned as text` });
  }

  const lora = config.use_lora
    ? { ...loraSpec(config, model), ...(addedTokens.length ? { trainableTokens: addedTokens } : {}) }
    : undefined;
  return {
    config,
    name: base?.name ?? dataset.name.replace(/^.*[/\\]/, "").replace(/\.[^.]*$/, ""),
    model,
    rawModelConfig,
    source,
    tokenizer,
    tokenizerFiles,
    template: data.template,
    train: data.train,
    eval: data.eval,
    ...(lora ? { lora } : {}),
    ...(base?.adapter ? { adapter: base.adapter } : {}),
    smallestBucket: inputs.smallestBucket ?? 64,
    ...(preference ? { preference } : {}),
    maxShapes: inputs.maxShapes ?? MAX_SHAPE_BUCKETS,
  };
}

/** The share of valid examples --max_length may drop as too long before a run stops (--allow_truncation: any). */
export const MAX_DROPPED_SHARE = 0.1;

/** Too many examples lost to --max_length stop the run, saying how many and what length would keep them. */
function checkDroppedShare(config: TrainConfig, valid: number, tooLong: readonly number[], context: number): void {
  if (config.allow_truncation || tooLong.length === 0 || tooLong.length <= MAX_DROPPED_SHARE * valid) return;
  const fit = (n: number) => Math.ceil(n / 64) * 64;
  const keepAll = fit(Math.max(...tooLong));
  const beyond = keepAll > context ? ` (more than the model's context, ${context})` : "";
  throw new TrainConfigError(
    `--max_length ${config.max_length} drops ${tooLong.length} of ${valid} examples (${((100 * tooLong.length) / valid).toFixed(1)}%, more than ${100 * MAX_DROPPED_SHARE}%) as too long: ` +
      `--max_length ${keepAll} would keep them all${beyond}; or pass --allow_truncation to train on the ${valid - tooLong.length} that fit`,
  );
}

/**
 * Under --template chatml, the ChatML markers the tokenizer lacks become special tokens (NornicDB writes them and
 * stops on <|im_end|>, so they must be single tokens), and the tokenizer's chat_template becomes ChatML's.
 */
function chatTokens(
  files: TokenizerFiles,
  config: TrainConfig,
  emit: (note: Note) => void,
  phi3 = false,
): { files: TokenizerFiles; added: number[] } {
  if (config.template !== "chatml") return { files, added: [] };
  // llama.cpp makes every control token of a model named Phi-3 take the whitespace after it (docs/tokenizers.md):
  // the added markers do so in training too, as Phi-3's own markers do
  const grown = withSpecialTokens(files, CHATML_MARKERS, config.tokenizer ?? "tokenizer", { rstrip: phi3 });
  if (grown.added.length) {
    // the base's own chat template is not what the model is trained on any more
    grown.files.config.chat_template = CHATML_JINJA;
    emit({
      type: "info",
      message: `the tokenizer has no ${grown.added.map((t) => t.text).join(" or ")}: added as special token${grown.added.length === 1 ? "" : "s"} ${grown.added.map((t) => t.id).join(", ")}, whose embedding rows train with the run`,
    });
  }
  return { files: grown.files, added: grown.added.map((t) => t.id) };
}

const CHATML_MARKERS = ["<|im_start|>", "<|im_end|>"];

/** The LoRA settings of a config for a model. */
export function loraSpec(config: TrainConfig, model: ModelConfig): LoraSpec {
  return {
    rank: config.lora_r,
    alpha: config.lora_alpha,
    rsLora: config.use_rslora,
    targets: loraTargets(config.lora_target_modules, model),
    dropout: config.lora_dropout,
  };
}

/**
 * LoRA targets as the family's short module names: every linear layer by default ("all-linear" too). Names may
 * carry a path (model.layers.0.self_attn.q_proj); Phi-3's fused layers stand in for the names they fuse.
 */
export function loraTargets(requested: readonly string[] | undefined, model: ModelConfig): string[] {
  const available = linearModules(model).map((m) => m.slice(m.indexOf(".") + 1));
  if (!requested || requested.length === 0 || requested.includes("all-linear")) return available;
  const fused: Record<string, string> = {
    q_proj: "qkv_proj",
    k_proj: "qkv_proj",
    v_proj: "qkv_proj",
    gate_proj: "gate_up_proj",
    up_proj: "gate_up_proj",
  };
  const chosen = new Set<string>();
  for (const name of requested) {
    const short = name.slice(name.lastIndexOf(".") + 1);
    const mapped = available.includes(short) ? short : available.includes(fused[short] ?? "") ? fused[short]! : undefined;
    if (!mapped) throw new TrainConfigError(`LoRA target ${name}: a ${model.family} model's linear layers are ${available.join(", ")}`);
    chosen.add(mapped);
  }
  return available.filter((a) => chosen.has(a));
}

/**
 * The trainable tensors' starting values: an adapter's, or LoRA as PEFT initializes it (A uniform in ±1/√in,
 * B zero), or copies of the base weights (the optimizer updates them in place; a source may hand out its own).
 */
export async function initialValues(run: PreparedRun, params: readonly TrainableParam[]): Promise<Map<string, Float32Array>> {
  const values = new Map<string, Float32Array>();
  const tokens = run.lora?.trainableTokens;
  if (tokens?.length) {
    const rows = await tokenRowValues(run.source, tokens);
    for (const [name, data] of rows)
      values.set(name, run.adapter?.tokenRows?.get(name.replace(/\.trainable_tokens$/, ".weight"))?.values ?? data);
  }
  if (run.adapter) {
    for (const p of params) {
      if (values.has(p.name)) continue;
      const module = run.adapter.modules.get(p.name.replace(/\.lora_[AB]$/, ""));
      if (!module) throw new TrainingError(`the adapter has no weights for ${p.name}`);
      values.set(p.name, Float32Array.from(p.name.endsWith(".lora_A") ? module.a : module.b));
    }
  } else if (run.lora) {
    const random = new Random(hash53("lora-init", run.config.seed));
    for (const p of params) {
      if (values.has(p.name)) continue;
      const n = p.shape[0]! * p.shape[1]!;
      const bound = 1 / Math.sqrt(p.shape[1]!);
      values.set(
        p.name,
        p.name.endsWith(".lora_A") ? Float32Array.from({ length: n }, () => (random.next() * 2 - 1) * bound) : new Float32Array(n),
      );
    }
  } else {
    for (const p of params) values.set(p.name, Float32Array.from(await run.source.read(p.name)));
  }
  return values;
}

/** The graph of each key of a run: training steps, evaluation and decoding, on the base weights as stored. */
export function runGraphs(run: PreparedRun): (key: GraphKey, precision: Precision) => Graph {
  const { lora, model, source } = run;
  // QLoRA: how every graph of the run applies the 4-bit base weights (qlora.ts)
  const linear = run.config.use_qlora ? qloraLinear(source) : undefined;
  return (key, precision) => {
    if (key.kind === "decode") {
      const tokens = lora?.trainableTokens;
      const weights = (g: Graph) => {
        const base = graphWeights(g, source, lora ? {} : { asInput: () => true });
        if (!tokens?.length) return base;
        const rows = new Map(
          tokenRowWeights(source).map((w) => [w, g.input(tokenRowsName(w), "float32", [tokens.length, source.shape(w)[1]!])]),
        );
        return withTrainedRows(g, base, tokens, (w) => rows.get(w));
      };
      return buildDecodeGraph(model, weights, {
        batch: key.batch,
        slots: key.seq,
        forward: (g) => ({
          ...(linear ? { linear } : {}),
          ...(lora ? { lora: loraInputs(g, lora) } : {}),
        }),
      });
    }
    const spec: Omit<StepGraphSpec, "kind"> = {
      config: model,
      source,
      batch: key.batch,
      seq: key.seq,
      ...(key.answers !== undefined ? { answers: key.answers } : {}),
      ...(lora ? { lora } : {}),
      recompute: run.config.gradient_checkpointing,
      ...(linear ? { linear } : {}),
      ...(precision !== "float32" ? { precision } : {}),
      ...(run.preference ? { preference: run.preference.spec } : {}),
    };
    return key.kind === "eval" ? buildEvalGraph(spec) : buildStepGraph({ ...spec, kind: key.kind }).graph;
  };
}

/** LoRA weights as graph inputs named after the trainable tensors (the decoder reads the values being trained). */
function loraInputs(g: Graph, lora: LoraSpec): NonNullable<ForwardOptions["lora"]> {
  return {
    targets: lora.targets,
    rank: lora.rank,
    alpha: lora.alpha,
    rsLora: lora.rsLora,
    weights: (module, shape) => ({
      a: g.input(`${module}.lora_A`, "float32", [shape.rank, shape.in]),
      b: g.input(`${module}.lora_B`, "float32", [shape.out, shape.rank]),
    }),
  };
}
