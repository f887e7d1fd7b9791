// The model families (llama, mistral, qwen2, qwen3, phi3, gemma3, smollm3): config, weights, the transformer graph,
// KV-cache decoding, the presets' base models' published configs.
export * from "./config.js";
export * from "./weights.js";
export * from "./transformer.js";
export * from "./load.js";
export * from "./decode.js";
export * from "./decoder.js";
export * from "./published.js";
