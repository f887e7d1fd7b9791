// Turning float32 rows into the bytes of a ggml type, and choosing each tensor's type for a quantized mix: both are
// @neural/quantize's job (byte-identical to ggml's quantizers and to llama-quantize's llama_tensor_get_type).
import { isQuantMix, planTensorTypes, quantizeRows, type SupportedType } from "@neural/quantize";
import { GGML_TYPES, GGML_TYPE_BY_ID, type GgmlTypeName } from "../types.js";
import { GgufConvertError } from "./errors.js";
import type { OutType, TensorTypeQuery } from "./types-policy.js";

/**
 * Encodes whole rows (`nPerRow` values each) of tensor `name` as ggml `type`. NaN/Inf weights, and weights that would
 * be infinite as `type`, are rejected (unless `allowNonFinite`), named by their index in the tensor (`indexBase`: the
 * index of data[0]).
 */
export function encodeRows(
  type: GgmlTypeName,
  data: Float32Array,
  nPerRow: number,
  name: string,
  indexBase = 0,
  allowNonFinite = false,
): Uint8Array {
  return quantizeRows(GGML_TYPES[type].id as SupportedType, data, nPerRow, { name, indexBase, allowNonFinite });
}

/** llama-quantize's per-tensor types for a mix (llama_tensor_get_type), from @neural/quantize. */
export function quantizeMixPolicy(
  mix: OutType,
  tensors: readonly TensorTypeQuery[],
  model: { arch: string; nLayer: number; nHead: number; nHeadKv: number },
): GgmlTypeName[] {
  if (!isQuantMix(mix)) throw new GgufConvertError(`${mix} is not a quantization mix`, "@neural/quantize");
  return planTensorTypes(
    mix,
    tensors.map((t) => ({ name: t.name, shape: t.ne })),
    model,
  ).map((id) => {
    const name = GGML_TYPE_BY_ID.get(id);
    if (!name) throw new GgufConvertError(`policy chose unknown ggml type ${id}`, "@neural/quantize");
    return name;
  });
}
