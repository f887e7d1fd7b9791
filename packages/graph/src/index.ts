// @neural/graph: a tensor-graph IR with shape inference, reverse-mode autodiff, recomputation and ONNX
// serialization. No node: imports here (the Node adapter is "@neural/graph/node").

export {
  type DType,
  type TypedArray,
  isFloat,
  isInteger,
  onnxDataType,
  byteLength,
  typedArrayOf,
  float16Bits,
  toFloat16,
  toBFloat16,
} from "./dtype.js";
export { GraphError, ShapeError, GradError, SerializeError, SessionError } from "./errors.js";
export {
  Graph,
  Tensor,
  Node,
  RecomputeRegion,
  type Shape,
  type TensorData,
  type OpDef,
  type NodeView,
  type OutSpec,
  type GraphOptions,
  bytesOf,
} from "./graph.js";
export * from "./ops.js";
export { grad, type GradOptions } from "./autodiff.js";
export {
  serialize,
  externalKey,
  flatten,
  attr,
  IR_VERSION,
  type AttrValue,
  type Emitter,
  type SerializeOptions,
  type SerializedModel,
  type ExternalChunk,
} from "./onnx.js";
export {
  createSessionWithFallback,
  type SessionFactory,
  type ProviderConfig,
  type FallbackOptions,
  type CreatedSession,
} from "./session.js";
