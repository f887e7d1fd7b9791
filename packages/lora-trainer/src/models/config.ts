// A Hugging Face config.json as the transformer reads it: @neural/hf-config parses it (one parser for the trainer
// and the GGUF converter); this file adds what only the training graph needs, the rotary frequencies of a layer.

import { HfConfigError, parseHfConfig, type ModelConfig } from "@neural/hf-config";

export {
  ARCHITECTURES,
  HfConfigError,
  HfConfigError as ModelConfigError,
  inLayerSet,
  isSlidingLayer,
  usesRope,
  type LayerSet,
  type ModelConfig,
  type ModelFamily as Family,
  type RopeScaling,
} from "@neural/hf-config";

/** Parse and check a config.json object for training (the rope scalings our graph computes). */
export function parseConfig(json: unknown, file = "config.json"): ModelConfig {
  const config = parseHfConfig(json, file);
  if (config.ropeScaling.type === "yarn") {
    throw new HfConfigError(
      'rope scaling "yarn" is not supported for training (supported: linear, llama3, longrope)',
      file,
      "rope_scaling",
    );
  }
  return config;
}

/**
 * Rotary inverse frequencies (radians per position) of `layer` for sequences up to `seqLen`, and the factor applied
 * to cos and sin (longrope's attention factor, else 1). Computed in float64 as transformers' rope init functions
 * define them. Gemma 3's sliding layers rotate with their own base, unscaled.
 */
export function ropeFrequencies(
  config: ModelConfig,
  seqLen: number,
  options: { sliding?: boolean } = {},
): { invFreq: Float64Array; scale: number } {
  const d = config.rotaryDim;
  const local = options.sliding === true && config.slidingRopeTheta !== undefined;
  const theta = local ? config.slidingRopeTheta! : config.ropeTheta;
  const invFreq = Float64Array.from({ length: d / 2 }, (_, i) => 1 / theta ** ((2 * i) / d));
  const rs = local ? ({ type: "none" } as const) : config.ropeScaling;
  switch (rs.type) {
    case "none":
      return { invFreq, scale: 1 };
    case "linear":
      return { invFreq: invFreq.map((f) => f / rs.factor), scale: 1 };
    case "llama3": {
      const lowWavelen = rs.originalMaxPositions / rs.lowFreqFactor;
      const highWavelen = rs.originalMaxPositions / rs.highFreqFactor;
      const scaled = invFreq.map((f) => {
        const wavelen = (2 * Math.PI) / f;
        if (wavelen < highWavelen) return f;
        if (wavelen > lowWavelen) return f / rs.factor;
        const smooth = (rs.originalMaxPositions / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        return (1 - smooth) * (f / rs.factor) + smooth * f;
      });
      return { invFreq: scaled, scale: 1 };
    }
    case "longrope": {
      const ext = seqLen > rs.originalMaxPositions ? rs.longFactor : rs.shortFactor;
      return { invFreq: invFreq.map((f, i) => f / ext[i]!), scale: rs.attentionFactor };
    }
    case "yarn":
      throw new HfConfigError('rope scaling "yarn" is not supported for training', "config.json", "rope_scaling");
  }
}
