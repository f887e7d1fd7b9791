// The model families (llama, mistral, qwen2, phi3): config, weights, the transformer graph, KV-cache decoding.
export * from "./config.js";
export * from "./weights.js";
export * from "./transformer.js";
export * from "./load.js";
export * from "./decode.js";
export * from "./decoder.js";
