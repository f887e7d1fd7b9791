// The training configuration: one flat object whose keys are the CLI's flags (snake_case, the Python system's names),
// so a YAML config file and the command line mirror each other one to one. Resolution: defaults < preset < config
// file < flags given on the command line. Zero is a value, never "unset".
import { Ajv } from "ajv";

export type Device = "auto" | "cpu" | "cuda" | "coreml" | "webgpu";
export type Scheduler = "cosine" | "linear" | "constant";
export type ModelFamilyName = "llama" | "mistral" | "qwen2" | "phi3";

export interface TrainConfig {
  preset?: string;
  base_model?: string;
  dataset: string;
  output_dir: string;
  tokenizer?: string;
  template: "chatml" | "alpaca" | "model";
  max_length: number;
  packing: boolean;
  train_on_inputs: boolean;
  validation_split: number;
  max_samples?: number;
  batch_size: number;
  eval_batch_size: number;
  gradient_accumulation: number;
  epochs: number;
  max_steps?: number;
  learning_rate: number;
  lr_scheduler: Scheduler;
  warmup_steps: number;
  weight_decay: number;
  max_grad_norm: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  use_lora: boolean;
  lora_r: number;
  lora_alpha: number;
  lora_dropout: number;
  lora_target_modules?: string[];
  use_rslora: boolean;
  use_qlora: boolean;
  gradient_checkpointing: boolean;
  logging_steps: number;
  eval_steps: number;
  save_steps: number;
  save_total_limit: number;
  early_stopping_patience?: number;
  eval_generate: boolean;
  max_new_tokens: number;
  seed: number;
  device: Device;
  threads?: number;
  from_scratch: boolean;
  model_family: ModelFamilyName;
  hidden_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  intermediate_size?: number;
  vocab_size?: number;
  resume?: string;
}

/** The defaults: the Python system's TrainingConfig where it made sense, fixed where it did not (fp32 on CPU...). */
export const TRAIN_DEFAULTS: TrainConfig = {
  dataset: "data/training.jsonl",
  output_dir: "models/trained",
  template: "chatml",
  max_length: 2048,
  packing: true,
  train_on_inputs: false,
  validation_split: 0.1,
  batch_size: 4,
  eval_batch_size: 4,
  gradient_accumulation: 8,
  epochs: 3,
  learning_rate: 2e-4,
  lr_scheduler: "cosine",
  warmup_steps: 100,
  weight_decay: 0.01,
  max_grad_norm: 1.0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  use_lora: true,
  lora_r: 16,
  lora_alpha: 32,
  lora_dropout: 0.05,
  use_rslora: false,
  use_qlora: false,
  gradient_checkpointing: true,
  logging_steps: 5,
  eval_steps: 500,
  save_steps: 500,
  save_total_limit: 3,
  eval_generate: true,
  max_new_tokens: 64,
  seed: 42,
  device: "auto",
  from_scratch: false,
  model_family: "llama",
};

/** The Python system's presets, under the names its CLI advertised (tinyllama_1b works here). */
export const PRESETS: Record<string, Partial<TrainConfig>> = {
  tinyllama_1b: { base_model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", batch_size: 8, gradient_accumulation: 4, lora_r: 16, lora_alpha: 32 },
  qwen_0_5b: { base_model: "Qwen/Qwen2.5-0.5B-Instruct", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  qwen_1_5b: { base_model: "Qwen/Qwen2.5-1.5B-Instruct", batch_size: 4, gradient_accumulation: 8, lora_r: 16, lora_alpha: 32 },
  phi3_mini: { base_model: "microsoft/Phi-3-mini-4k-instruct", batch_size: 2, gradient_accumulation: 16, lora_r: 16, lora_alpha: 32, use_qlora: true },
  phi3_5_mini: { base_model: "microsoft/Phi-3.5-mini-instruct", batch_size: 2, gradient_accumulation: 16, lora_r: 16, lora_alpha: 32, use_qlora: true },
  heimdall: {
    base_model: "Qwen/Qwen2.5-1.5B-Instruct",
    batch_size: 1,
    gradient_accumulation: 16,
    lora_r: 16,
    lora_alpha: 32,
    learning_rate: 3e-4,
    epochs: 10,
    max_length: 1024,
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
  // The 2025 small models, with the Python system's settings for models of their size (its 0.5B, 1.1B, 1.5B, 3.8B presets above).
  qwen3_0_6b: { base_model: "Qwen/Qwen3-0.6B", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  qwen3_1_7b: { base_model: "Qwen/Qwen3-1.7B", batch_size: 4, gradient_accumulation: 8, lora_r: 16, lora_alpha: 32 },
  qwen3_4b: { base_model: "Qwen/Qwen3-4B", batch_size: 2, gradient_accumulation: 16, lora_r: 16, lora_alpha: 32, use_qlora: true },
  gemma3_270m: { base_model: "google/gemma-3-270m-it", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  gemma3_1b: { base_model: "google/gemma-3-1b-it", batch_size: 8, gradient_accumulation: 4, lora_r: 16, lora_alpha: 32 },
  smollm2_360m: { base_model: "HuggingFaceTB/SmolLM2-360M-Instruct", batch_size: 16, gradient_accumulation: 2, lora_r: 8, lora_alpha: 32 },
  smollm2_1_7b: { base_model: "HuggingFaceTB/SmolLM2-1.7B-Instruct", batch_size: 4, gradient_accumulation: 8, lora_r: 16, lora_alpha: 32 },
};
/** The Python method name, kept so old scripts keep working. */
const PRESET_ALIASES: Record<string, string> = { tiny_llama_1b: "tinyllama_1b" };
export const DEFAULT_PRESET = "qwen_1_5b";

/** Keys of the Python system's TrainingConfig YAML that mean one of ours. */
const SEED_KEY_ALIASES: Record<string, keyof TrainConfig> = {
  per_device_train_batch_size: "batch_size",
  per_device_eval_batch_size: "eval_batch_size",
  gradient_accumulation_steps: "gradient_accumulation",
  num_train_epochs: "epochs",
  model_max_length: "max_length",
  dataset_path: "dataset",
  train_from_scratch: "from_scratch",
  target_modules: "lora_target_modules",
};
/** Keys of that YAML that have no meaning here (with the reason shown to the user). */
const SEED_KEYS_IGNORED: Record<string, string> = {
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
  load_best_model_at_end: "the best checkpoint is always kept",
  metric_for_best_model: "the best checkpoint is the one with the lowest eval loss",
  bnb_4bit_compute_dtype: "QLoRA uses 4-bit blockwise weights in the ONNX graph",
  bnb_4bit_quant_type: "QLoRA uses 4-bit blockwise weights in the ONNX graph",
  bias: "LoRA trains no biases",
};

const num = (minimum?: number, exclusiveMinimum?: number) => ({
  type: "number",
  ...(minimum !== undefined ? { minimum } : {}),
  ...(exclusiveMinimum !== undefined ? { exclusiveMinimum } : {}),
});
const int = (minimum = 0) => ({ type: "integer", minimum });

/** JSON Schema of a config file (and of the resolved config). */
export const trainConfigSchema = {
  $id: "https://neural.dev/schemas/train-config.json",
  type: "object",
  additionalProperties: false,
  properties: {
    preset: { type: "string" },
    base_model: { type: "string", minLength: 1 },
    dataset: { type: "string", minLength: 1 },
    output_dir: { type: "string", minLength: 1 },
    tokenizer: { type: "string", minLength: 1 },
    template: { enum: ["chatml", "alpaca", "model"] },
    max_length: int(2),
    packing: { type: "boolean" },
    train_on_inputs: { type: "boolean" },
    validation_split: { type: "number", minimum: 0, exclusiveMaximum: 1 },
    max_samples: int(1),
    batch_size: int(1),
    eval_batch_size: int(1),
    gradient_accumulation: int(1),
    epochs: num(0),
    max_steps: int(0),
    learning_rate: num(0),
    lr_scheduler: { enum: ["cosine", "linear", "constant"] },
    warmup_steps: int(0),
    weight_decay: num(0),
    max_grad_norm: num(0),
    adam_beta1: { type: "number", minimum: 0, exclusiveMaximum: 1 },
    adam_beta2: { type: "number", minimum: 0, exclusiveMaximum: 1 },
    adam_epsilon: num(undefined, 0),
    use_lora: { type: "boolean" },
    lora_r: int(1),
    lora_alpha: num(undefined, 0),
    lora_dropout: { type: "number", minimum: 0, exclusiveMaximum: 1 },
    lora_target_modules: { type: "array", items: { type: "string" }, minItems: 1 },
    use_rslora: { type: "boolean" },
    use_qlora: { type: "boolean" },
    gradient_checkpointing: { type: "boolean" },
    logging_steps: int(1),
    eval_steps: int(1),
    save_steps: int(1),
    save_total_limit: int(1),
    early_stopping_patience: int(1),
    eval_generate: { type: "boolean" },
    max_new_tokens: int(1),
    seed: { type: "integer" },
    device: { enum: ["auto", "cpu", "cuda", "coreml", "webgpu"] },
    threads: int(1),
    from_scratch: { type: "boolean" },
    model_family: { enum: ["llama", "mistral", "qwen2", "phi3"] },
    hidden_size: int(1),
    num_hidden_layers: int(1),
    num_attention_heads: int(1),
    num_key_value_heads: int(1),
    intermediate_size: int(1),
    vocab_size: int(1),
    resume: { type: "string", minLength: 1 },
  },
} as const;

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
    if (key in SEED_KEYS_IGNORED) {
      notes.push(`${fileName}: ${key} is ignored: ${SEED_KEYS_IGNORED[key]}`);
      continue;
    }
    const ours = SEED_KEY_ALIASES[key];
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
      e.keyword === "additionalProperties" ? `unknown setting "${(e.params as { additionalProperty: string }).additionalProperty}"` : `${where} ${e.message}`;
    throw new TrainConfigError(e.keyword === "additionalProperties" ? `${fileName}: ${message}` : message);
  }
  const config = merged as unknown as TrainConfig;
  if (config.from_scratch) {
    const missing = (["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"] as const).filter((k) => config[k] === undefined);
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
  if (config.use_qlora && !config.use_lora) throw new TrainConfigError("--use_qlora trains LoRA adapters on a 4-bit base: it needs LoRA (drop --no-use_lora)");
  if (config.num_attention_heads !== undefined && config.hidden_size !== undefined && config.hidden_size % config.num_attention_heads !== 0) {
    throw new TrainConfigError(`--hidden_size ${config.hidden_size} is not a multiple of --num_attention_heads ${config.num_attention_heads}`);
  }
  if (config.num_key_value_heads !== undefined && config.num_attention_heads !== undefined && config.num_attention_heads % config.num_key_value_heads !== 0) {
    throw new TrainConfigError(`--num_attention_heads ${config.num_attention_heads} is not a multiple of --num_key_value_heads ${config.num_key_value_heads}`);
  }
  return { config, notes };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
