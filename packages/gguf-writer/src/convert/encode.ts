// Turning float32 rows into the bytes of a ggml type: @neural/quantize's job (byte-identical to ggml). Plain F32 and
// F16 are also done here when @neural/quantize is not available (they need no quantizer).
import * as quantize from "@neural/quantize";
import { f32ToF16Bits } from "@neural/safetensors";
import { GGML_TYPES, GGML_TYPE_BY_ID, type GgmlTypeName } from "../types.js";
import { GgufConvertError } from "./errors.js";
import type { OutType, TensorTypeQuery } from "./types-policy.js";

type QuantizeRows = (type: number, data: Float32Array, nPerRow: number, options?: { name?: string }) => Uint8Array;

function quantizer(): QuantizeRows | undefined {
  return (quantize as unknown as { quantizeRows?: QuantizeRows }).quantizeRows;
}

function checkFinite(data: Float32Array, name: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) throw new GgufConvertError(`weight ${i} is ${v}`, name);
  }
}

/** Encodes whole rows (`nPerRow` values each) of tensor `name` as ggml `type`. NaN/Inf weights are rejected. */
export function encodeRows(type: GgmlTypeName, data: Float32Array, nPerRow: number, name: string): Uint8Array {
  const q = quantizer();
  if (q) return q(GGML_TYPES[type].id, data, nPerRow, { name });
  if (type === "F32") {
    checkFinite(data, name);
    return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  if (type === "F16") {
    checkFinite(data, name);
    const out = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = f32ToF16Bits(data[i]!);
    return new Uint8Array(out.buffer);
  }
  throw new GgufConvertError(`@neural/quantize does not provide quantizeRows (needed for ${type})`, name);
}

type PlanTensorTypes = (mix: string, tensors: ReadonlyArray<{ name: string; shape: readonly number[] }>, model: { arch: string; nLayer: number; nHead?: number; nHeadKv?: number }) => number[];

/** llama-quantize's per-tensor types for a mix (llama_tensor_get_type), from @neural/quantize. */
export function quantizeMixPolicy(mix: OutType, tensors: readonly TensorTypeQuery[], model: { arch: string; nLayer: number; nHead: number; nHeadKv: number }): GgmlTypeName[] {
  const plan = (quantize as unknown as { planTensorTypes?: PlanTensorTypes }).planTensorTypes;
  if (!plan) throw new GgufConvertError(`@neural/quantize does not provide planTensorTypes (needed for ${mix})`, "@neural/quantize");
  return plan(mix, tensors.map((t) => ({ name: t.name, shape: t.ne })), model).map((id) => {
    const name = GGML_TYPE_BY_ID.get(id);
    if (!name) throw new GgufConvertError(`policy chose unknown ggml type ${id}`, "@neural/quantize");
    return name;
  });
}
