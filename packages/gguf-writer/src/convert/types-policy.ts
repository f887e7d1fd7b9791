// Which ggml type each tensor gets. Float outputs (F32/F16/BF16) follow llama.cpp's converter: 1-D tensors and
// norms stay F32, other weights get the output type. Quantized mixes follow llama-quantize (llama_tensor_get_type),
// implemented by @neural/quantize.
import type { GgmlTypeName } from "../types.js";

export const OUT_TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"] as const;
export type OutType = (typeof OUT_TYPES)[number];

/** llama_ftype written as general.file_type. */
export const FILE_TYPE_OF: Readonly<Record<OutType, number>> = {
  F32: 0, F16: 1, BF16: 32, Q8_0: 7, Q4_0: 2, Q5_0: 8, Q5_1: 9, Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18,
};

export const isFloatOutType = (t: OutType): t is "F32" | "F16" | "BF16" => t === "F32" || t === "F16" || t === "BF16";

/** What a type policy sees of a tensor. */
export interface TensorTypeQuery {
  /** GGUF name, e.g. "blk.3.attn_v.weight". */
  name: string;
  /** ggml shape (innermost first). */
  ne: readonly number[];
}

/** The converter's choice for float outputs. */
export function floatTensorType(out: "F32" | "F16" | "BF16", t: TensorTypeQuery): GgmlTypeName {
  if (t.ne.length <= 1 || t.name.endsWith("_norm.weight") || !t.name.endsWith(".weight")) return "F32";
  return out;
}
