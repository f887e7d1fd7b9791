// @neural/safetensors for browsers and Web Workers (the "browser" export condition): byte sources and sinks in
// memory or on web streams, the reader and the streaming writer. No node: imports.
export * from "./io.js";
export * from "./dtype.js";
export * from "./reader.js";
export * from "./writer.js";
