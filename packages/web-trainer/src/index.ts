// @neural/web-trainer: train a small model from scratch (or LoRA on a base model held in memory) on whichever ONNX
// Runtime you pass (onnxruntime-web in a browser or a Web Worker; onnxruntime-node in Node), and get the GGUF,
// safetensors, tokenizer and PEFT adapter back as bytes. No node: imports, no file system.
export { trainInMemory, type BaseModel, type EvalSample, type WebTrainEvent, type WebTrainOptions, type WebTrainResult } from "./train.js";
export { exportModel, type ExportSettings, type OutputFile, type TrainedModel } from "./export.js";
export { formatIssue, readDataset, validateDataset, type DatasetInput } from "./data.js";
export { WebTrainerError, type SessionSettings } from "./runtime.js";
export { blobSource, hfFolder, type HfFolderFiles } from "./hf-folder.js";
