// Seeded tiny random Hugging Face model directories of each family the presets use, written exactly as
// `save_pretrained` lays them out: config.json, model.safetensors (or shards + index), tokenizer.json,
// tokenizer_config.json (and generation_config.json).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { saveSafetensors, saveShardedSafetensors, type TensorToWrite } from "@neural/safetensors";
import { Rng } from "./rng.js";
import { tokenizerSize } from "./real-tokenizers.js";
import { makeTokenizer, type HfTokenizerFiles, type TokenizerKind } from "./tokenizers.js";

export type Family = "llama" | "mistral" | "qwen2" | "phi3" | "llama3";
export const FAMILIES: readonly Family[] = ["llama", "mistral", "qwen2", "phi3", "llama3"];

export interface TinyModelOptions {
  family: Family;
  seed?: number;
  /** Default 256 (a multiple of 256, so K-quants are real). */
  hiddenSize?: number;
  /** Default 512. */
  intermediateSize?: number;
  /** Default 2. */
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
  /** Default: true for qwen2 and llama3. */
  tieEmbeddings?: boolean;
  /** Standard deviation of the random linear weights (default 0.08). */
  weightStd?: number;
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
  config: HfConfig;
  tokenizer: HfTokenizerFiles;
  tokenizerKind: TokenizerKind;
  /** HF tensor names and shapes, in file order. */
  tensors: Array<{ name: string; shape: number[] }>;
}

const defaultTokenizer = (f: Family): TokenizerKind => (f === "qwen2" ? "bpe-qwen2" : f === "llama3" ? "bpe-llama3" : f === "phi3" ? "spm-phi3" : "spm");

/** Builds the config.json of a tiny model of `family`. */
export function tinyConfig(options: TinyModelOptions, tokenizer: HfTokenizerFiles): HfConfig {
  const f = options.family;
  const hidden = options.hiddenSize ?? 256;
  const heads = options.heads ?? 4;
  const kvHeads = options.kvHeads ?? 2;
  const vocab = options.vocabSize ?? Math.ceil(tokenizer.size / 64) * 64 + 64;
  const tie = options.tieEmbeddings ?? (f === "qwen2" || f === "llama3");
  const base = {
    hidden_size: hidden,
    intermediate_size: options.intermediateSize ?? 512,
    num_hidden_layers: options.layers ?? 2,
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
      return { ...base, architectures: ["LlamaForCausalLM"], model_type: "llama", rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null, attention_bias: false, mlp_bias: false, pretraining_tp: 1 };
    case "llama3":
      return {
        ...base, architectures: ["LlamaForCausalLM"], model_type: "llama", rms_norm_eps: 1e-5, rope_theta: 500000, attention_bias: false, mlp_bias: false, head_dim: hidden / heads,
        // A short original context so the llama3 frequency factors change most rotary dimensions even at tiny positions.
        rope_scaling: { rope_type: "llama3", factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 64 },
      };
    case "mistral":
      return { ...base, architectures: ["MistralForCausalLM"], model_type: "mistral", rms_norm_eps: 1e-5, rope_theta: 1000000, sliding_window: null, head_dim: hidden / heads };
    case "qwen2":
      return { ...base, architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", rms_norm_eps: 1e-6, rope_theta: 1000000, use_sliding_window: false, sliding_window: 512, max_window_layers: 2 };
    case "phi3":
      return {
        ...base, architectures: ["Phi3ForCausalLM"], model_type: "phi3", rms_norm_eps: 1e-5, rope_theta: 10000, rope_scaling: null, original_max_position_embeddings: 512,
        sliding_window: 511, attention_bias: false, resid_pdrop: 0, embd_pdrop: 0, attention_dropout: 0,
      };
  }
}

/** The HF tensors of a model with this config (names and shapes), in the order save_pretrained writes them. */
export function hfTensorShapes(config: HfConfig, family: Family): Array<{ name: string; shape: number[]; kind: "norm" | "linear" | "bias" | "embed" }> {
  const h = config.hidden_size;
  const hd = config.head_dim ?? h / config.num_attention_heads;
  const q = config.num_attention_heads * hd;
  const kv = config.num_key_value_heads * hd;
  const ff = config.intermediate_size;
  const out: Array<{ name: string; shape: number[]; kind: "norm" | "linear" | "bias" | "embed" }> = [];
  out.push({ name: "model.embed_tokens.weight", shape: [config.vocab_size, h], kind: "embed" });
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    out.push({ name: `${p}.input_layernorm.weight`, shape: [h], kind: "norm" });
    if (family === "phi3") {
      out.push({ name: `${p}.self_attn.qkv_proj.weight`, shape: [q + 2 * kv, h], kind: "linear" });
    } else {
      out.push({ name: `${p}.self_attn.q_proj.weight`, shape: [q, h], kind: "linear" });
      out.push({ name: `${p}.self_attn.k_proj.weight`, shape: [kv, h], kind: "linear" });
      out.push({ name: `${p}.self_attn.v_proj.weight`, shape: [kv, h], kind: "linear" });
      if (family === "qwen2") {
        out.push({ name: `${p}.self_attn.q_proj.bias`, shape: [q], kind: "bias" });
        out.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kv], kind: "bias" });
        out.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kv], kind: "bias" });
      }
    }
    out.push({ name: `${p}.self_attn.o_proj.weight`, shape: [h, q], kind: "linear" });
    out.push({ name: `${p}.post_attention_layernorm.weight`, shape: [h], kind: "norm" });
    if (family === "phi3") {
      out.push({ name: `${p}.mlp.gate_up_proj.weight`, shape: [2 * ff, h], kind: "linear" });
    } else {
      out.push({ name: `${p}.mlp.gate_proj.weight`, shape: [ff, h], kind: "linear" });
      out.push({ name: `${p}.mlp.up_proj.weight`, shape: [ff, h], kind: "linear" });
    }
    out.push({ name: `${p}.mlp.down_proj.weight`, shape: [h, ff], kind: "linear" });
  }
  out.push({ name: "model.norm.weight", shape: [h], kind: "norm" });
  if (!config.tie_word_embeddings) out.push({ name: "lm_head.weight", shape: [config.vocab_size, h], kind: "linear" });
  return out;
}

/** Writes a seeded tiny random model directory of `options.family` into `dir`. */
export async function writeTinyModel(dir: string, options: TinyModelOptions): Promise<TinyModel> {
  await mkdir(dir, { recursive: true });
  const kind = options.tokenizer ?? defaultTokenizer(options.family);
  const tok = options.tokenizerFiles ? filesOf(options.tokenizerFiles) : makeTokenizer(kind);
  const config = tinyConfig(options, tok);
  if (config.vocab_size < tok.size) throw new Error(`vocab_size ${config.vocab_size} is smaller than the tokenizer (${tok.size})`);
  const rng = new Rng(options.seed ?? 1234);
  const std = options.weightStd ?? 0.08;
  const dtype = options.dtype ?? "BF16";
  const shapes = hfTensorShapes(config, options.family);
  // Values are drawn eagerly (tiny models), in a fixed order, so a given seed always gives the same weights.
  const tensors: TensorToWrite[] = shapes.map(({ name, shape, kind: k }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = k === "norm" ? rng.normals(n, 0.1, 1) : k === "bias" ? rng.normals(n, 0.1) : k === "embed" ? rng.normals(n, 0.1) : rng.normals(n, std);
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
  await writeFile(join(dir, "generation_config.json"), JSON.stringify({ bos_token_id: tok.ids.bos, eos_token_id: tok.ids.eos, do_sample: false }, null, 2));
  return { dir, family: options.family, config, tokenizer: tok, tokenizerKind: kind, tensors: shapes.map(({ name, shape }) => ({ name, shape })) };
}

/** HfTokenizerFiles of given tokenizer files: their size and the ids of their notable tokens (-1: none). */
function filesOf(files: { tokenizer: Record<string, any>; config: Record<string, any> }): HfTokenizerFiles {
  const vocab = files.tokenizer.model.vocab as Record<string, number>;
  const idOf = (t: string) => (files.tokenizer.added_tokens as Array<{ id: number; content: string }>).find((a) => a.content === t)?.id ?? vocab[t];
  const text = (v: unknown) => (typeof v === "string" ? v : (v as { content?: string } | null)?.content);
  const id = (key: string) => {
    const t = text(files.config[key]);
    return t === undefined ? null : (idOf(t) ?? null);
  };
  return {
    tokenizer: files.tokenizer,
    config: files.config,
    size: tokenizerSize(files.tokenizer),
    ids: { bos: id("bos_token"), eos: id("eos_token") ?? -1, pad: id("pad_token"), unk: id("unk_token"), imStart: idOf("<|im_start|>") ?? -1, imEnd: idOf("<|im_end|>") ?? -1 },
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
export async function writeTinyLoraAdapter(dir: string, base: TinyModel, options: TinyLoraOptions = {}): Promise<{ dir: string; config: Record<string, unknown> }> {
  await mkdir(dir, { recursive: true });
  const r = options.r ?? 8;
  const alpha = options.alpha ?? 16;
  const targets = options.targets ?? (base.family === "phi3" ? ["qkv_proj", "o_proj"] : ["q_proj", "k_proj", "v_proj", "o_proj"]);
  const rng = new Rng(options.seed ?? 99);
  const tensors: TensorToWrite[] = [];
  for (const t of base.tensors) {
    const m = /^model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.weight$/.exec(t.name);
    if (!m || !targets.includes(m[3]!)) continue;
    const [out, inp] = t.shape as [number, number];
    const prefix = `base_model.model.${t.name.replace(/\.weight$/, "")}`;
    tensors.push({ name: `${prefix}.lora_A.weight`, dtype: "F32", shape: [r, inp], data: rng.normals(r * inp, 1 / Math.sqrt(inp)) });
    tensors.push({ name: `${prefix}.lora_B.weight`, dtype: "F32", shape: [out, r], data: rng.normals(out * r, options.bStd ?? 0.05) });
  }
  const config = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: base.dir, bias: "none", fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, lora_alpha: alpha, lora_dropout: 0, modules_to_save: null, peft_type: "LORA", r, rank_pattern: {},
    revision: null, target_modules: [...targets], task_type: "CAUSAL_LM", use_dora: false, use_rslora: options.useRslora ?? false,
  };
  await saveSafetensors(join(dir, "adapter_model.safetensors"), tensors, { metadata: { format: "pt" } });
  await writeFile(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
  return { dir, config };
}
