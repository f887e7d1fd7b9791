// A Hugging Face config.json, read once into what every @neural package needs to know about the model: its family,
// shapes, which layers slide or skip rotary positions, the rope base and scaling, the norms and the activation. The
// families differ only in what is named here; the trainer's transformer and the GGUF converter both read this.
//
// Every value is checked where it is read, and a bad one is an HfConfigError naming the file and the field. Nothing
// is allocated from a number in the file: per-layer patterns given as a period stay a period.

import { HfConfigError } from "./errors.js";

export type ModelFamily = "llama" | "mistral" | "qwen2" | "qwen3" | "phi3" | "gemma3" | "smollm3";

/** The Hugging Face architectures (config.json `architectures[0]`) we train and export, and the family of each. */
export const ARCHITECTURES: Readonly<Record<string, ModelFamily>> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  Phi3ForCausalLM: "phi3",
  Gemma3ForCausalLM: "gemma3",
  Gemma3ForConditionalGeneration: "gemma3",
  SmolLM3ForCausalLM: "smollm3",
};

/** config.json's model_type → architecture, for configs without `architectures`. */
const ARCHITECTURE_OF_MODEL_TYPE: Readonly<Record<string, string>> = {
  llama: "LlamaForCausalLM",
  mistral: "MistralForCausalLM",
  qwen2: "Qwen2ForCausalLM",
  qwen3: "Qwen3ForCausalLM",
  phi3: "Phi3ForCausalLM",
  gemma3_text: "Gemma3ForCausalLM",
  gemma3: "Gemma3ForConditionalGeneration",
  smollm3: "SmolLM3ForCausalLM",
};

export type RopeScaling =
  | { type: "none" }
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /** Phi-3 "longrope"/"su": per-frequency factors (short below the original context, long above) and a cos/sin scale. */
  | { type: "longrope"; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number }
  /** Kept so an exporter can write it; the trainer's transformer refuses it. */
  | { type: "yarn"; factor: number; originalMaxPositions: number };

/**
 * A set of decoder layers, without one entry per layer unless config.json lists them: every layer; every layer but
 * each period-th (layer l is out when l + 1 is a multiple of the period: Gemma 3's five sliding layers to one full,
 * SmolLM3's three RoPE layers to one NoPE); or one flag per layer as config.json lists them.
 */
export type LayerSet = { kind: "all" } | { kind: "all-but-every"; period: number } | { kind: "listed"; layers: readonly boolean[] };

export function inLayerSet(set: LayerSet, layer: number): boolean {
  switch (set.kind) {
    case "all":
      return true;
    case "all-but-every":
      return (layer + 1) % set.period !== 0;
    case "listed":
      return set.layers[layer] === true;
  }
}

/**
 * A period p such that `set` is exactly "all but every p-th layer" over `layers` layers (how llama.cpp stores
 * patterns; p > layers when every layer is in the set), or undefined when no period describes it.
 */
export function layerSetPeriod(set: LayerSet, layers: number): number | undefined {
  if (set.kind === "all-but-every") return set.period;
  if (set.kind === "all") return layers + 1;
  const first = set.layers.indexOf(false);
  const period = first < 0 ? layers + 1 : first + 1;
  for (let l = 0; l < layers; l++) if (set.layers[l] !== ((l + 1) % period !== 0)) return undefined;
  return period;
}

export interface ModelConfig {
  family: ModelFamily;
  /** The Hugging Face architecture class (config.json `architectures[0]`, or derived from `model_type`). */
  architecture: string;
  /** The text model of a multimodal checkpoint (Gemma3ForConditionalGeneration): its tensors sit under `language_model`. */
  textTower: boolean;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** Per head; independent of hidden_size / heads when config.json gives head_dim (Qwen3, Gemma 3). */
  headDim: number;
  /** Rotated dimensions per head (head_dim × partial_rotary_factor, even). */
  rotaryDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  /** The layers that rotate q and k (SmolLM3 leaves every fourth without positions). */
  ropeLayers: LayerSet;
  /** Query i sees key j only when i − j < size (HF and llama.cpp semantics), on the `layers` that slide. */
  slidingWindow?: { size: number; layers: LayerSet };
  /** Rope base of the sliding layers, unscaled (Gemma 3's rope_local_base_freq); undefined: ropeTheta. */
  slidingRopeTheta?: number;
  maxPositions: number;
  /** The context the model was first trained with (Phi-3's original_max_position_embeddings), when given. */
  originalMaxPositions?: number;
  tieEmbeddings: boolean;
  /** Phi-3's fused qkv_proj and gate_up_proj. */
  fused: boolean;
  /** Qwen3, Gemma 3: RMSNorm over each head's q and k (q_norm, k_norm) before the rotary embedding. */
  qkNorm: boolean;
  /** RMSNorm multiplies by (offset + weight): 1 for Gemma, whose norm weights are stored as w − 1. */
  normWeightOffset: 0 | 1;
  /** Token embeddings are multiplied by this before the first layer (Gemma: √hidden_size). */
  embeddingScale: number;
  /** Gemma 3: RMSNorm on the attention's and the MLP's outputs too, and a separate one before the MLP. */
  sandwichNorms: boolean;
  /** The MLP's gate: SiLU (SwiGLU) or tanh-approximated GELU (GeGLU). */
  activation: "silu" | "gelu_tanh";
  /** Attention scores are q·k × this: 1/√head_dim, or Gemma's query_pre_attn_scalar^−½. */
  attentionScale: number;
  /** logits → cap · tanh(logits / cap) (Gemma's final_logit_softcapping); undefined: none. */
  finalLogitSoftcap?: number;
  bosTokenId?: number;
  eosTokenIds: number[];
}

/**
 * The largest value each size field may have. Released models stay far below (Llama 3.1 405B: 126 layers, hidden
 * 16384, intermediate 53248, 128 heads; Gemma 3: a 262,208-token vocabulary; Llama 4: a 10M context), and every
 * later allocation is bounded by these before the tensors are compared with them.
 */
export const CONFIG_LIMITS = {
  num_hidden_layers: 1024,
  hidden_size: 2 ** 17,
  intermediate_size: 2 ** 20,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 4096,
  vocab_size: 2 ** 21,
  max_position_embeddings: 2 ** 26,
  original_max_position_embeddings: 2 ** 26,
  sliding_window: 2 ** 26,
} as const;

/** What is read from a config.json object, and where from (its text model's fields for multimodal checkpoints). */
type Fields = Record<string, unknown>;

/** Gemma3TextConfig's defaults: transformers leaves a field out of config.json when it equals its class default. */
const GEMMA3_DEFAULTS: Fields = {
  vocab_size: 262_208,
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  hidden_activation: "gelu_pytorch_tanh",
  max_position_embeddings: 131_072,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  sliding_window_pattern: 6,
  tie_word_embeddings: true,
};

/** The family a config.json object names, or an error that lists the supported architectures. */
export function architectureOf(json: unknown, file = "config.json"): { architecture: string; family: ModelFamily } {
  if (!json || typeof json !== "object" || Array.isArray(json)) throw new HfConfigError("not a JSON object", file);
  const c = json as Fields;
  const listed = Array.isArray(c.architectures) ? c.architectures[0] : undefined;
  const architecture =
    typeof listed === "string" ? listed : typeof c.model_type === "string" ? ARCHITECTURE_OF_MODEL_TYPE[c.model_type] : undefined;
  const family = architecture !== undefined ? ARCHITECTURES[architecture] : undefined;
  if (!architecture || !family) {
    const named =
      typeof listed === "string"
        ? listed
        : c.model_type !== undefined
          ? `model_type ${JSON.stringify(c.model_type)}`
          : "no architectures or model_type";
    throw new HfConfigError(`${named} is not supported (supported: ${Object.keys(ARCHITECTURES).join(", ")})`, file, "architectures");
  }
  return { architecture, family };
}

/** Parse config.json's text (a JSON syntax error names the file). */
export function parseHfConfigText(text: string, file = "config.json"): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HfConfigError(`not valid JSON: ${(error as Error).message}`, file);
  }
  return parseHfConfig(json, file);
}

/** Parse and check a config.json object. `file` names it in errors. */
export function parseHfConfig(json: unknown, file = "config.json"): ModelConfig {
  const { architecture, family } = architectureOf(json, file);
  const top = json as Fields;
  const textTower = architecture === "Gemma3ForConditionalGeneration";
  let c: Fields = top;
  let prefix = "";
  if (textTower) {
    if (!top.text_config || typeof top.text_config !== "object" || Array.isArray(top.text_config)) {
      throw new HfConfigError("a Gemma3ForConditionalGeneration config needs its text model's settings (text_config)", file, "text_config");
    }
    c = top.text_config as Fields;
    prefix = "text_config.";
  }
  if (family === "gemma3")
    c = { ...GEMMA3_DEFAULTS, ...stripNulls(c, ["sliding_window", "final_logit_softcapping", "attn_logit_softcapping", "rope_scaling"]) };
  const at = (key: string) => `${prefix}${key}`;
  const fail = (key: string, message: string): never => {
    throw new HfConfigError(message, file, at(key));
  };
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) return fail(key, `expected a positive integer, got ${JSON.stringify(v)}`);
    const most = (CONFIG_LIMITS as Record<string, number>)[key];
    if (most !== undefined && v > most) return fail(key, `${v} is more than any model has (at most ${most})`);
    return v;
  };
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return fail(key, `expected a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = c[key] ?? fallback;
    if (typeof v !== "boolean") return fail(key, `expected true or false, got ${JSON.stringify(v)}`);
    return v;
  };

  const hiddenSize = int("hidden_size");
  const numLayers = int("num_hidden_layers");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0)
    fail("num_key_value_heads", `${numHeads} attention heads are not a multiple of ${numKvHeads} key/value heads`);
  const headDim = c.head_dim == null ? hiddenSize / numHeads : int("head_dim");
  if (!Number.isInteger(headDim))
    fail("num_attention_heads", `hidden_size ${hiddenSize} is not a multiple of ${numHeads} heads (and no head_dim is given)`);
  if (headDim % 2 !== 0) fail("head_dim", `${headDim} is odd: rotary positions rotate pairs of dimensions`);
  const partial = c.partial_rotary_factor == null ? 1 : num("partial_rotary_factor");
  if (partial > 1) fail("partial_rotary_factor", `${partial} is more than 1`);
  const rotaryDim = Math.floor((headDim * partial) / 2) * 2;
  const maxPositions = int("max_position_embeddings", 2048);

  const activationName = family === "gemma3" ? (c.hidden_activation ?? c.hidden_act) : (c.hidden_act ?? "silu");
  let activation: ModelConfig["activation"];
  if (family === "gemma3") {
    if (activationName !== "gelu_pytorch_tanh" && activationName !== "gelu_tanh")
      fail("hidden_activation", `${JSON.stringify(activationName)} is not supported (Gemma 3: gelu_pytorch_tanh)`);
    activation = "gelu_tanh";
  } else {
    if (activationName !== "silu" && activationName !== "swish")
      fail("hidden_act", `${JSON.stringify(activationName)} is not supported (silu only)`);
    activation = "silu";
  }

  // Rotary positions: rope_theta + rope_scaling (transformers 4), or rope_parameters (transformers 5), per attention
  // kind for Gemma 3 (its sliding layers rotate with their own base and no scaling).
  const rp = c.rope_parameters;
  let ropeTheta: number;
  let scaling: unknown;
  let scalingField: string;
  let slidingRopeTheta: number | undefined;
  if (rp && typeof rp === "object" && !Array.isArray(rp)) {
    const params = rp as Fields;
    const full = (params.full_attention ?? params) as Fields;
    const sliding = params.sliding_attention as Fields | undefined;
    ropeTheta = positive(full.rope_theta ?? c.rope_theta ?? 10000, () =>
      fail("rope_parameters", `rope_theta must be a positive number, got ${JSON.stringify(full.rope_theta)}`),
    );
    scaling = full;
    scalingField = "rope_parameters";
    if (sliding?.rope_theta !== undefined)
      slidingRopeTheta = positive(sliding.rope_theta, () =>
        fail("rope_parameters", `sliding_attention.rope_theta must be a positive number`),
      );
  } else {
    ropeTheta = num("rope_theta", 10000);
    scaling = c.rope_scaling;
    scalingField = "rope_scaling";
  }
  if (family === "gemma3") slidingRopeTheta ??= num("rope_local_base_freq");

  // Sliding-window attention: on every layer (Mistral, Phi-3), on a pattern of layers (Gemma 3), or declared but off
  // unless use_sliding_window (Qwen2/3, SmolLM3).
  let slidingWindow: ModelConfig["slidingWindow"];
  const sw = c.sliding_window;
  if (sw != null) {
    const size = int("sliding_window");
    const gated = family === "qwen2" || family === "qwen3" || family === "smollm3";
    if (gated && c.use_sliding_window === true)
      fail("use_sliding_window", `${architecture} sliding-window attention (use_sliding_window: true) is not supported`);
    const layers = family === "gemma3" ? gemmaSlidingLayers(c, numLayers, fail) : gated ? undefined : ({ kind: "all" } as const);
    if (layers) slidingWindow = { size, layers };
  }

  let ropeLayers: LayerSet = { kind: "all" };
  if (family === "smollm3") {
    if (c.no_rope_layers != null)
      ropeLayers = {
        kind: "listed",
        layers: flags(
          c.no_rope_layers,
          numLayers,
          "no_rope_layers",
          (v) => (v === 1 || v === true ? true : v === 0 || v === false ? false : undefined),
          fail,
        ),
      };
    else ropeLayers = { kind: "all-but-every", period: int("no_rope_layer_interval", 4) };
  }

  let attentionScale = 1 / Math.sqrt(headDim);
  let finalLogitSoftcap: number | undefined;
  if (family === "gemma3") {
    attentionScale = 1 / Math.sqrt(num("query_pre_attn_scalar"));
    if (c.attn_logit_softcapping != null)
      fail("attn_logit_softcapping", "attention logit soft-capping is not supported (Gemma 3 has none)");
    if (c.final_logit_softcapping != null) finalLogitSoftcap = num("final_logit_softcapping");
    if (c.use_bidirectional_attention === true)
      fail("use_bidirectional_attention", "bidirectional attention (an embedding model) is not a causal language model");
  }

  const eos = c.eos_token_id ?? top.eos_token_id;
  const bos = c.bos_token_id ?? top.bos_token_id;
  const vocabSize = int("vocab_size");
  for (const [key, value] of [
    ["eos_token_id", eos],
    ["bos_token_id", bos],
  ] as const) {
    for (const id of Array.isArray(value) ? value : [value]) {
      if (Number.isInteger(id) && ((id as number) < 0 || (id as number) >= vocabSize))
        fail(key, `token id ${id} is outside the vocabulary (vocab_size ${vocabSize})`);
    }
  }
  const config: ModelConfig = {
    family,
    architecture,
    textTower,
    vocabSize,
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rotaryDim,
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta,
    ropeScaling: parseRopeScaling(scaling, rotaryDim, maxPositions, c, (message) => fail(scalingField, message)),
    ropeLayers,
    maxPositions,
    tieEmbeddings: bool("tie_word_embeddings", false),
    fused: family === "phi3",
    qkNorm: family === "qwen3" || family === "gemma3",
    normWeightOffset: family === "gemma3" ? 1 : 0,
    embeddingScale: family === "gemma3" ? Math.sqrt(hiddenSize) : 1,
    sandwichNorms: family === "gemma3",
    activation,
    attentionScale,
    eosTokenIds: Array.isArray(eos) ? eos.filter((e): e is number => Number.isInteger(e)) : Number.isInteger(eos) ? [eos as number] : [],
  };
  if (slidingWindow) config.slidingWindow = slidingWindow;
  if (slidingRopeTheta !== undefined) config.slidingRopeTheta = slidingRopeTheta;
  if (finalLogitSoftcap !== undefined) config.finalLogitSoftcap = finalLogitSoftcap;
  if (Number.isInteger(bos)) config.bosTokenId = bos as number;
  if (c.original_max_position_embeddings != null) config.originalMaxPositions = int("original_max_position_embeddings");
  return config;
}

/**
 * Gemma 3's sliding layers: layer_types (transformers ≥ 4.53), else (_)sliding_window_pattern (default 6; layer l
 * is full when l + 1 is a multiple of it, so a pattern of 1 means no sliding layer).
 */
function gemmaSlidingLayers(c: Fields, numLayers: number, fail: (key: string, message: string) => never): LayerSet | undefined {
  if (c.layer_types != null) {
    const layers = flags(
      c.layer_types,
      numLayers,
      "layer_types",
      (v) => (v === "sliding_attention" ? true : v === "full_attention" ? false : undefined),
      fail,
    );
    return layers.includes(true) ? { kind: "listed", layers } : undefined;
  }
  const key = c.sliding_window_pattern != null ? "sliding_window_pattern" : "_sliding_window_pattern";
  const period = c[key] ?? 6;
  if (typeof period !== "number" || !Number.isInteger(period) || period <= 0)
    return fail(key, `expected a positive integer, got ${JSON.stringify(period)}`);
  return period === 1 ? undefined : { kind: "all-but-every", period };
}

/** One flag per layer from a config.json list, which must have exactly `numLayers` entries. */
function flags(
  value: unknown,
  numLayers: number,
  field: string,
  read: (v: unknown) => boolean | undefined,
  fail: (key: string, message: string) => never,
): boolean[] {
  if (!Array.isArray(value)) return fail(field, `expected a list with one entry per layer, got ${JSON.stringify(value)}`);
  if (value.length !== numLayers) return fail(field, `lists ${value.length} layers, num_hidden_layers is ${numLayers}`);
  return value.map((v, i) => {
    const flag = read(v);
    if (flag === undefined) return fail(field, `entry ${i} is ${JSON.stringify(v)}`);
    return flag;
  });
}

function positive(v: unknown, otherwise: () => never): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : otherwise();
}

/** The config without the given keys where they are null (so a class default does not replace an explicit null). */
function stripNulls(c: Fields, keepNull: readonly string[]): Fields {
  return Object.fromEntries(Object.entries(c).filter(([k, v]) => v !== null || keepNull.includes(k)));
}

function parseRopeScaling(
  value: unknown,
  rotaryDim: number,
  maxPositions: number,
  c: Fields,
  fail: (message: string) => never,
): RopeScaling {
  if (value == null) return { type: "none" };
  if (typeof value !== "object" || Array.isArray(value)) return fail(`expected an object or null, got ${JSON.stringify(value)}`);
  const rs = value as Fields;
  const type = String(rs.rope_type ?? rs.type ?? "default");
  const factor = (fallback?: number): number =>
    positive(rs.factor ?? fallback, () => fail(`${type} scaling needs a positive factor, got ${JSON.stringify(rs.factor)}`));
  const optional = (key: string, fallback: number): number =>
    positive(rs[key] ?? fallback, () => fail(`${key} must be a positive number, got ${JSON.stringify(rs[key])}`));
  switch (type) {
    case "default":
      return { type: "none" };
    case "linear":
      return { type: "linear", factor: factor() };
    case "llama3":
      return {
        type: "llama3",
        factor: factor(8),
        lowFreqFactor: optional("low_freq_factor", 1),
        highFreqFactor: optional("high_freq_factor", 4),
        originalMaxPositions: optional("original_max_position_embeddings", 8192),
      };
    case "yarn":
      return { type: "yarn", factor: factor(), originalMaxPositions: optional("original_max_position_embeddings", maxPositions) };
    case "longrope":
    case "su": {
      const short = rs.short_factor;
      const long = rs.long_factor;
      const numbers = (v: unknown) =>
        Array.isArray(v) && v.length === rotaryDim / 2 && v.every((x) => typeof x === "number" && Number.isFinite(x) && x > 0);
      if (!numbers(short) || !numbers(long)) return fail(`short_factor and long_factor must each have ${rotaryDim / 2} positive numbers`);
      const original = positive(c.original_max_position_embeddings ?? rs.original_max_position_embeddings ?? maxPositions, () =>
        fail("original_max_position_embeddings must be a positive number"),
      );
      // transformers: factor = max_position_embeddings / original; attention_factor = sqrt(1 + ln(factor) / ln(original)).
      const scale = typeof rs.factor === "number" ? rs.factor : maxPositions / original;
      const attentionFactor =
        typeof rs.attention_factor === "number"
          ? rs.attention_factor
          : scale <= 1
            ? 1
            : Math.sqrt(1 + Math.log(scale) / Math.log(original));
      return {
        type: "longrope",
        shortFactor: (short as number[]).slice(),
        longFactor: (long as number[]).slice(),
        originalMaxPositions: original,
        attentionFactor,
      };
    }
    default:
      return fail(`rope scaling "${type}" is not supported (supported: linear, llama3, yarn, longrope)`);
  }
}

export function isSlidingLayer(config: Pick<ModelConfig, "slidingWindow">, layer: number): boolean {
  return config.slidingWindow !== undefined && inLayerSet(config.slidingWindow.layers, layer);
}

export function usesRope(config: Pick<ModelConfig, "ropeLayers">, layer: number): boolean {
  return inLayerSet(config.ropeLayers, layer);
}
