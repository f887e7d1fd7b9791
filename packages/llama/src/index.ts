export * from "./runner.js";
export * from "./ggml.js";
export * from "./nornicdb.js";
