export * from "./errors.js";
export * from "./config.js";
export * from "./tensors.js";
export * from "./tokenizer-check.js";
export * from "./model-check.js";
