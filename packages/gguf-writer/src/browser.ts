// @neural/gguf-writer for browsers and Web Workers (the "browser" export condition): the GGUF writer and reader on
// any ByteSink/ByteSource, and HF -> GGUF conversion of a model held in memory (hfModel + convertModel). No node:
// imports; index.ts adds the file helpers, directory conversion and LoRA adapter conversion.
export { GGML_TYPE_BY_ID, gv, type GgufValue, type ScalarValue } from "./types.js";
export { GgufStreamWriter, GgufWriteError, writeGguf, type GgufLayout, type GgufTensorInput, type GgufTensorSpec } from "./writer.js";
export { GgufError, GgufReader, type GgufFile, type GgufTensorInfo } from "./reader.js";
export { GgufConvertError, NonFiniteTensorError } from "./convert/errors.js";
export { HfConfigError } from "@neural/hf-config";
export {
  archInfo,
  archMetadata,
  GGUF_ARCHITECTURES,
  llama3RopeFactors,
  mapTensorName,
  permuteRows,
  requiredTensors,
} from "./convert/arch.js";
export { buildVocab } from "./convert/vocab.js";
export { FILE_TYPE_OF, OUT_TYPES, type OutType } from "./convert/types-policy.js";
export {
  assignTypes,
  convertModel,
  hfModel,
  modelMetadata,
  planTensors,
  streamTensors,
  type ConvertProgress,
  type ConvertResult,
  type StreamStats,
  type HfModel,
  type ModelConvertOptions,
  type PlannedTensor,
  type StreamOptions,
} from "./convert/model.js";
