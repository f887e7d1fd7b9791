// A Hugging Face config.json, read into the few numbers our transformer needs. The families differ only in what is
// named here (fused projections, biases, tied embeddings, rope scaling, sliding window); transformer.ts is shared.

export type Family = "llama" | "mistral" | "qwen2" | "phi3";

export class ModelConfigError extends Error {
  override name = "ModelConfigError";
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `config.json: ${field}: ${message}` : `config.json: ${message}`);
  }
}

export type RopeScaling =
  | { type: "none" }
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /** Phi-3 "longrope"/"su": per-frequency factors (short below the original context, long above) and a cos/sin scale. */
  | { type: "longrope"; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

export interface ModelConfig {
  family: Family;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** Rotated dimensions per head (head_dim × partial_rotary_factor, even). */
  rotaryDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** Query i sees key j only when i − j < slidingWindow (HF and llama.cpp semantics); undefined: no window. */
  slidingWindow?: number;
  /** Phi-3's fused qkv_proj and gate_up_proj. */
  fused: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
}

const FAMILY_OF: Record<string, Family> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "mistral",
  Qwen2ForCausalLM: "qwen2",
  Phi3ForCausalLM: "phi3",
};

/** Parse and check a config.json object. */
export function parseConfig(json: unknown): ModelConfig {
  if (!json || typeof json !== "object") throw new ModelConfigError("not a JSON object");
  const c = json as Record<string, unknown>;
  const arch = Array.isArray(c.architectures) ? String(c.architectures[0]) : undefined;
  const family = (arch && FAMILY_OF[arch]) ?? FAMILY_OF[`${capitalize(String(c.model_type ?? ""))}ForCausalLM`];
  if (!family) {
    throw new ModelConfigError(`unsupported model ${arch ?? String(c.model_type)} (supported: ${Object.keys(FAMILY_OF).join(", ")})`, "architectures");
  }
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new ModelConfigError(`expected a positive integer, got ${JSON.stringify(v)}`, key);
    return v;
  };
  const num = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new ModelConfigError(`expected a positive number, got ${JSON.stringify(v)}`, key);
    return v;
  };
  const hiddenSize = int("hidden_size");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) throw new ModelConfigError(`${numHeads} attention heads are not a multiple of ${numKvHeads} key/value heads`, "num_key_value_heads");
  const headDim = c.head_dim == null ? hiddenSize / numHeads : int("head_dim");
  if (!Number.isInteger(headDim)) throw new ModelConfigError(`hidden_size ${hiddenSize} is not a multiple of ${numHeads} heads`, "num_attention_heads");
  const partial = c.partial_rotary_factor == null ? 1 : num("partial_rotary_factor");
  const rotaryDim = Math.floor((headDim * partial) / 2) * 2;
  const maxPositions = int("max_position_embeddings", 2048);
  const act = c.hidden_act ?? c.hidden_activation ?? "silu";
  if (act !== "silu" && act !== "swish") throw new ModelConfigError(`activation ${String(act)} is not supported (silu only)`, "hidden_act");

  let slidingWindow: number | undefined;
  const sw = c.sliding_window;
  if (typeof sw === "number" && sw > 0) {
    // Qwen2 declares a window but only uses it with use_sliding_window (off in released models).
    if (family !== "qwen2" || c.use_sliding_window === true) slidingWindow = sw;
    if (family === "qwen2" && c.use_sliding_window === true) {
      throw new ModelConfigError("Qwen2 sliding-window attention (use_sliding_window: true) is not supported", "use_sliding_window");
    }
  }

  const eos = c.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.map(Number) : typeof eos === "number" ? [eos] : [];
  return {
    family,
    vocabSize: int("vocab_size"),
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numLayers: int("num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    rotaryDim,
    rmsNormEps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    ropeScaling: parseRopeScaling(c, rotaryDim, maxPositions),
    maxPositions,
    tieEmbeddings: c.tie_word_embeddings === true,
    slidingWindow,
    fused: family === "phi3",
    bosTokenId: typeof c.bos_token_id === "number" ? c.bos_token_id : undefined,
    eosTokenIds,
  };
}

function parseRopeScaling(c: Record<string, unknown>, rotaryDim: number, maxPositions: number): RopeScaling {
  const rs = c.rope_scaling as Record<string, unknown> | null | undefined;
  if (!rs) return { type: "none" };
  const type = String(rs.rope_type ?? rs.type ?? "default");
  const factor = typeof rs.factor === "number" ? rs.factor : 1;
  switch (type) {
    case "default":
      return { type: "none" };
    case "linear":
      return { type: "linear", factor };
    case "llama3":
      return {
        type: "llama3",
        factor,
        lowFreqFactor: Number(rs.low_freq_factor ?? 1),
        highFreqFactor: Number(rs.high_freq_factor ?? 4),
        originalMaxPositions: Number(rs.original_max_position_embeddings ?? 8192),
      };
    case "longrope":
    case "su": {
      const short = rs.short_factor;
      const long = rs.long_factor;
      if (!Array.isArray(short) || !Array.isArray(long) || short.length !== rotaryDim / 2 || long.length !== rotaryDim / 2) {
        throw new ModelConfigError(`short_factor and long_factor must each have ${rotaryDim / 2} numbers`, "rope_scaling");
      }
      const original = Number(c.original_max_position_embeddings ?? rs.original_max_position_embeddings ?? maxPositions);
      // transformers: factor = max_position_embeddings / original; attention_factor = sqrt(1 + ln(factor) / ln(original)).
      const scale = typeof rs.factor === "number" ? rs.factor : maxPositions / original;
      const attentionFactor =
        typeof rs.attention_factor === "number" ? rs.attention_factor : scale <= 1 ? 1 : Math.sqrt(1 + Math.log(scale) / Math.log(original));
      return { type: "longrope", shortFactor: short.map(Number), longFactor: long.map(Number), originalMaxPositions: original, attentionFactor };
    }
    default:
      throw new ModelConfigError(`rope scaling "${type}" is not supported (supported: linear, llama3, longrope)`, "rope_scaling");
  }
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Rotary inverse frequencies (radians per position) for sequences up to `seqLen`, and the factor applied to cos and
 * sin (longrope's attention factor, else 1). Computed in float64 as transformers' rope init functions define them.
 */
export function ropeFrequencies(config: ModelConfig, seqLen: number): { invFreq: Float64Array; scale: number } {
  const d = config.rotaryDim;
  const invFreq = Float64Array.from({ length: d / 2 }, (_, i) => 1 / config.ropeTheta ** ((2 * i) / d));
  const rs = config.ropeScaling;
  switch (rs.type) {
    case "none":
      return { invFreq, scale: 1 };
    case "linear":
      return { invFreq: invFreq.map((f) => f / rs.factor), scale: 1 };
    case "llama3": {
      const lowWavelen = rs.originalMaxPositions / rs.lowFreqFactor;
      const highWavelen = rs.originalMaxPositions / rs.highFreqFactor;
      const scaled = invFreq.map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return f / rs.factor;
        const smooth = (rs.originalMaxPositions / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        return (1 - smooth) * (f / rs.factor) + smooth * f;
      });
      return { invFreq: scaled, scale: 1 };
    }
    case "longrope": {
      const ext = seqLen > rs.originalMaxPositions ? rs.longFactor : rs.shortFactor;
      return { invFreq: invFreq.map((f, i) => f / ext[i]!), scale: rs.attentionFactor };
    }
  }
}
