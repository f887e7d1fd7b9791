// Per-architecture facts for HF -> GGUF, read from llama.cpp's gguf-py (constants.py, tensor_mapping.py), its
// converter (convert_hf_to_gguf.py and conversion/*.py) and llama-arch.cpp / src/models/*.cpp as bundled with
// node-llama-cpp 3.21.1: which llama.cpp architecture each family is, the hyperparameter keys (with their exact
// types), the tensor name map, the q/k row permutation (llama.cpp's LLAMA_ROPE_TYPE_NORM rotates adjacent pairs; HF's
// rotate_half pairs i with i + head_dim/2) and Gemma's norm shift. The model itself is @neural/hf-config's parse.
import { layerSetPeriod, textModelTensorName, usesRope, type ModelConfig, type ModelFamily } from "@neural/hf-config";
import { gv, type GgufValue } from "../types.js";
import { GgufConvertError } from "./errors.js";

export type GgufArchitecture = "llama" | "qwen2" | "qwen3" | "phi3" | "gemma3" | "smollm3";

/** The llama.cpp architecture (general.architecture) each family is written as, and what its tensors need. */
export const GGUF_ARCHITECTURES: Readonly<Record<ModelFamily, { arch: GgufArchitecture; permuteQk: boolean }>> = {
  llama: { arch: "llama", permuteQk: true },
  mistral: { arch: "llama", permuteQk: true },
  qwen2: { arch: "qwen2", permuteQk: false },
  qwen3: { arch: "qwen3", permuteQk: false },
  phi3: { arch: "phi3", permuteQk: false },
  gemma3: { arch: "gemma3", permuteQk: false },
  smollm3: { arch: "smollm3", permuteQk: true },
};

export interface ArchInfo {
  family: ModelFamily;
  /** general.architecture */
  arch: GgufArchitecture;
  /** Whether q/k rows are permuted from rotate_half to adjacent-pair order (llama.cpp's NORM rope type). */
  permuteQk: boolean;
  /** Added to every norm weight: Gemma stores w − 1 and computes with 1 + w, llama.cpp multiplies by the weight. */
  normShift: number;
}

export function archInfo(model: ModelConfig): ArchInfo {
  const { arch, permuteQk } = GGUF_ARCHITECTURES[model.family];
  return { family: model.family, arch, permuteQk, normShift: model.normWeightOffset };
}

/**
 * The architecture's hyperparameter keys, typed as llama.cpp checks them (u32 counts, f32 eps and bases), in the
 * converter's order. What llama.cpp would compute differently from the model is refused, naming the field.
 */
export function archMetadata(info: ArchInfo, model: ModelConfig, file = "config.json"): Array<[string, GgufValue]> {
  const a = info.arch;
  const kv: Array<[string, GgufValue]> = [];
  const rope = model.ropeScaling;
  if (a === "phi3") {
    kv.push([`${a}.context_length`, gv.u32(model.maxPositions)]);
    kv.push([`${a}.rope.scaling.original_context_length`, gv.u32(model.originalMaxPositions ?? model.maxPositions)]);
    kv.push([`${a}.embedding_length`, gv.u32(model.hiddenSize)]);
    kv.push([`${a}.feed_forward_length`, gv.u32(model.intermediateSize)]);
    kv.push([`${a}.block_count`, gv.u32(model.numLayers)]);
    kv.push([`${a}.attention.head_count`, gv.u32(model.numHeads)]);
    kv.push([`${a}.attention.head_count_kv`, gv.u32(model.numKvHeads)]);
    kv.push([`${a}.attention.layer_norm_rms_epsilon`, gv.f32(model.rmsNormEps)]);
    kv.push([`${a}.rope.dimension_count`, gv.u32(model.rotaryDim)]);
    kv.push([`${a}.rope.freq_base`, gv.f32(model.ropeTheta)]);
    kv.push([`${a}.attention.sliding_window`, gv.u32(model.slidingWindow?.size ?? 0)]);
    if (rope.type !== "none") throw new GgufConvertError(`phi3 rope scaling ${rope.type} is not supported`, file, "rope_scaling");
    return kv;
  }
  kv.push([`${a}.block_count`, gv.u32(model.numLayers)]);
  kv.push([`${a}.context_length`, gv.u32(model.maxPositions)]);
  kv.push([`${a}.embedding_length`, gv.u32(model.hiddenSize)]);
  kv.push([`${a}.feed_forward_length`, gv.u32(model.intermediateSize)]);
  kv.push([`${a}.attention.head_count`, gv.u32(model.numHeads)]);
  kv.push([`${a}.attention.head_count_kv`, gv.u32(model.numKvHeads)]);
  if (rope.type === "linear") {
    kv.push([`${a}.rope.scaling.type`, gv.str("linear")]);
    kv.push([`${a}.rope.scaling.factor`, gv.f32(rope.factor)]);
  } else if (rope.type === "yarn") {
    kv.push([`${a}.rope.scaling.type`, gv.str("yarn")]);
    kv.push([`${a}.rope.scaling.factor`, gv.f32(rope.factor)]);
    kv.push([`${a}.rope.scaling.original_context_length`, gv.u32(rope.originalMaxPositions)]);
  } else if (rope.type !== "none" && !(rope.type === "llama3" && a === "llama")) {
    throw new GgufConvertError(`rope scaling ${rope.type} is not supported for ${a}`, file, "rope_scaling");
  }
  kv.push([`${a}.rope.freq_base`, gv.f32(model.ropeTheta)]);
  if (model.slidingRopeTheta !== undefined && model.slidingWindow) kv.push([`${a}.rope.freq_base_swa`, gv.f32(model.slidingRopeTheta)]);
  kv.push([`${a}.attention.layer_norm_rms_epsilon`, gv.f32(model.rmsNormEps)]);
  if (model.headDim !== model.hiddenSize / model.numHeads || a === "gemma3") {
    kv.push([`${a}.attention.key_length`, gv.u32(model.headDim)]);
    kv.push([`${a}.attention.value_length`, gv.u32(model.headDim)]);
  }
  if (a === "llama" || a === "smollm3") {
    kv.push([`${a}.vocab_size`, gv.u32(model.vocabSize)]);
    kv.push([`${a}.rope.dimension_count`, gv.u32(model.headDim)]);
  }
  if (a === "smollm3") checkSmolLM3(model, file);
  if (a === "gemma3") kv.push(...gemma3Metadata(model, file));
  return kv;
}

/** llama.cpp's smollm3 leaves rotary positions out of every fourth layer (n_no_rope_layer_step = 4), whatever the file says. */
function checkSmolLM3(model: ModelConfig, file: string): void {
  for (let l = 0; l < model.numLayers; l++) {
    if (usesRope(model, l) !== ((l + 1) % 4 !== 0)) {
      throw new GgufConvertError(
        `layer ${l} ${usesRope(model, l) ? "rotates" : "skips rotary positions"}, but llama.cpp's smollm3 skips them on every fourth layer (3, 7, 11, ...) and rotates the others`,
        file,
        "no_rope_layers",
      );
    }
  }
}

/**
 * Gemma 3's keys: the window, the period of its sliding/full layers (layer l full when l + 1 is a multiple of it),
 * the logit soft-cap. llama.cpp fixes the attention scale at 1/√head_dim (1/√(hidden/heads) for the 62-layer 27B),
 * so a query_pre_attn_scalar that says otherwise is refused.
 */
function gemma3Metadata(model: ModelConfig, file: string): Array<[string, GgufValue]> {
  const kv: Array<[string, GgufValue]> = [];
  if (model.slidingWindow) {
    const period = layerSetPeriod(model.slidingWindow.layers, model.numLayers);
    if (period === undefined) {
      throw new GgufConvertError(
        "llama.cpp's gemma3 needs the full-attention layers every n-th layer (layer l full when l + 1 is a multiple of n)",
        file,
        "layer_types",
      );
    }
    kv.push(["gemma3.attention.sliding_window", gv.u32(model.slidingWindow.size)]);
    kv.push(["gemma3.attention.sliding_window_pattern", gv.u32(period)]);
  }
  if (model.finalLogitSoftcap !== undefined) kv.push(["gemma3.final_logit_softcapping", gv.f32(model.finalLogitSoftcap)]);
  const served = 1 / Math.sqrt(model.numLayers === 62 ? model.hiddenSize / model.numHeads : model.headDim);
  if (Math.abs(served - model.attentionScale) > 1e-9 * served) {
    throw new GgufConvertError(
      `llama.cpp's gemma3 scales attention by 1/√${model.numLayers === 62 ? "(hidden_size / heads)" : "head_dim"} = ${served}, this model by ${model.attentionScale}`,
      file,
      "query_pre_attn_scalar",
    );
  }
  return kv;
}

/** The llama3 rope frequency factors (rope_freqs.weight), computed as llama.cpp's converter does. */
export function llama3RopeFactors(model: ModelConfig): Float32Array | undefined {
  const rope = model.ropeScaling;
  if (rope.type !== "llama3") return undefined;
  const dim = model.headDim;
  const { factor, lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: old } = rope;
  const lowWavelen = old / low;
  const highWavelen = old / high;
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    // float32 like torch.arange(...) / dim and base ** (...)
    const freq = Math.fround(1 / Math.fround(Math.fround(model.ropeTheta) ** Math.fround((2 * i) / dim)));
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
  /** Added to every value (Gemma's norms). */
  shift?: number;
}

/** HF layer module → GGUF tensor, per architecture (gguf-py's tensor_mapping.py for the architecture's tensor list). */
function layerTable(arch: GgufArchitecture): Record<string, string> {
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
  if (arch === "qwen3" || arch === "gemma3") {
    table["self_attn.q_norm"] = "attn_q_norm";
    table["self_attn.k_norm"] = "attn_k_norm";
  }
  if (arch === "gemma3") {
    table.post_attention_layernorm = "post_attention_norm";
    table.pre_feedforward_layernorm = "ffn_norm";
    table.post_feedforward_layernorm = "post_ffw_norm";
  }
  return table;
}

/**
 * Maps one HF tensor name to its GGUF name (undefined: skip it, e.g. a multimodal checkpoint's vision tower); throws
 * for names it does not know.
 */
export function mapTensorName(hfName: string, info: ArchInfo, model: ModelConfig, file = "model.safetensors"): TensorMapping | undefined {
  const name = textModelTensorName(hfName);
  if (name === undefined || name.endsWith(".rotary_emb.inv_freq")) return undefined;
  const shift = info.normShift && name.endsWith("norm.weight") ? { shift: info.normShift } : {};
  if (name === "model.embed_tokens.weight") return { name: "token_embd.weight" };
  if (name === "model.norm.weight") return { name: "output_norm.weight", ...shift };
  if (name === "lm_head.weight") return { name: "output.weight" };
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (m) {
    const [, layer, part, kind] = m;
    if (Number(layer) >= model.numLayers)
      throw new GgufConvertError(`layer ${layer} is past num_hidden_layers ${model.numLayers}`, file, hfName);
    const g = layerTable(info.arch)[part!];
    if (g) {
      const gguf = `blk.${layer}.${g}.${kind}`;
      if (info.permuteQk && part === "self_attn.q_proj") return { name: gguf, permuteHeads: model.numHeads };
      if (info.permuteQk && part === "self_attn.k_proj") return { name: gguf, permuteHeads: model.numKvHeads };
      return { name: gguf, ...shift };
    }
  }
  throw new GgufConvertError(`tensor has no GGUF mapping for architecture ${info.arch}`, file, hfName);
}

/** The GGUF tensors llama.cpp requires of each layer of the architecture (create_tensor without TENSOR_NOT_REQUIRED). */
export function requiredTensors(info: ArchInfo, model: ModelConfig): string[] {
  const names = ["token_embd.weight", "output_norm.weight"];
  for (let i = 0; i < model.numLayers; i++) {
    const p = `blk.${i}`;
    names.push(`${p}.attn_norm.weight`, `${p}.attn_output.weight`, `${p}.ffn_norm.weight`, `${p}.ffn_down.weight`, `${p}.ffn_up.weight`);
    if (info.arch === "phi3") names.push(`${p}.attn_qkv.weight`);
    else names.push(`${p}.attn_q.weight`, `${p}.attn_k.weight`, `${p}.attn_v.weight`, `${p}.ffn_gate.weight`);
    if (info.arch === "qwen2") names.push(`${p}.attn_q.bias`, `${p}.attn_k.bias`, `${p}.attn_v.bias`);
    if (info.arch === "qwen3" || info.arch === "gemma3") names.push(`${p}.attn_q_norm.weight`, `${p}.attn_k_norm.weight`);
    if (info.arch === "gemma3") names.push(`${p}.post_attention_norm.weight`, `${p}.post_ffw_norm.weight`);
  }
  return names;
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
