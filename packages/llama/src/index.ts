export * from "./runner.js";
export * from "./ggml.js";
