// Seeded tiny random Hugging Face model directories of each family the presets use, written exactly as
// `save_pretrained` lays them out: config.json, model.safetensors (or shards + index), tokenizer.json,
// tokenizer_config.json (and generation_config.json).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hfTensorShapes as shapesOf, parseHfConfig } from "@neural/hf-config";
import { saveSafetensors, saveShardedSafetensors, type TensorToWrite } from "@neural/safetensors";
import { Rng } from "./rng.js";
import { tokenizerSize } from "./real-tokenizers.js";
import { makeTokenizer, type HfTokenizerFiles, type TokenizerKind } from "./tokenizers.js";

export type Family = "llama" | "mistral" | "qwen2" | "phi3" | "llama3" | "qwen3" | "gemma3" | "gemma3-mm" | "smollm2" | "smollm3";
/**
 * Each family's tiny model carries its real config's quirks (Qwen3-0.6B, gemma-3-270m/1b, SmolLM2-360M, SmolLM3-3B
 * as published): gemma3-mm is Gemma3ForConditionalGeneration (text_config, language_model.* tensors, a vision tower).
 */
export const FAMILIES: readonly Family[] = [
  "llama",
  "mistral",
  "qwen2",
  "phi3",
  "llama3",
  "qwen3",
  "gemma3",
  "gemma3-mm",
  "smollm2",
  "smollm3",
];

export interface TinyModelOptions {
  family: Family;
  seed?: number;
  /** Default 256 (a multiple of 256, so K-quants are real). */
  hiddenSize?: number;
  /** Default 512. */
  intermediateSize?: number;
  /** Default 2 (gemma3: 6, one period of its 5 sliding : 1 full layers; smollm3: 4, one period of its 3 RoPE : 1 NoPE). */
  layers?: number;
  /** Default 4 query heads and 2 KV heads (GQA), head_dim = hidden / heads. */
  heads?: number;
  kvHeads?: number;
  /** Embedding rows; default: the tokenizer size rounded up to a multiple of 64, plus 64 (so padding is exercised). */
  vocabSize?: number;
  /** Storage dtype of the weights. Default BF16 (as real checkpoints). */
  dtype?: "F32" | "F16" | "BF16";
  /** Write shards of at most this many bytes (with model.safetensors.index.json). */
  maxShardBytes?: number;
  /** Default: SPM for llama/mistral/phi3, Qwen2 BPE for qwen2, Llama-3 BPE for llama3. */
  tokenizer?: TokenizerKind;
  /** Real tokenizer files (e.g. from `realTokenizer`) instead of a generated tokenizer; set `vocabSize` too. */
  tokenizerFiles?: { tokenizer: Record<string, unknown>; config: Record<string, unknown> };
  /** Default: true for qwen2, llama3 and the 2025 families (as their small sizes are). */
  tieEmbeddings?: boolean;
  /** Standard deviation of the random linear weights (default 0.08). */
  weightStd?: number;
  /** gemma3: the sliding window (default 32, shorter than the 128-token prompts of the llama.cpp tests). */
  slidingWindow?: number;
}

/** The HF config.json fields this toolkit reads. */
export interface HfConfig {
  architectures: string[];
  model_type: string;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  vocab_size: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  head_dim?: number;
  rope_scaling?: Record<string, unknown> | null;
  original_max_position_embeddings?: number;
  partial_rotary_factor?: number;
  sliding_window?: number | null;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  [key: string]: unknown;
}

export interface TinyModel {
  dir: string;
  family: Family;
  /** config.json as written. */
  config: HfConfig;
  /** The text model's settings: `config`, or a multimodal config's text_config. */
  textConfig: HfConfig;
  tokenizer: HfTokenizerFiles;
  tokenizerKind: TokenizerKind;
  /** HF tensor names and shapes, in file order. */
  tensors: Array<{ name: string; shape: number[] }>;
}

const TOKENIZER_OF: Record<Family, TokenizerKind> = {
  llama: "spm",
  mistral: "spm",
  phi3: "spm-phi3",
  qwen2: "bpe-qwen2",
  llama3: "bpe-llama3",
  qwen3: "bpe-qwen2",
  gemma3: "spm-gemma",
  "gemma3-mm": "spm-gemma",
  smollm2: "bpe-smollm",
  smollm3: "bpe-llama3",
};
const defaultTokenizer = (f: Family): TokenizerKind => TOKENIZER_OF[f];
const NEW_FAMILIES: readonly Family[] = ["qwen3", "gemma3", "gemma3-mm", "smollm2", "smollm3"];
const defaultLayers = (f: Family): number => (f === "gemma3" || f === "gemma3-mm" ? 6 : f === "smollm3" ? 4 : 2);

/** Builds the config.json of a tiny model of `family`. */
export function tinyConfig(options: TinyModelOptions, tokenizer: HfTokenizerFiles): HfConfig {
  const f = options.family;
  const hidden = options.hiddenSize ?? 256;
  const heads = options.heads ?? 4;
  const kvHeads = options.kvHeads ?? 2;
  const vocab = options.vocabSize ?? Math.ceil(tokenizer.size / 64) * 64 + 64;
  const tie = options.tieEmbeddings ?? (f === "qwen2" || f === "llama3" || NEW_FAMILIES.includes(f));
  const layers = options.layers ?? defaultLayers(f);
  const base = {
    hidden_size: hidden,
    intermediate_size: options.intermediateSize ?? 512,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: vocab,
    max_position_embeddings: 512,
    tie_word_embeddings: tie,
    hidden_act: "silu",
    initializer_range: 0.02,
    torch_dtype: { F32: "float32", F16: "float16", BF16: "bfloat16" }[options.dtype ?? "BF16"],
    transformers_version: "4.46.0",
    use_cache: true,
    bos_token_id: tokenizer.ids.bos,
    eos_token_id: tokenizer.ids.eos,
  };
  switch (f) {
    case "llama":
      return {
        ...base,
        architectures: ["LlamaForCausalLM"],
        model_type: "llama",
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        rope_scaling: null,
        attention_bias: false,
        mlp_bias: false,
        pretraining_tp: 1,
      };
    case "llama3":
      return {
        ...base,
        architectures: ["LlamaForCausalLM"],
        model_type: "llama",
        rms_norm_eps: 1e-5,
        rope_theta: 500000,
        attention_bias: false,
        mlp_bias: false,
        head_dim: hidden / heads,
        // A short original context so the llama3 frequency factors change most rotary dimensions even at tiny positions.
        rope_scaling: {
          rope_type: "llama3",
          factor: 8.0,
          low_freq_factor: 1.0,
          high_freq_factor: 4.0,
          original_max_position_embeddings: 64,
        },
      };
    case "mistral":
      return {
        ...base,
        architectures: ["MistralForCausalLM"],
        model_type: "mistral",
        rms_norm_eps: 1e-5,
        rope_theta: 1000000,
        sliding_window: null,
        head_dim: hidden / heads,
      };
    case "qwen2":
      return {
        ...base,
        architectures: ["Qwen2ForCausalLM"],
        model_type: "qwen2",
        rms_norm_eps: 1e-6,
        rope_theta: 1000000,
        use_sliding_window: false,
        sliding_window: 512,
        max_window_layers: 2,
      };
    case "phi3":
      return {
        ...base,
        architectures: ["Phi3ForCausalLM"],
        model_type: "phi3",
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        rope_scaling: null,
        original_max_position_embeddings: 512,
        sliding_window: 511,
        attention_bias: false,
        resid_pdrop: 0,
        embd_pdrop: 0,
        attention_dropout: 0,
      };
    case "qwen3":
      // Qwen3-0.6B: head_dim 128 with hidden 1024 and 16 heads (not hidden / heads), q/k norms, no biases, tied.
      return {
        ...base,
        architectures: ["Qwen3ForCausalLM"],
        model_type: "qwen3",
        head_dim: 2 * (hidden / heads),
        rms_norm_eps: 1e-6,
        rope_theta: 1000000,
        rope_scaling: null,
        attention_bias: false,
        attention_dropout: 0,
        use_sliding_window: false,
        sliding_window: null,
        max_window_layers: layers,
        max_position_embeddings: 40960,
      };
    case "smollm2":
      // SmolLM2-360M: a Llama with tied embeddings, rope_theta 100000, rms_norm_eps 1e-5, 8192 positions.
      return {
        ...base,
        architectures: ["LlamaForCausalLM"],
        model_type: "llama",
        rms_norm_eps: 1e-5,
        rope_theta: 100000,
        rope_scaling: null,
        attention_bias: false,
        mlp_bias: false,
        pretraining_tp: 1,
        is_llama_config: true,
        rope_interleaved: false,
        max_position_embeddings: 8192,
        head_dim: hidden / heads,
      };
    case "smollm3":
      // SmolLM3-3B: every fourth layer without rotary positions (no_rope_layers 1,1,1,0 ...), rope_theta 5e6, tied.
      return {
        ...base,
        architectures: ["SmolLM3ForCausalLM"],
        model_type: "smollm3",
        rms_norm_eps: 1e-6,
        rope_theta: 5000000,
        rope_scaling: null,
        attention_bias: false,
        mlp_bias: false,
        no_rope_layer_interval: 4,
        no_rope_layers: Array.from({ length: layers }, (_, i) => ((i + 1) % 4 !== 0 ? 1 : 0)),
        use_sliding_window: false,
        sliding_window: null,
        max_window_layers: layers,
        pretraining_tp: 2,
        max_position_embeddings: 65536,
      };
    case "gemma3":
    case "gemma3-mm": {
      // gemma-3-270m / gemma-3-1b-it: head_dim 256 ≠ hidden / heads, one KV head, query_pre_attn_scalar = head_dim, GeGLU
      // (gelu_pytorch_tanh), five sliding layers to one full, local rope base 10000 and global 1e6, no soft-capping,
      // and tie_word_embeddings left out (Gemma3TextConfig's default, true).
      const { tie_word_embeddings: _tied, hidden_act: _act, ...rest } = base;
      const headDim = 2 * (hidden / heads);
      const text = {
        ...rest,
        num_key_value_heads: options.kvHeads ?? 1,
        model_type: "gemma3_text",
        head_dim: headDim,
        hidden_activation: "gelu_pytorch_tanh",
        query_pre_attn_scalar: headDim,
        rms_norm_eps: 1e-6,
        rope_theta: 1000000,
        rope_local_base_freq: 10000,
        rope_scaling: null,
        sliding_window: options.slidingWindow ?? 32,
        layer_types: Array.from({ length: layers }, (_, i) => ((i + 1) % 6 === 0 ? "full_attention" : "sliding_attention")),
        attn_logit_softcapping: null,
        final_logit_softcapping: null,
        attention_bias: false,
        attention_dropout: 0,
        use_bidirectional_attention: false,
        max_position_embeddings: 32768,
        pad_token_id: tokenizer.ids.pad,
        ...(tie ? {} : { tie_word_embeddings: false }),
      };
      if (f === "gemma3") return { ...text, architectures: ["Gemma3ForCausalLM"] } as HfConfig;
      // gemma-3-4b-it's layout: the text model's settings in text_config, special ids and the image token at the top.
      const { bos_token_id, eos_token_id, pad_token_id, torch_dtype, transformers_version, ...textConfig } = text;
      return {
        architectures: ["Gemma3ForConditionalGeneration"],
        model_type: "gemma3",
        text_config: textConfig,
        vision_config: {
          model_type: "siglip_vision_model",
          hidden_size: 16,
          intermediate_size: 32,
          num_hidden_layers: 1,
          num_attention_heads: 2,
          patch_size: 14,
          image_size: 28,
        },
        boi_token_index: 255999,
        eoi_token_index: 256000,
        image_token_index: 262144,
        mm_tokens_per_image: 4,
        initializer_range: 0.02,
        bos_token_id,
        eos_token_id: [eos_token_id, tokenizer.ids.imEnd],
        pad_token_id,
        torch_dtype,
        transformers_version,
      } as unknown as HfConfig;
    }
  }
}

/** The HF tensors of a model with this config (names and shapes), in the order save_pretrained writes them. */
export function hfTensorShapes(
  config: HfConfig,
  family: Family,
): Array<{ name: string; shape: number[]; kind: "norm" | "linear" | "bias" | "embed" }> {
  const tensors = shapesOf(parseHfConfig(config)).map(({ name, shape, kind }) => ({
    name,
    shape,
    kind: kind === "embedding" ? ("embed" as const) : kind,
  }));
  if (family !== "gemma3-mm") return tensors;
  // Gemma3ForConditionalGeneration as published (transformers 4.50): the text model under language_model.model, and
  // a vision tower and projector the text model ignores.
  return [
    ...tensors.map((t) => ({ ...t, name: `language_model.${t.name}` })),
    { name: "multi_modal_projector.mm_input_projection_weight", shape: [16, textConfigOf(config).hidden_size], kind: "linear" as const },
    { name: "vision_tower.vision_model.embeddings.patch_embedding.weight", shape: [16, 3, 14, 14], kind: "linear" as const },
  ];
}

const isGemma = (f: Family) => f === "gemma3" || f === "gemma3-mm";

/** The text model's settings of a config.json: itself, or a multimodal config's text_config. */
export function textConfigOf(config: HfConfig): HfConfig {
  return (config.text_config as HfConfig | undefined) ?? config;
}

/** Writes a seeded tiny random model directory of `options.family` into `dir`. */
export async function writeTinyModel(dir: string, options: TinyModelOptions): Promise<TinyModel> {
  await mkdir(dir, { recursive: true });
  const kind = options.tokenizer ?? defaultTokenizer(options.family);
  const tok = options.tokenizerFiles ? filesOf(options.tokenizerFiles) : makeTokenizer(kind);
  const config = tinyConfig(options, tok);
  const textConfig = textConfigOf(config);
  if (textConfig.vocab_size < tok.size) throw new Error(`vocab_size ${textConfig.vocab_size} is smaller than the tokenizer (${tok.size})`);
  const rng = new Rng(options.seed ?? 1234);
  const std = options.weightStd ?? 0.08;
  const dtype = options.dtype ?? "BF16";
  const shapes = hfTensorShapes(config, options.family);
  // Values are drawn eagerly (tiny models), in a fixed order, so a given seed always gives the same weights.
  const tensors: TensorToWrite[] = shapes.map(({ name, shape, kind: k }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    // Gemma stores its norm weights as w − 1 (the model multiplies by 1 + w).
    const data =
      k === "norm"
        ? rng.normals(n, 0.1, isGemma(options.family) ? 0 : 1)
        : k === "bias"
          ? rng.normals(n, 0.1)
          : k === "embed"
            ? rng.normals(n, 0.1)
            : rng.normals(n, std);
    return { name, dtype, shape, data };
  });
  if (options.maxShardBytes) {
    await saveShardedSafetensors(dir, tensors, { maxShardBytes: options.maxShardBytes, metadata: { format: "pt" } });
  } else {
    await saveSafetensors(join(dir, "model.safetensors"), tensors, { metadata: { format: "pt" } });
  }
  await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
  await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tok.tokenizer, null, 2));
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify(tok.config, null, 2));
  await writeFile(
    join(dir, "generation_config.json"),
    JSON.stringify({ bos_token_id: tok.ids.bos, eos_token_id: tok.ids.eos, do_sample: false }, null, 2),
  );
  return {
    dir,
    family: options.family,
    config,
    textConfig,
    tokenizer: tok,
    tokenizerKind: kind,
    tensors: shapes.map(({ name, shape }) => ({ name, shape })),
  };
}

/** HfTokenizerFiles of given tokenizer files: their size and the ids of their notable tokens (-1: none). */
function filesOf(files: { tokenizer: Record<string, any>; config: Record<string, any> }): HfTokenizerFiles {
  const vocab = files.tokenizer.model.vocab as Record<string, number>;
  const idOf = (t: string) =>
    (files.tokenizer.added_tokens as Array<{ id: number; content: string }>).find((a) => a.content === t)?.id ?? vocab[t];
  const text = (v: unknown) => (typeof v === "string" ? v : (v as { content?: string } | null)?.content);
  const id = (key: string) => {
    const t = text(files.config[key]);
    return t === undefined ? null : (idOf(t) ?? null);
  };
  return {
    tokenizer: files.tokenizer,
    config: files.config,
    size: tokenizerSize(files.tokenizer),
    ids: {
      bos: id("bos_token"),
      eos: id("eos_token") ?? -1,
      pad: id("pad_token"),
      unk: id("unk_token"),
      imStart: idOf("<|im_start|>") ?? -1,
      imEnd: idOf("<|im_end|>") ?? -1,
    },
  };
}

export interface TinyLoraOptions {
  seed?: number;
  r?: number;
  alpha?: number;
  /** HF module names (default q_proj, k_proj, v_proj, o_proj; phi3: qkv_proj, o_proj). */
  targets?: readonly string[];
  /** Standard deviation of lora_B (PEFT initialises it to zero; a trained adapter is not). Default 0.05. */
  bStd?: number;
  useRslora?: boolean;
}

/** Writes a PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) for a tiny model. */
export async function writeTinyLoraAdapter(
  dir: string,
  base: TinyModel,
  options: TinyLoraOptions = {},
): Promise<{ dir: string; config: Record<string, unknown> }> {
  await mkdir(dir, { recursive: true });
  const r = options.r ?? 8;
  const alpha = options.alpha ?? 16;
  const targets = options.targets ?? (base.family === "phi3" ? ["qkv_proj", "o_proj"] : ["q_proj", "k_proj", "v_proj", "o_proj"]);
  const rng = new Rng(options.seed ?? 99);
  const tensors: TensorToWrite[] = [];
  for (const t of base.tensors) {
    const m = /^(?:language_model\.)?model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.weight$/.exec(t.name);
    if (!m || !targets.includes(m[3]!)) continue;
    const [out, inp] = t.shape as [number, number];
    // PEFT names modules as transformers does: a multimodal model's text layers are model.language_model.layers.
    const module = t.name.replace(/^language_model\.model\./, "model.language_model.").replace(/\.weight$/, "");
    const prefix = `base_model.model.${module}`;
    tensors.push({ name: `${prefix}.lora_A.weight`, dtype: "F32", shape: [r, inp], data: rng.normals(r * inp, 1 / Math.sqrt(inp)) });
    tensors.push({ name: `${prefix}.lora_B.weight`, dtype: "F32", shape: [out, r], data: rng.normals(out * r, options.bStd ?? 0.05) });
  }
  const config = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: base.dir,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    lora_alpha: alpha,
    lora_dropout: 0,
    modules_to_save: null,
    peft_type: "LORA",
    r,
    rank_pattern: {},
    revision: null,
    target_modules: [...targets],
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: options.useRslora ?? false,
  };
  await saveSafetensors(join(dir, "adapter_model.safetensors"), tensors, { metadata: { format: "pt" } });
  await writeFile(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
  return { dir, config };
}
