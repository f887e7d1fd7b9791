// @neural/lora-trainer for browsers and Web Workers (the "browser" export condition): the settings, the model graphs,
// the setup, the training loop and its sessions on whichever ONNX Runtime is passed in, evaluation, PEFT's format
// and the memory estimate, with no node: imports. index.ts adds the Node trainer (files, checkpoints, model
// downloads) to the same names.
export {
  PRESETS,
  resolveTrainConfig,
  SETTING_GROUPS,
  SETTINGS,
  TrainConfigError,
  type ResolveConfigInput,
  type ResolvedConfig,
  type Setting,
  type TrainConfig,
} from "./train-config.js";
export { initialValues, prepareRun, runGraphs, type BaseModel, type Note, type PreparedRun, type RunInputs } from "./setup.js";
export {
  initialLoopState,
  stepProgress,
  totalSteps,
  trainLoop,
  type LoopHooks,
  type LoopSettings,
  type LoopState,
  type StepProgress,
  type StepReport,
  type StepRunner,
  type StopReason,
  type TrainingRun,
} from "./loop.js";
export {
  GraphRunner,
  memoryStore,
  runnerNotes,
  type GraphKey,
  type GraphKind,
  type GraphStore,
  type OrtModule,
  type RunnerOptions,
  type StoredGraph,
} from "./sessions.js";
export { OptimizerState, optimizerSpec, TrainingError, type OptimizerTensors, type UndoStore } from "./optimizer.js";
export type { OptimizerSpec } from "./adamw.js";
export { evaluate, type EvalResult, type EvalSample, type EvaluateOptions } from "./evaluation.js";
export { batchesOf } from "./batching.js";
export {
  buildStepGraph,
  stepNames,
  trainableParams,
  type LoraSpec,
  type StepGraphKind,
  type StepGraphSpec,
  type TrainableParam,
} from "./train-step.js";
export type { Precision } from "./precision.js";
export { createScratchModel, type ScratchModel } from "./scratch-model.js";
export {
  AdapterError,
  loraAdapterOf,
  loraScale,
  mergeLoraWeight,
  peftAdapterConfig,
  peftTensors,
  replaceTokenRows,
  type LoraAdapter,
} from "./peft-format.js";
export { qloraLinear, type QloraOptions } from "./qlora.js";
export {
  activationPeak,
  configWeights,
  estimateMemory,
  formatMemoryEstimate,
  type MemoryEstimate,
  type MemoryEstimateInput,
  type MemoryPart,
} from "./memory.js";
export { lossCurveSvg, type CurvePoint } from "./plot.js";
// the model families
export { ModelConfigError, parseConfig, ropeFrequencies, type Family, type ModelConfig, type RopeScaling } from "./models/config.js";
export { PUBLISHED_CONFIGS } from "./models/published.js";
export {
  checkpointSource,
  graphWeights,
  memorySource,
  type GraphWeightsOptions,
  type Weights,
  type WeightSource,
} from "./models/weights.js";
export {
  buildForward,
  linearModules,
  nextTokenLoss,
  type ForwardInputs,
  type ForwardOptions,
  type ForwardResult,
  type KvCache,
  type LoraOptions,
} from "./models/transformer.js";
export {
  buildDecodeGraph,
  generate,
  sampleToken,
  seededRandom,
  type DecodeGraphOptions,
  type DecodeStep,
  type GenerateOptions,
  type SamplingOptions,
} from "./models/decode.js";
