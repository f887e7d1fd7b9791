// The per-tensor type policy of llama.cpp's quantizer (src/llama-quant.cpp: tensor_allows_quantization,
// llama_tensor_get_type, tensor_type_fallback) for the mixes this project writes, without an importance matrix and
// with llama_model_quantize_default_params() otherwise (quantize_output_tensor = true, no overrides, not pure).
import { GgmlType, LlamaFtype, QuantizeError, type SupportedType } from "./types.js";

/** The file-level quantization mixes (llama-quantize's names). */
export const QUANT_MIXES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"] as const;
export type QuantMix = (typeof QUANT_MIXES)[number];

/** `general.file_type` (llama_ftype) of each mix. */
export const MIX_FILE_TYPE: Readonly<Record<QuantMix, LlamaFtype>> = {
  F32: LlamaFtype.ALL_F32,
  F16: LlamaFtype.MOSTLY_F16,
  BF16: LlamaFtype.MOSTLY_BF16,
  Q8_0: LlamaFtype.MOSTLY_Q8_0,
  Q4_0: LlamaFtype.MOSTLY_Q4_0,
  Q5_0: LlamaFtype.MOSTLY_Q5_0,
  Q5_1: LlamaFtype.MOSTLY_Q5_1,
  Q6_K: LlamaFtype.MOSTLY_Q6_K,
  Q4_K_S: LlamaFtype.MOSTLY_Q4_K_S,
  Q4_K_M: LlamaFtype.MOSTLY_Q4_K_M,
  Q5_K_S: LlamaFtype.MOSTLY_Q5_K_S,
  Q5_K_M: LlamaFtype.MOSTLY_Q5_K_M,
};

/** The default tensor type of each mix (llama_ftype_get_default_type). */
export const MIX_DEFAULT_TYPE: Readonly<Record<QuantMix, SupportedType>> = {
  F32: GgmlType.F32,
  F16: GgmlType.F16,
  BF16: GgmlType.BF16,
  Q8_0: GgmlType.Q8_0,
  Q4_0: GgmlType.Q4_0,
  Q5_0: GgmlType.Q5_0,
  Q5_1: GgmlType.Q5_1,
  Q6_K: GgmlType.Q6_K,
  Q4_K_S: GgmlType.Q4_K,
  Q4_K_M: GgmlType.Q4_K,
  Q5_K_S: GgmlType.Q5_K,
  Q5_K_M: GgmlType.Q5_K,
};

export function isQuantMix(value: string): value is QuantMix {
  return (QUANT_MIXES as readonly string[]).includes(value);
}

/** `general.file_type` for a mix. */
export function mixFileType(mix: QuantMix): number {
  checkMix(mix);
  return MIX_FILE_TYPE[mix];
}

/** What the policy needs to know about the model (from the GGUF metadata). */
export interface ModelInfo {
  /** general.architecture, e.g. "llama", "qwen2", "phi3". */
  arch: string;
  /** {arch}.block_count. */
  nLayer: number;
  /** {arch}.expert_count (0 or absent for dense models). */
  nExpert?: number;
  /** {arch}.attention.head_count and head_count_kv: only used to recognise a 70B llama (80 layers with GQA). */
  nHead?: number;
  nHeadKv?: number;
  /** Override llama.cpp's "70B" model-type detection. */
  is70B?: boolean;
}

/** A tensor as the policy sees it. */
export interface TensorDesc {
  /** GGUF tensor name, e.g. "blk.3.attn_v.weight". */
  name: string;
  /** ggml order (ne), innermost first: a [out, in] PyTorch weight is [in, out]. */
  shape: readonly number[];
  /** Its type in the input file; tensors the policy leaves alone keep it. Default F32. */
  type?: SupportedType;
}

type Category =
  | "token_embd"
  | "attn_q"
  | "attn_v"
  | "attn_k"
  | "attn_qkv"
  | "attn_kv_b"
  | "attn_output"
  | "ffn_up"
  | "ffn_gate"
  | "ffn_down"
  | "output"
  | "other";

function category(name: string): Category {
  if (name === "output.weight") return "output";
  if (name === "token_embd.weight" || name === "per_layer_token_embd.weight") return "token_embd";
  if (name.includes("attn_qkv.weight")) return "attn_qkv";
  if (name.includes("attn_kv_b.weight")) return "attn_kv_b";
  if (name.includes("attn_v.weight")) return "attn_v";
  if (name.includes("attn_k.weight")) return "attn_k";
  if (name.includes("attn_q.weight")) return "attn_q";
  if (name.includes("attn_output.weight")) return "attn_output";
  if (name.includes("ffn_up")) return "ffn_up";
  if (name.includes("ffn_gate")) return "ffn_gate";
  if (name.includes("ffn_down")) return "ffn_down";
  return "other";
}

// attn_v-like tensors (counted together for use_more_bits): attn_v, fused attn_qkv, attn_kv_b
function isAttnV(c: Category): boolean {
  return c === "attn_v" || c === "attn_qkv" || c === "attn_kv_b";
}

/** ggml_n_dims: the number of dimensions up to the last one that is not 1 (at least 1). */
function nDims(shape: readonly number[]): number {
  for (let i = shape.length - 1; i >= 1; i--) if (shape[i] !== 1) return i + 1;
  return 1;
}

const NEVER_QUANTIZED = [
  "ffn_gate_inp.weight",
  "ffn_gate_tid2eid.weight",
  "altup",
  "laurel",
  "per_layer_model_proj",
  "ssm_conv1d",
  "shortconv.conv.weight",
  "indexer.k_proj.weight",
  "indexer.q_proj.weight",
  "time_mix_first.weight",
  "time_mix_w0.weight",
  "time_mix_w1.weight",
  "time_mix_w2.weight",
  "time_mix_v0.weight",
  "time_mix_v1.weight",
  "time_mix_v2.weight",
  "time_mix_a0.weight",
  "time_mix_a1.weight",
  "time_mix_a2.weight",
  "time_mix_g1.weight",
  "time_mix_g2.weight",
  "time_mix_decay_w1.weight",
  "time_mix_decay_w2.weight",
  "time_mix_lerp_fused.weight",
  "attn_rel_b.weight",
  ".position_embd",
  "sam.pos_embd",
  "sam.neck.",
  "sam.net_",
  ".rel_pos",
  ".patch_embd",
  ".patch_merger",
  "a.rvq.codebook",
  "mm.a.code_embd",
];

/**
 * tensor_allows_quantization: ≥ 2-D, the name ends in "weight", not a norm, not one of llama.cpp's list of small or
 * special tensors (expert gates, positional embeddings, conv1d, ...). Other tensors keep their input type.
 */
export function tensorAllowsQuantization(name: string, shape: readonly number[]): boolean {
  if (nDims(shape) < 2) return false;
  // llama.cpp tests name.rfind("weight") == name.size() - 6, which a 5-character name also passes (npos)
  if (!(name.endsWith("weight") || name.length === 5)) return false;
  if (name.includes("_norm.weight")) return false;
  if (name === "position_embd.weight" || name === "token_types.weight") return false;
  for (const s of NEVER_QUANTIZED) if (name.includes(s)) return false;
  return true;
}

/** The layer of a "blk.N." tensor as sscanf("blk.%d.") reads it, or -1. */
export function tensorLayer(name: string): number {
  const m = /^blk\.\s*([+-]?\d+)/.exec(name);
  return m ? Number.parseInt(m[1]!, 10) : -1;
}

/**
 * The order llama.cpp's quantizer visits tensors in (its weights_map): non-block tensors first, then block by block
 * in ascending index, names in byte order within each group. The attn_v and ffn_down counters follow this order.
 */
export function llamaTensorOrder<T extends { name: string }>(tensors: readonly T[]): T[] {
  return [...tensors].sort((a, b) => {
    const la = tensorLayer(a.name);
    const lb = tensorLayer(b.name);
    if (la !== lb) return la - lb;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

function checkMix(mix: string): asserts mix is QuantMix {
  if (!isQuantMix(mix)) throw new QuantizeError(`unknown quantization mix ${mix} (known: ${QUANT_MIXES.join(", ")})`);
}

const BLOCK: Partial<Record<number, number>> = {
  [GgmlType.Q4_0]: 32,
  [GgmlType.Q5_0]: 32,
  [GgmlType.Q5_1]: 32,
  [GgmlType.Q8_0]: 32,
  [GgmlType.Q4_K]: 256,
  [GgmlType.Q5_K]: 256,
  [GgmlType.Q6_K]: 256,
};

function isQuantized(t: number): boolean {
  return BLOCK[t] !== undefined;
}

function is70B(model: ModelInfo): boolean {
  if (model.is70B !== undefined) return model.is70B;
  switch (model.arch) {
    case "llama":
      return model.nLayer === 80 && model.nHead !== undefined && model.nHead !== (model.nHeadKv ?? model.nHead);
    case "qwen2":
    case "olmo":
    case "deci":
      return model.nLayer === 80;
    case "jais2":
      return model.nLayer === 68;
    default:
      return false;
  }
}

function useMoreBits(i: number, n: number): boolean {
  const n8 = Math.trunc(n / 8);
  return i < n8 || i >= Math.trunc((7 * n) / 8) || (i - n8) % 3 === 2;
}

interface State {
  mix: QuantMix;
  model: ModelInfo;
  nAttentionV: number;
  iAttentionV: number;
  iFfnDown: number;
  tiedEmbeddings: boolean;
}

// llama_tensor_get_type_impl, restricted to the mixes above (the IQ*, Q2_K, Q3_K and MXFP4 branches never apply)
function mixType(st: State, t: TensorDesc, cat: Category, defaultType: number): number {
  const { mix, model } = st;
  const nExpert = Math.max(1, model.nExpert ?? 0);
  const falcon = model.arch === "falcon";
  let newType = defaultType;
  if (cat === "output" || (st.tiedEmbeddings && cat === "token_embd")) {
    const nx = t.shape[0]!;
    if (falcon || nx % BLOCK[newType]! !== 0) newType = GgmlType.Q8_0;
    else if (newType !== GgmlType.Q8_0) newType = GgmlType.Q6_K;
  } else if (cat === "token_embd") {
    // the IQ/TQ mixes only
  } else if (isAttnV(cat)) {
    if ((mix === "Q4_K_M" || mix === "Q5_K_M") && useMoreBits(st.iAttentionV, st.nAttentionV)) newType = GgmlType.Q6_K;
    else if (mix === "Q4_K_S" && st.iAttentionV < 4) newType = GgmlType.Q5_K;
    if (is70B(model) && newType === GgmlType.Q4_K) newType = GgmlType.Q5_K;
    if (model.nExpert === 8) newType = GgmlType.Q8_0;
    st.iAttentionV++;
  } else if (cat === "attn_k") {
    if (model.nExpert === 8) newType = GgmlType.Q8_0;
  } else if (cat === "ffn_down") {
    let iLayer = st.iFfnDown;
    const nLayer = model.nLayer;
    if (nExpert > 1) {
      iLayer = tensorLayer(t.name);
      if (!/^blk\.\s*[+-]?\d+/.test(t.name)) throw new QuantizeError(`Failed to determine layer for tensor ${t.name}`);
      if (iLayer < 0 || iLayer >= nLayer) {
        throw new QuantizeError(`Bad layer ${iLayer} for tensor ${t.name}. Must be in [0, ${nLayer})`);
      }
    }
    if (mix === "Q4_K_M") {
      if (falcon) {
        newType = iLayer < Math.trunc(nLayer / 16) ? GgmlType.Q6_K : useMoreBits(iLayer, nLayer) ? GgmlType.Q5_K : GgmlType.Q4_K;
      } else if (useMoreBits(iLayer, nLayer)) {
        newType = GgmlType.Q6_K;
      }
    } else if (mix === "Q5_K_M" && useMoreBits(iLayer, nLayer)) {
      newType = GgmlType.Q6_K;
    } else if (mix === "Q4_K_S" && !falcon && iLayer < Math.trunc(nLayer / 8)) {
      newType = GgmlType.Q5_K;
    }
    st.iFfnDown++;
  } else if (cat === "attn_output") {
    if (!falcon && model.nExpert === 8 && (mix === "Q4_K_S" || mix === "Q4_K_M")) newType = GgmlType.Q5_K;
  }
  // (attn_qkv has a branch of its own in llama.cpp, but the attn_v branch above catches it first)
  return newType;
}

// tensor_type_fallback: rows that are not whole blocks of the chosen type
function fallback(t: TensorDesc, target: number): number {
  const ncols = t.shape[0]!;
  const block = BLOCK[target]!;
  if (ncols % block === 0) return target;
  let ret = target;
  switch (target) {
    case GgmlType.Q4_K:
      ret = GgmlType.Q5_0;
      break;
    case GgmlType.Q5_K:
      ret = GgmlType.Q5_1;
      break;
    case GgmlType.Q6_K:
      ret = GgmlType.Q8_0;
      break;
    default:
      ret = target; // a 32-block type: only F16 is left
  }
  if (ncols % BLOCK[ret]! !== 0) ret = GgmlType.F16;
  return ret;
}

/**
 * The ggml type llama.cpp's quantizer gives each tensor of a model for a mix, in the input order of `tensors`.
 * The whole tensor list is needed: attn_v tensors are counted and numbered across the model, output.weight's
 * absence means tied embeddings (token_embd then gets output's type), and the ffn_down counter runs over the model
 * in llama.cpp's visiting order (see llamaTensorOrder).
 */
export function planTensorTypes(mix: QuantMix, tensors: readonly TensorDesc[], model: ModelInfo): SupportedType[] {
  checkMix(mix);
  if (!Number.isInteger(model.nLayer) || model.nLayer <= 0) throw new QuantizeError(`bad layer count ${model.nLayer}`);
  const seen = new Set<string>();
  for (const t of tensors) {
    if (seen.has(t.name)) throw new QuantizeError(`duplicate tensor name ${t.name}`);
    seen.add(t.name);
    if (t.shape.length === 0 || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new QuantizeError(`tensor ${t.name}: bad shape [${t.shape.join(", ")}]`);
    }
  }
  const st: State = {
    mix,
    model,
    nAttentionV: tensors.filter((t) => isAttnV(category(t.name))).length,
    iAttentionV: 0,
    iFfnDown: 0,
    tiedEmbeddings: !tensors.some((t) => t.name === "output.weight"),
  };
  const defaultType = MIX_DEFAULT_TYPE[mix];
  const result = new Map<string, SupportedType>();
  for (const t of llamaTensorOrder(tensors)) {
    const source = t.type ?? GgmlType.F32;
    if (!tensorAllowsQuantization(t.name, t.shape)) {
      result.set(t.name, source);
      continue;
    }
    if (!isQuantized(defaultType)) {
      result.set(t.name, defaultType);
      continue;
    }
    const chosen = mixType(st, t, category(t.name), defaultType);
    result.set(t.name, fallback(t, chosen) as SupportedType);
  }
  return tensors.map((t) => result.get(t.name)!);
}

/** Context for tensorType, the one-tensor form of the policy. */
export interface TensorTypeContext extends ModelInfo {
  /** true when the model has no output.weight (llama.cpp then treats token_embd as the output). */
  tiedEmbeddings: boolean;
  /** Number of attn_v-like tensors in the model (attn_v, attn_qkv, attn_kv_b). Default: nLayer. */
  nAttentionV?: number;
}

/**
 * The type of one tensor, for a model whose blocks each have one attn_v (or attn_qkv) and one ffn_down: the running
 * attn_v and ffn_down indices llama.cpp keeps are then the tensor's layer number. Use planTensorTypes for a whole
 * model when that may not hold.
 */
export function tensorType(mix: QuantMix, tensor: TensorDesc, context: TensorTypeContext): SupportedType {
  checkMix(mix);
  const source = tensor.type ?? GgmlType.F32;
  if (!tensorAllowsQuantization(tensor.name, tensor.shape)) return source;
  const defaultType = MIX_DEFAULT_TYPE[mix];
  if (!isQuantized(defaultType)) return defaultType;
  const layer = Math.max(0, tensorLayer(tensor.name));
  const st: State = {
    mix,
    model: context,
    nAttentionV: context.nAttentionV ?? context.nLayer,
    iAttentionV: layer,
    iFfnDown: layer,
    tiedEmbeddings: context.tiedEmbeddings,
  };
  return fallback(tensor, mixType(st, tensor, category(tensor.name), defaultType)) as SupportedType;
}
