// Which ggml type each tensor gets. Float outputs (F32/F16/BF16) follow llama.cpp's converter: 1-D tensors and
// norms stay F32, other weights get the output type. Quantized mixes follow llama-quantize (llama_tensor_get_type),
// implemented by @neural/quantize.
import type { GgmlTypeName } from "../types.js";

/** The output types are @neural/quantize's mixes; general.file_type is the mix's llama_ftype. */
export { MIX_FILE_TYPE as FILE_TYPE_OF, QUANT_MIXES as OUT_TYPES, type QuantMix as OutType } from "@neural/quantize";
import type { QuantMix as OutType } from "@neural/quantize";

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
