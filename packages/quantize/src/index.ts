// @neural/quantize: ggml's block quantizers and llama.cpp's per-tensor mix policy as pure functions over typed
// arrays (no I/O, no Node built-ins: it runs in a browser too). Worker-thread parallelism for Node is in
// "@neural/quantize/parallel".
export {
  BLOCK_BYTES,
  BLOCK_SIZE,
  GGML_QNT_VERSION,
  GGML_TYPE_BY_ID,
  GGML_TYPES,
  GgmlType,
  LlamaFtype,
  NonFiniteWeightError,
  QuantizeError,
  SUPPORTED_TYPES,
  TYPE_NAME,
  isSupportedType,
  rowBytes,
  tensorBytes,
  typeName,
  type GgmlTypeName,
  type SupportedType,
} from "./types.js";
export { assertFinite, dequantizeRows, quantizeRows, quantizeRowsInto, type QuantizeOptions } from "./quantize.js";
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.js";
export { loadWasmKernels, quantizeBackend, setQuantizeBackend, type QuantizeBackend } from "./wasm.js";
export {
  MIX_DEFAULT_TYPE,
  MIX_FILE_TYPE,
  QUANT_MIXES,
  isQuantMix,
  llamaTensorOrder,
  mixFileType,
  planTensorTypes,
  tensorAllowsQuantization,
  tensorLayer,
  tensorType,
  type ModelInfo,
  type QuantMix,
  type TensorDesc,
  type TensorTypeContext,
} from "./policy.js";
