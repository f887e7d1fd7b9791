// @neural/gguf-writer for browsers and Web Workers (the "browser" export condition): the GGUF writer and reader on
// any ByteSink/ByteSource, and HF -> GGUF conversion of a model held in memory (hfModel + convertModel). No node:
// imports; index.ts adds the file helpers, directory conversion and LoRA adapter conversion.
export * from "./types.js";
export * from "./writer.js";
export * from "./reader.js";
export * from "./convert/errors.js";
export { HfConfigError } from "@neural/hf-config";
export * from "./convert/arch.js";
export * from "./convert/vocab.js";
export * from "./convert/name.js";
export * from "./convert/types-policy.js";
export * from "./convert/encode.js";
export * from "./convert/model.js";
