// The training settings: one table, one line per setting (group, default, help, constraints). The TrainConfig type,
// the defaults, the JSON Schema of a config file, the CLI's flags and help, and the settings a resumed run must keep
// are all read from it. Keys are snake_case, so a YAML/JSON config file and the command line mirror each other.
// Resolution: defaults < preset < config file < flags given on the command line. Zero is a value, never "unset".
import { hash53 } from "@neural/dataset";
import { Ajv } from "ajv";

/** The groups of settings, in the order help lists them. */
export const SETTING_GROUPS = ["data", "model", "LoRA", "optimisation", "preference", "evaluation", "output", "device"] as const;
export type SettingGroup = (typeof SETTING_GROUPS)[number];

/** One training setting. `D` is the type of its default: `undefined` makes the setting optional. */
export interface Setting<T = unknown, D extends T | undefined = T | undefined> {
  group: SettingGroup;
  default: D;
  /** One sentence for --help. */
  help: string;
  /** For a setting without a default: what leaving it out means (help shows it as the default). */
  unset?: string;
  /** JSON Schema of the value. */
  schema: Readonly<Record<string, unknown>>;
  /** A resumed run must have the same value (model, data, batch shape, optimizer, seed). */
  resume: boolean;
  /** Only carries T. */
  readonly value?: T;
}

interface Limits {
  minimum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  resume?: boolean;
}

const make = <T, D extends T | undefined>(
  group: SettingGroup,
  def: D,
  help: string,
  schema: Record<string, unknown>,
  resume = false,
): Setting<T, D> => ({
  group,
  default: def,
  help,
  schema,
  resume,
});
const limits = ({ resume: _, ...rest }: Limits) => rest;

const text = <D extends string | undefined>(group: SettingGroup, def: D, help: string, o: { resume?: boolean; empty?: boolean } = {}) =>
  make<string, D>(group, def, help, o.empty ? { type: "string" } : { type: "string", minLength: 1 }, o.resume);
const choice = <const C extends readonly string[], D extends C[number] | undefined>(
  group: SettingGroup,
  choices: C,
  def: D,
  help: string,
  o: { resume?: boolean } = {},
) => make<C[number], D>(group, def, help, { enum: choices }, o.resume);
const integer = <D extends number | undefined>(group: SettingGroup, def: D, help: string, o: Limits = {}) =>
  make<number, D>(group, def, help, { type: "integer", ...limits(o) }, o.resume);
const number = <D extends number | undefined>(group: SettingGroup, def: D, help: string, o: Limits = {}) =>
  make<number, D>(group, def, help, { type: "number", ...limits(o) }, o.resume);
const flag = (group: SettingGroup, def: boolean, help: string, o: { resume?: boolean } = {}) =>
  make<boolean, boolean>(group, def, help, { type: "boolean" }, o.resume);
const list = (group: SettingGroup, help: string, o: { resume?: boolean } = {}) =>
  make<string[], undefined>(group, undefined, help, { type: "array", items: { type: "string" }, minItems: 1 }, o.resume);

export const MODEL_FAMILIES = ["llama", "mistral", "qwen2", "phi3"] as const;
export type ModelFamilyName = (typeof MODEL_FAMILIES)[number];
export const DEVICES = ["auto", "cpu", "cuda", "coreml", "webgpu"] as const;
export type Device = (typeof DEVICES)[number];
export const SCHEDULERS = ["cosine", "linear", "constant"] as const;
export type Scheduler = (typeof SCHEDULERS)[number];

const RESUME = { resume: true } as const;

/**
 * Every training setting. The order is the order of flags in help within each group, and the order of the resume
 * key's fields (changing it would refuse to resume checkpoints written before).
 */
/** What a run optimises: next-token cross-entropy, or a preference objective (preference.ts; TRL's trainers). */
export const TRAIN_METHODS = ["sft", "dpo", "orpo", "simpo", "kto"] as const;
export type TrainMethod = (typeof TRAIN_METHODS)[number];
export const DPO_LOSS_TYPES = ["sigmoid", "ipo", "hinge"] as const;

// prettier-ignore: one line per setting
export const SETTINGS = {
  preset: text("model", undefined, "a named starting point", { empty: true }),
  base_model: text(
    "model",
    undefined,
    "a Hugging Face model id (from the HF cache, or downloaded), a local model directory, or a PEFT adapter directory",
    RESUME,
  ),
  dataset: text("data", "data/training.jsonl", "the JSONL (or JSON array) dataset", RESUME),
  output_dir: text("output", "models/trained", "where the adapter or model, checkpoints, metrics and the loss curve go"),
  tokenizer: text(
    "model",
    undefined,
    "a tokenizer directory to use instead of the model's (from scratch: instead of training one on the dataset)",
  ),
  template: choice(
    "data",
    ["chatml", "alpaca", "model"],
    "chatml",
    "the prompt format: chatml (NornicDB's), alpaca, or the model's own chat_template",
    RESUME,
  ),
  max_length: integer("data", 2048, "the longest sequence in tokens", { minimum: 2, ...RESUME }),
  packing: flag("data", true, "pack several examples into each sequence (--no-packing: one per row)", RESUME),
  group_by_length: flag(
    "data",
    true,
    "with --no-packing: batch rows of alike length (little padding); off: random batches, as a small dataset of repeated rows may need",
    RESUME,
  ),
  train_on_inputs: flag("data", false, "learn the prompts too, not only the answers", RESUME),
  method: choice(
    "preference",
    TRAIN_METHODS,
    "sft",
    "sft (answers), or a preference method on {prompt, chosen, rejected} rows (dpo, orpo, simpo) or {prompt, completion, label} rows (kto)",
  ),
  beta: number("preference", undefined, "the preference strength β", { exclusiveMinimum: 0 }),
  loss_type: choice("preference", DPO_LOSS_TYPES, "sigmoid", "DPO's loss: sigmoid (DPO), ipo (IPO, length-normalised) or hinge"),
  rpo_alpha: number("preference", undefined, "DPO: add the chosen answers' NLL times this (RPO)", { minimum: 0 }),
  simpo_gamma: number("preference", 0.5, "SimPO's target reward margin γ", { minimum: 0 }),
  cpo_alpha: number("preference", 0, "SimPO: add the chosen answers' NLL times this (0: SimPO as published)", { minimum: 0 }),
  desirable_weight: number("preference", 1, "KTO: the weight of desirable (label true) rows' loss", { exclusiveMinimum: 0 }),
  undesirable_weight: number("preference", 1, "KTO: the weight of undesirable (label false) rows' loss", { exclusiveMinimum: 0 }),
  validation_split: number("data", 0.1, "the share of the data held out for evaluation", { minimum: 0, exclusiveMaximum: 1, ...RESUME }),
  max_samples: integer("data", undefined, "use only the first N valid records", { minimum: 1, ...RESUME }),
  allow_truncation: flag("data", false, "train even when --max_length drops more than 10% of the examples as too long"),
  batch_size: integer("optimisation", 4, "sequences per micro-batch", { minimum: 1, ...RESUME }),
  eval_batch_size: integer("evaluation", 4, "sequences per evaluation batch", { minimum: 1 }),
  gradient_accumulation: integer("optimisation", 8, "micro-batches per optimizer step", { minimum: 1, ...RESUME }),
  epochs: number("optimisation", 3, "passes over the data (fractions allowed)", { minimum: 0, ...RESUME }),
  max_steps: integer("optimisation", undefined, "stop after this many optimizer steps (overrides --epochs)", { minimum: 0, ...RESUME }),
  learning_rate: number("optimisation", 2e-4, "the peak learning rate", { minimum: 0, ...RESUME }),
  lr_scheduler: choice("optimisation", SCHEDULERS, "cosine", "how the learning rate decays after warmup", RESUME),
  warmup_steps: integer("optimisation", 100, "optimizer steps of linear warmup", { minimum: 0, ...RESUME }),
  weight_decay: number("optimisation", 0.01, "AdamW's decoupled weight decay", { minimum: 0, ...RESUME }),
  max_grad_norm: number("optimisation", 1.0, "clip the global gradient norm to this (0: no clipping)", { minimum: 0, ...RESUME }),
  adam_beta1: number("optimisation", 0.9, "AdamW's decay of the first moment", { minimum: 0, exclusiveMaximum: 1, ...RESUME }),
  adam_beta2: number("optimisation", 0.999, "AdamW's decay of the second moment", { minimum: 0, exclusiveMaximum: 1, ...RESUME }),
  adam_epsilon: number("optimisation", 1e-8, "AdamW's epsilon", { exclusiveMinimum: 0, ...RESUME }),
  use_lora: flag("LoRA", true, "train LoRA adapters (--no-use_lora: every weight, full fine-tuning)", RESUME),
  lora_r: integer("LoRA", 16, "the LoRA rank", { minimum: 1, ...RESUME }),
  lora_alpha: number("LoRA", 32, "LoRA's alpha (the adapter is scaled by alpha/r)", { exclusiveMinimum: 0, ...RESUME }),
  lora_dropout: number("LoRA", 0.05, "dropout on the LoRA branch", { minimum: 0, exclusiveMaximum: 1, ...RESUME }),
  lora_target_modules: list("LoRA", "comma-separated linear layers to adapt", RESUME),
  use_rslora: flag("LoRA", false, "scale the adapter by alpha/sqrt(r) (rank-stabilized LoRA)", RESUME),
  use_qlora: flag("LoRA", false, "keep the base weights in 4 bits (QLoRA)"),
  gradient_checkpointing: flag("optimisation", true, "recompute activations in the backward pass to save memory"),
  logging_steps: integer("output", 5, "write training metrics every N steps", { minimum: 1 }),
  eval_steps: integer("evaluation", 500, "evaluate every N steps (and after the last)", { minimum: 1 }),
  save_steps: integer("output", 500, "write a checkpoint every N steps (and after the last)", { minimum: 1 }),
  save_total_limit: integer("output", 3, "how many of the latest checkpoints to keep (the best one is kept too)", { minimum: 1 }),
  early_stopping_patience: integer("evaluation", undefined, "stop after N evaluations without a lower eval loss", { minimum: 1 }),
  load_best_model_at_end: flag(
    "evaluation",
    false,
    "make the best checkpoint's weights the run's output, not the last step's (early stopping always does)",
  ),
  metric_for_best_model: choice("evaluation", ["eval_loss"], "eval_loss", "what makes a checkpoint the best: the lowest eval loss"),
  eval_generate: flag("evaluation", true, "score exact match of generated answers on the eval split"),
  max_new_tokens: integer("evaluation", 64, "the longest generated answer during evaluation", { minimum: 1 }),
  seed: integer("optimisation", 42, "the seed of the split, the shuffling, the initialization and dropout", RESUME),
  device: choice("device", DEVICES, "auto", "where to train (auto: the platform's GPU if it works, else the CPU)"),
  threads: integer("device", undefined, "CPU threads for ONNX Runtime", { minimum: 1 }),
  from_scratch: flag("model", false, "train a new model of the size the size flags give", RESUME),
  model_family: choice("model", MODEL_FAMILIES, "llama", "the architecture of a new model", RESUME),
  hidden_size: integer("model", undefined, "a new model's hidden size", { minimum: 1, ...RESUME }),
  num_hidden_layers: integer("model", undefined, "a new model's layers", { minimum: 1, ...RESUME }),
  num_attention_heads: integer("model", undefined, "a new model's attention heads", { minimum: 1, ...RESUME }),
  num_key_value_heads: integer(
    "model",
    undefined,
    "a new model's key/value heads (fewer than the attention heads: grouped-query attention)",
    { minimum: 1, ...RESUME },
  ),
  intermediate_size: integer("model", undefined, "a new model's MLP size", { minimum: 1, ...RESUME }),
  vocab_size: integer("model", undefined, "a new model's vocabulary size (also the size of the tokenizer trained for it)", {
    minimum: 1,
    ...RESUME,
  }),
  resume: text("output", undefined, "continue from a checkpoint directory, or auto: the latest in --output_dir"),
};

/** Named starting points: a base model and the batch shape and LoRA size that suit it. Adding one is one line. */
export const PRESETS: Record<string, Partial<TrainConfig>> = {
  tinyllama_1b: { base_model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", batch_size: 8, gradient_accumulation: 4, lora_r: 16, lora_alpha: 32 },
  qwen_0_5b: { base_model: "Qwen/Qwen2.5-0.5B-Instruct", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  qwen_1_5b: { base_model: "Qwen/Qwen2.5-1.5B-Instruct", batch_size: 4, gradient_accumulation: 8, lora_r: 16, lora_alpha: 32 },
  phi3_mini: {
    base_model: "microsoft/Phi-3-mini-4k-instruct",
    batch_size: 2,
    gradient_accumulation: 16,
    lora_r: 16,
    lora_alpha: 32,
    use_qlora: true,
  },
  phi3_5_mini: {
    base_model: "microsoft/Phi-3.5-mini-instruct",
    batch_size: 2,
    gradient_accumulation: 16,
    lora_r: 16,
    lora_alpha: 32,
    use_qlora: true,
  },
  heimdall: {
    base_model: "Qwen/Qwen2.5-1.5B-Instruct",
    batch_size: 1,
    gradient_accumulation: 16,
    lora_r: 16,
    lora_alpha: 32,
    learning_rate: 3e-4,
    epochs: 10,
    max_length: 2048,
    gradient_checkpointing: true,
  },
  heimdall_mit: {
    base_model: "microsoft/Phi-3-mini-4k-instruct",
    batch_size: 4,
    gradient_accumulation: 4,
    lora_r: 32,
    lora_alpha: 64,
    learning_rate: 3e-4,
    epochs: 10,
    max_length: 2048,
    use_qlora: true,
    gradient_checkpointing: true,
  },
  // The 2025 small models, with the settings of the presets above for models of their size (0.5B, 1.1B, 1.5B, 3.8B).
  qwen3_0_6b: { base_model: "Qwen/Qwen3-0.6B", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  qwen3_1_7b: { base_model: "Qwen/Qwen3-1.7B", batch_size: 4, gradient_accumulation: 8, lora_r: 16, lora_alpha: 32 },
  qwen3_4b: { base_model: "Qwen/Qwen3-4B", batch_size: 2, gradient_accumulation: 16, lora_r: 16, lora_alpha: 32, use_qlora: true },
  gemma3_270m: { base_model: "google/gemma-3-270m-it", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  gemma3_1b: { base_model: "google/gemma-3-1b-it", batch_size: 8, gradient_accumulation: 4, lora_r: 16, lora_alpha: 32 },
  smollm2_360m: { base_model: "HuggingFaceTB/SmolLM2-360M-Instruct", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  smollm2_1_7b: { base_model: "HuggingFaceTB/SmolLM2-1.7B-Instruct", batch_size: 4, gradient_accumulation: 8, lora_r: 16, lora_alpha: 32 },
};
/** Other spellings of preset names, so older scripts keep working. */
const PRESET_ALIASES: Record<string, string> = { tiny_llama_1b: "tinyllama_1b" };
export const DEFAULT_PRESET = "qwen_1_5b";

SETTINGS.preset.help = `a named starting point: ${Object.keys(PRESETS).join(", ")}`;

/** What leaving out each setting without a default means (help shows it as the default). */
const UNSET: { [K in keyof typeof SETTINGS]?: string } = {
  preset: `none (${DEFAULT_PRESET} when neither --base_model nor --config gives a model)`,
  base_model: "the preset's",
  tokenizer: "the model's",
  max_samples: "all",
  max_steps: "from --epochs",
  lora_target_modules: "every linear layer of the family",
  early_stopping_patience: "off",
  threads: "all cores",
  hidden_size: "required with --from_scratch",
  num_hidden_layers: "required with --from_scratch",
  num_attention_heads: "required with --from_scratch",
  intermediate_size: "required with --from_scratch",
  num_key_value_heads: "--num_attention_heads",
  vocab_size: "the tokenizer's (4096 for one trained on the dataset)",
  resume: "a new run",
  beta: "2 for simpo, 0.1 for dpo, orpo and kto (as TRL)",
  rpo_alpha: "off",
};
for (const [name, meaning] of Object.entries(UNSET)) (SETTINGS as Record<string, Setting>)[name]!.unset = meaning;

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T, infer _> ? T : never;
type Flatten<T> = { [K in keyof T]: T[K] };
/** The training configuration: one flat object keyed by setting name (see SETTINGS). */
export type TrainConfig = Flatten<
  { -readonly [K in keyof Settings as undefined extends Settings[K]["default"] ? never : K]: ValueOf<Settings[K]> } & {
    -readonly [K in keyof Settings as undefined extends Settings[K]["default"] ? K : never]?: ValueOf<Settings[K]>;
  }
>;
export type SettingName = keyof TrainConfig;

/** The defaults of every setting that has one. */
export const TRAIN_DEFAULTS = Object.fromEntries(
  Object.entries(SETTINGS as Record<string, Setting>).flatMap(([name, s]) => (s.default === undefined ? [] : [[name, s.default]])),
) as TrainConfig;

/** JSON Schema of a config file (and of the resolved config). */
export const trainConfigSchema = {
  $id: "https://neural.dev/schemas/train-config.json",
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(Object.entries(SETTINGS as Record<string, Setting>).map(([name, s]) => [name, s.schema])),
};

/** The settings a resumed run must share with its checkpoint, hashed (checkpoint.ts stores it in state.json). */
export function resumeKey(c: TrainConfig): string {
  const keys = Object.entries(SETTINGS as Record<string, Setting>).flatMap(([name, s]) => (s.resume ? [name as SettingName] : []));
  // a preference run's method and knobs count too (an sft run's key stays what its checkpoints were written with)
  if (c.method !== "sft")
    keys.push(
      ...Object.entries(SETTINGS as Record<string, Setting>).flatMap(([name, s]) =>
        s.group === "preference" ? [name as SettingName] : [],
      ),
    );
  return hash53(JSON.stringify(keys.map((k) => [k, c[k] ?? null]))).toString(36);
}

/** The settings a resumed run must keep that differ between a checkpoint's config and this one, as "name old (now new)". */
export function resumeDifferences(saved: Readonly<Record<string, unknown>>, now: TrainConfig): string[] {
  const show = (v: unknown) => (v === undefined || v === null ? "unset" : JSON.stringify(v));
  return Object.entries(SETTINGS as Record<string, Setting>).flatMap(([name, s]) => {
    if (!s.resume) return [];
    const before = saved[name] ?? null;
    const after = (now as Record<string, unknown>)[name] ?? null;
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [`${name} ${show(before)} (now ${show(after)})`];
  });
}

/** Keys of Hugging Face TrainingArguments-style config files that mean one of ours. */
const KEY_ALIASES: Record<string, SettingName> = {
  per_device_train_batch_size: "batch_size",
  per_device_eval_batch_size: "eval_batch_size",
  gradient_accumulation_steps: "gradient_accumulation",
  num_train_epochs: "epochs",
  model_max_length: "max_length",
  dataset_path: "dataset",
  train_from_scratch: "from_scratch",
  target_modules: "lora_target_modules",
};
/** Keys of such files that have no meaning here, with the reason shown to the user. */
const KEYS_IGNORED: Record<string, string> = {
  fp16: "precision is chosen per device (fp32 on CPU; fp16/bf16 compute with fp32 master weights on GPUs)",
  bf16: "precision is chosen per device",
  use_flash_attention_2: "attention is part of our own graph",
  use_metal: "use --device coreml",
  use_mps: "use --device coreml",
  optim: "the optimizer is AdamW",
  report_to: "metrics go to metrics.jsonl in the output directory",
  dataloader_num_workers: "data is prepared in-process",
  ddp_find_unused_parameters: "no distributed training",
  evaluation_strategy: "evaluation runs every eval_steps",
  bnb_4bit_compute_dtype: "QLoRA uses 4-bit blockwise weights in the ONNX graph",
  bnb_4bit_quant_type: "QLoRA uses 4-bit blockwise weights in the ONNX graph",
  bias: "LoRA trains no biases",
};

export class TrainConfigError extends Error {
  override name = "TrainConfigError";
}

const checkConfig = new Ajv({ strict: true, allErrors: false }).compile(trainConfigSchema);

export interface ResolveConfigInput {
  preset?: string;
  /** Parsed config file (YAML or JSON), and its name for messages. */
  file?: Record<string, unknown>;
  fileName?: string;
  /** Values given on the command line (only those the user typed). */
  flags?: Partial<TrainConfig>;
}

export interface ResolvedConfig {
  config: TrainConfig;
  /** Things the user should know: ignored keys, renamed keys, the implicit preset. */
  notes: string[];
}

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

export function resolveTrainConfig(input: ResolveConfigInput): ResolvedConfig {
  const notes: string[] = [];
  const fileName = input.fileName ?? "config";
  const file: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input.file ?? {})) {
    if (key in KEYS_IGNORED) {
      notes.push(`${fileName}: ${key} is ignored: ${KEYS_IGNORED[key]}`);
      continue;
    }
    const ours = KEY_ALIASES[key];
    if (ours) {
      if (ours in (input.file ?? {})) throw new TrainConfigError(`${fileName}: both ${key} and ${ours} are set`);
      file[ours] = value;
      continue;
    }
    file[key] = value;
  }
  if (typeof file.use_lora === "boolean" && file.use_lora === false && file.use_qlora === true) {
    throw new TrainConfigError(`${fileName}: use_qlora needs use_lora`);
  }

  const fromScratch = input.flags?.from_scratch ?? (file.from_scratch as boolean | undefined) ?? false;
  const explicitPreset = input.flags?.preset ?? input.preset ?? (file.preset as string | undefined);
  let presetName = explicitPreset;
  if (presetName === undefined && !fromScratch && input.flags?.base_model === undefined && file.base_model === undefined) {
    presetName = DEFAULT_PRESET;
    notes.push(`no --preset, --base_model or --config: using the default preset ${DEFAULT_PRESET}`);
  }
  let preset: Partial<TrainConfig> = {};
  if (presetName !== undefined) {
    const canonical = PRESET_ALIASES[presetName] ?? presetName;
    const found = PRESETS[canonical];
    if (!found) throw new TrainConfigError(`unknown preset "${presetName}"; valid presets: ${presetNames().join(", ")}`);
    preset = { ...found, preset: canonical };
  }

  const merged: Record<string, unknown> = { ...TRAIN_DEFAULTS, ...preset, ...file, ...stripUndefined(input.flags ?? {}) };
  if (presetName !== undefined) merged.preset = PRESET_ALIASES[presetName] ?? presetName;
  if (!checkConfig(merged)) {
    const e = checkConfig.errors![0]!;
    const key = e.instancePath.replace(/^\//, "") || (e.params as { additionalProperty?: string }).additionalProperty || "";
    const where = key in (input.flags ?? {}) ? `--${key}` : key in file ? `${fileName}: ${key}` : key;
    const message =
      e.keyword === "additionalProperties"
        ? `unknown setting "${(e.params as { additionalProperty: string }).additionalProperty}"`
        : `${where} ${e.message}`;
    throw new TrainConfigError(e.keyword === "additionalProperties" ? `${fileName}: ${message}` : message);
  }
  const config = merged as unknown as TrainConfig;
  if (config.from_scratch) {
    const missing = (["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"] as const).filter(
      (k) => config[k] === undefined,
    );
    if (missing.length) throw new TrainConfigError(`--from_scratch needs ${missing.map((k) => `--${k}`).join(", ")}`);
    if (config.base_model !== undefined && input.flags?.base_model !== undefined) {
      throw new TrainConfigError("--from_scratch builds a new model: drop --base_model");
    }
    delete config.base_model;
    if (config.use_lora) notes.push("--from_scratch trains every weight (LoRA is off)");
    config.use_lora = false;
    config.use_qlora = false;
  } else if (config.base_model === undefined) {
    throw new TrainConfigError("no base model: give --base_model, --preset, or --from_scratch with the size flags");
  }
  if (config.method !== "sft" && config.from_scratch)
    throw new TrainConfigError(
      `--method ${config.method} tunes a model that answers already: give --base_model (a model trained with --method sft)`,
    );
  if (config.use_qlora && !config.use_lora)
    throw new TrainConfigError("--use_qlora trains LoRA adapters on a 4-bit base: it needs LoRA (drop --no-use_lora)");
  if (
    config.num_attention_heads !== undefined &&
    config.hidden_size !== undefined &&
    config.hidden_size % config.num_attention_heads !== 0
  ) {
    throw new TrainConfigError(
      `--hidden_size ${config.hidden_size} is not a multiple of --num_attention_heads ${config.num_attention_heads}`,
    );
  }
  if (
    config.num_key_value_heads !== undefined &&
    config.num_attention_heads !== undefined &&
    config.num_attention_heads % config.num_key_value_heads !== 0
  ) {
    throw new TrainConfigError(
      `--num_attention_heads ${config.num_attention_heads} is not a multiple of --num_key_value_heads ${config.num_key_value_heads}`,
    );
  }
  return { config, notes };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
