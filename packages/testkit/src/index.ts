export { Rng } from "./rng.js";
export { bpeTokenizer, makeTokenizer, MIXED_TEXTS, SPLIT_PATTERNS, spmTokenizer } from "./tokenizers.js";
export {
  FAMILIES,
  hfTensorShapes,
  textConfigOf,
  writeTinyLoraAdapter,
  writeTinyModel,
  type Family,
  type HfConfig,
  type TinyModel,
  type TinyModelOptions,
} from "./models.js";
export {
  argmax,
  familyOf,
  klDivergence,
  loadReferenceModel,
  referenceGreedy,
  referenceLogits,
  ropeInvFreq,
  softmax,
  type ReferenceModel,
  type ReferenceTensor,
} from "./reference.js";
export { HARD_STRINGS, REAL_TOKENIZERS, realTokenizer, type RealTokenizerName } from "./real-tokenizers.js";
export { startLocalHub, type LocalHub } from "./local-hub.js";
export { tinyTrainingRun, type TinyTrainingRun } from "./training-run.js";
