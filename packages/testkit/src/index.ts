export * from "./rng.js";
export * from "./tokenizers.js";
export * from "./models.js";
export * from "./reference.js";
export * from "./real-tokenizers.js";
export * from "./local-hub.js";
export * from "./training-run.js";
