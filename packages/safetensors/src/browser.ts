// @neural/safetensors for browsers and Web Workers (the "browser" export condition): byte sources and sinks in
// memory or on web streams, the reader and the streaming writer. No node: imports.
export { memorySink, memorySource, writableStreamSink, type ByteSink, type ByteSource } from "./io.js";
export { decodeFloats } from "./dtype.js";
export { SafetensorsError, SafetensorsFile, type TensorReader, type RowRange, type TensorInfo } from "./reader.js";
export { writeSafetensors, type TensorToWrite, type WriteOptions } from "./writer.js";
