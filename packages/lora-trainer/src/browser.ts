// @neural/lora-trainer for browsers and Web Workers (the "browser" export condition): the model graphs, the one-graph
// training step, the runtime-independent generate loop, configs, schedules, from-scratch models and PEFT's format,
// with no node: imports and no ONNX Runtime package (bring onnxruntime-web's or -node's InferenceSession).
// index.ts adds the Node trainer, checkpoints, model downloads and file-backed decoders.
export * from "./models/config.js";
export * from "./models/weights.js";
export * from "./models/transformer.js";
export * from "./models/decode.js";
export * from "./train-config.js";
export * from "./schedule.js";
export * from "./plot.js";
export * from "./scratch-model.js";
export * from "./train-step.js";
export * from "./adamw.js";
export * from "./batching.js";
export * from "./peft-format.js";
export * from "./qlora.js";
export * from "./memory.js";
export * from "./precision.js";
