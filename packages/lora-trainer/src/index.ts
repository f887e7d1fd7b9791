// @neural/lora-trainer for Node: the browser entry's names (browser.ts) and the Node trainer, which opens files,
// downloads base models, writes checkpoints, metrics and outputs, and runs on onnxruntime-node.
export * from "./browser.js";
export { fileStore, train, type TrainEvent, type TrainOptions, type TrainResult } from "./trainer.js";
export { CheckpointError, listCheckpoints, loadCheckpoint } from "./checkpoint.js";
export { OutputDirLockedError } from "./outputs.js";
export {
  hubToken,
  isHubModelId,
  ModelSourceError,
  resolveModel,
  type DownloadProgress,
  type ResolvedModel,
  type ResolveModelOptions,
} from "./model-source.js";
export { openModel, type OpenedModel } from "./models/load.js";
export { createDecoder, type Decoder, type DecoderOptions } from "./models/decoder.js";
export { mergeAdapter, type MergeOptions } from "./merge.js";
export { keepFreedBlocks, mmapLargeBlocks, nodeGarbageCollector, sessionOptions, setMallocForRun } from "./runtime.js";
export { undoStoreFor } from "./undo-file.js";
export { estimateTrainingMemory, type TrainingMemoryEstimate } from "./memory-config.js";
