export { HfConfigError } from "./errors.js";
export {
  ARCHITECTURES,
  CONFIG_LIMITS,
  inLayerSet,
  isSlidingLayer,
  layerSetPeriod,
  parseHfConfig,
  parseHfConfigText,
  usesRope,
  type LayerSet,
  type ModelConfig,
  type ModelFamily,
  type RopeScaling,
} from "./config.js";
export { hfTensorShapes, textModelConfig, textModelTensorName, textTowerModuleName } from "./tensors.js";
export { checkTokenizerJson, PRETOKENIZER_PATTERNS, preTokenizerName, TOKENIZER_LIMITS, type PreTokenizerName } from "./tokenizer-check.js";
export { checkModelFolder, checkTokenizerIds } from "./model-check.js";
