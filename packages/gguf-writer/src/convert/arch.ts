// Per-architecture facts for HF -> GGUF: which llama.cpp architecture, the hyperparameter keys (with their exact
// types), the tensor name map, and which tensors need the q/k row permutation (llama.cpp's LLAMA_ROPE_TYPE_NORM
// rotates adjacent pairs; HF's rotate_half pairs i with i + head_dim/2).
import { gv, type GgufValue } from "../types.js";
import { GgufConvertError } from "./errors.js";

export type HfFamily = "llama" | "mistral" | "qwen2" | "phi3";

export interface ArchInfo {
  family: HfFamily;
  /** general.architecture */
  arch: "llama" | "qwen2" | "phi3";
  /** Whether q/k rows are permuted from rotate_half to adjacent-pair order. */
  permuteQk: boolean;
}

export function archOf(config: Record<string, any>, file = "config.json"): ArchInfo {
  const a = config.architectures?.[0] ?? config.model_type;
  switch (a) {
    case "LlamaForCausalLM":
    case "llama":
      return { family: "llama", arch: "llama", permuteQk: true };
    case "MistralForCausalLM":
    case "mistral":
      return { family: "mistral", arch: "llama", permuteQk: true };
    case "Qwen2ForCausalLM":
    case "qwen2":
      return { family: "qwen2", arch: "qwen2", permuteQk: false };
    case "Phi3ForCausalLM":
    case "phi3":
      return { family: "phi3", arch: "phi3", permuteQk: false };
    default:
      throw new GgufConvertError(`architecture ${JSON.stringify(a)} is not supported (llama, mistral, qwen2, phi3)`, file, "architectures");
  }
}

export interface Hparams {
  hidden: number;
  ff: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  contextLength: number;
  eps: number;
  ropeTheta: number;
  tie: boolean;
}

export function hparamsOf(config: Record<string, any>, file = "config.json"): Hparams {
  const need = (k: string): number => {
    const v = config[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new GgufConvertError(`missing or invalid ${k}`, file, k);
    return v;
  };
  const hidden = need("hidden_size");
  const heads = need("num_attention_heads");
  const kvHeads = typeof config.num_key_value_heads === "number" ? config.num_key_value_heads : heads;
  const headDim = typeof config.head_dim === "number" ? config.head_dim : hidden / heads;
  if (!Number.isInteger(headDim) || headDim % 2) throw new GgufConvertError(`head_dim ${headDim} is not an even integer`, file, "head_dim");
  if (heads % kvHeads) throw new GgufConvertError(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`, file, "num_key_value_heads");
  return {
    hidden,
    ff: need("intermediate_size"),
    layers: need("num_hidden_layers"),
    heads,
    kvHeads,
    headDim,
    vocab: need("vocab_size"),
    contextLength: need("max_position_embeddings"),
    eps: need("rms_norm_eps"),
    ropeTheta: typeof config.rope_theta === "number" ? config.rope_theta : 10000,
    tie: config.tie_word_embeddings === true,
  };
}

/** The architecture's hyperparameter keys, typed as llama.cpp checks them (u32 counts, f32 eps and bases). */
export function archMetadata(info: ArchInfo, config: Record<string, any>, hp: Hparams, file = "config.json"): Array<[string, GgufValue]> {
  const a = info.arch;
  const kv: Array<[string, GgufValue]> = [];
  const rope = (config.rope_scaling ?? null) as Record<string, any> | null;
  const ropeType = rope ? (rope.rope_type ?? rope.type) : undefined;
  if (a === "phi3") {
    kv.push([`${a}.context_length`, gv.u32(hp.contextLength)]);
    kv.push([`${a}.rope.scaling.original_context_length`, gv.u32(config.original_max_position_embeddings ?? rope?.original_max_position_embeddings ?? hp.contextLength)]);
    kv.push([`${a}.embedding_length`, gv.u32(hp.hidden)]);
    kv.push([`${a}.feed_forward_length`, gv.u32(hp.ff)]);
    kv.push([`${a}.block_count`, gv.u32(hp.layers)]);
    kv.push([`${a}.attention.head_count`, gv.u32(hp.heads)]);
    kv.push([`${a}.attention.head_count_kv`, gv.u32(hp.kvHeads)]);
    kv.push([`${a}.attention.layer_norm_rms_epsilon`, gv.f32(hp.eps)]);
    const rot = Math.floor(((config.partial_rotary_factor ?? 1) * hp.hidden) / hp.heads);
    kv.push([`${a}.rope.dimension_count`, gv.u32(rot)]);
    kv.push([`${a}.rope.freq_base`, gv.f32(hp.ropeTheta)]);
    kv.push([`${a}.attention.sliding_window`, gv.u32(typeof config.sliding_window === "number" ? config.sliding_window : 0)]);
    if (ropeType && ropeType !== "default") throw new GgufConvertError(`phi3 rope scaling ${ropeType} is not supported`, file, "rope_scaling");
    return kv;
  }
  kv.push([`${a}.block_count`, gv.u32(hp.layers)]);
  kv.push([`${a}.context_length`, gv.u32(hp.contextLength)]);
  kv.push([`${a}.embedding_length`, gv.u32(hp.hidden)]);
  kv.push([`${a}.feed_forward_length`, gv.u32(hp.ff)]);
  kv.push([`${a}.attention.head_count`, gv.u32(hp.heads)]);
  kv.push([`${a}.attention.head_count_kv`, gv.u32(hp.kvHeads)]);
  if (ropeType === "linear") {
    kv.push([`${a}.rope.scaling.type`, gv.str("linear")]);
    kv.push([`${a}.rope.scaling.factor`, gv.f32(rope!.factor)]);
  } else if (ropeType === "yarn") {
    kv.push([`${a}.rope.scaling.type`, gv.str("yarn")]);
    kv.push([`${a}.rope.scaling.factor`, gv.f32(rope!.factor)]);
    kv.push([`${a}.rope.scaling.original_context_length`, gv.u32(rope!.original_max_position_embeddings)]);
  } else if (ropeType && ropeType !== "default" && !(ropeType === "llama3" && a === "llama")) {
    throw new GgufConvertError(`rope scaling ${ropeType} is not supported for ${a}`, file, "rope_scaling");
  }
  kv.push([`${a}.rope.freq_base`, gv.f32(hp.ropeTheta)]);
  kv.push([`${a}.attention.layer_norm_rms_epsilon`, gv.f32(hp.eps)]);
  if (typeof config.head_dim === "number") {
    kv.push([`${a}.attention.key_length`, gv.u32(config.head_dim)]);
    kv.push([`${a}.attention.value_length`, gv.u32(config.head_dim)]);
  }
  if (a === "llama") {
    kv.push([`${a}.vocab_size`, gv.u32(hp.vocab)]);
    kv.push([`${a}.rope.dimension_count`, gv.u32(hp.headDim)]);
  }
  return kv;
}

/** The llama3 rope frequency factors (rope_freqs.weight), computed as llama.cpp's converter does. */
export function llama3RopeFactors(config: Record<string, any>, hp: Hparams): Float32Array | undefined {
  const rope = config.rope_scaling as Record<string, any> | null | undefined;
  if (!rope || (rope.rope_type ?? rope.type) !== "llama3") return undefined;
  const dim = hp.headDim;
  const factor = rope.factor ?? 8.0;
  const low = rope.low_freq_factor ?? 1.0;
  const high = rope.high_freq_factor ?? 4.0;
  const old = rope.original_max_position_embeddings ?? 8192;
  const lowWavelen = old / low;
  const highWavelen = old / high;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    // float32 like torch.arange(...) / dim and base ** (...)
    const freq = Math.fround(1 / Math.fround(Math.fround(hp.ropeTheta) ** Math.fround((2 * i) / dim)));
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highWavelen) out[i] = 1;
    else if (wavelen > lowWavelen) out[i] = factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

export interface TensorMapping {
  /** GGUF name */
  name: string;
  /** Heads for the q/k permutation, when it applies. */
  permuteHeads?: number;
}

/** Maps one HF tensor name to its GGUF name (undefined: skip it); throws for names it does not know. */
export function mapTensorName(hfName: string, info: ArchInfo, hp: Hparams, file = "model.safetensors"): TensorMapping | undefined {
  if (hfName.endsWith(".rotary_emb.inv_freq")) return undefined;
  if (hfName === "model.embed_tokens.weight") return { name: "token_embd.weight" };
  if (hfName === "model.norm.weight") return { name: "output_norm.weight" };
  if (hfName === "lm_head.weight") return { name: "output.weight" };
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hfName);
  if (m) {
    const [, layer, part, kind] = m;
    if (Number(layer) >= hp.layers) throw new GgufConvertError(`layer ${layer} is past num_hidden_layers ${hp.layers}`, file, hfName);
    const table: Record<string, string> = {
      input_layernorm: "attn_norm",
      "self_attn.q_proj": "attn_q",
      "self_attn.k_proj": "attn_k",
      "self_attn.v_proj": "attn_v",
      "self_attn.o_proj": "attn_output",
      "self_attn.qkv_proj": "attn_qkv",
      post_attention_layernorm: "ffn_norm",
      "mlp.gate_proj": "ffn_gate",
      "mlp.up_proj": "ffn_up",
      "mlp.down_proj": "ffn_down",
      "mlp.gate_up_proj": "ffn_up",
    };
    const g = table[part!];
    if (g) {
      const name = `blk.${layer}.${g}.${kind}`;
      if (info.permuteQk && part === "self_attn.q_proj") return { name, permuteHeads: hp.heads };
      if (info.permuteQk && part === "self_attn.k_proj") return { name, permuteHeads: hp.kvHeads };
      return { name };
    }
  }
  throw new GgufConvertError("tensor has no GGUF mapping for this architecture", file, hfName);
}

/**
 * Reorders rows from HF's rotate_half layout to llama.cpp's adjacent pairs, per head:
 * out[h*hd + 2i + j] = in[h*hd + j*hd/2 + i]. `rows` rows of `cols` values; `rows` is a whole number of heads.
 */
export function permuteRows(data: Float32Array, rows: number, cols: number, headDim: number): Float32Array {
  if (rows % headDim) throw new RangeError(`permute: ${rows} rows are not whole heads of ${headDim}`);
  const out = new Float32Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < rows / headDim; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * headDim + j * half + i) * cols;
        const dst = (h * headDim + 2 * i + j) * cols;
        out.set(data.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}
