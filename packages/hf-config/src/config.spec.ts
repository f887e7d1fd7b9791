import { describe, expect, it } from "vitest";
import {
  ARCHITECTURES,
  CONFIG_LIMITS,
  HfConfigError,
  hfTensorShapes,
  inLayerSet,
  isSlidingLayer,
  layerSetPeriod,
  parseHfConfig,
  parseHfConfigText,
  textModelConfig,
  textModelTensorName,
  usesRope,
} from "./index.js";

const llama = {
  architectures: ["LlamaForCausalLM"],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  vocab_size: 100,
};

/** The error a config gets: its message, file and field. */
function failure(json: unknown, file = "m/config.json"): { message: string; file: string; field?: string } {
  try {
    parseHfConfig(json, file);
  } catch (error) {
    if (!(error instanceof HfConfigError)) throw error;
    return { message: error.message, file: error.file, ...(error.field ? { field: error.field } : {}) };
  }
  throw new Error("parsed");
}

describe("parseHfConfig", () => {
  it("refuses an unsupported architecture, naming every supported one", () => {
    const e = failure({ ...llama, architectures: ["GPTNeoXForCausalLM"] });
    expect(e.field).toBe("architectures");
    expect(e.file).toBe("m/config.json");
    expect(e.message).toBe(
      `m/config.json: architectures: GPTNeoXForCausalLM is not supported (supported: ${Object.keys(ARCHITECTURES).join(", ")})`,
    );
    for (const a of ["Qwen3ForCausalLM", "Gemma3ForCausalLM", "Gemma3ForConditionalGeneration", "SmolLM3ForCausalLM", "LlamaForCausalLM"])
      expect(e.message).toContain(a);
    expect(failure({ ...llama, architectures: undefined, model_type: "gpt2" }).message).toContain('model_type "gpt2" is not supported');
    expect(parseHfConfig({ ...llama, architectures: undefined, model_type: "qwen3" }).family).toBe("qwen3");
  });

  it("names the file and the field of every bad value", () => {
    expect(failure({ ...llama, num_key_value_heads: 3 })).toMatchObject({
      field: "num_key_value_heads",
      message: expect.stringContaining("4 attention heads are not a multiple of 3"),
    });
    expect(failure({ ...llama, hidden_size: "64" })).toMatchObject({ field: "hidden_size" });
    expect(failure({ ...llama, head_dim: 7 })).toMatchObject({ field: "head_dim" });
    expect(failure({ ...llama, hidden_act: "gelu" })).toMatchObject({ field: "hidden_act" });
    expect(failure({ ...llama, rope_scaling: { rope_type: "dynamic", factor: 2 } })).toMatchObject({ field: "rope_scaling" });
    expect(failure({ ...llama, architectures: ["Qwen3ForCausalLM"], sliding_window: 64, use_sliding_window: true })).toMatchObject({
      field: "use_sliding_window",
    });
    expect(failure({ ...llama, architectures: ["Gemma3ForCausalLM"], layer_types: ["sliding_attention"] })).toMatchObject({
      field: "layer_types",
      message: expect.stringContaining("lists 1 layers, num_hidden_layers is 2"),
    });
    expect(failure({ ...llama, architectures: ["Gemma3ForCausalLM"], attn_logit_softcapping: 50 })).toMatchObject({
      field: "attn_logit_softcapping",
    });
    expect(failure({ ...llama, architectures: ["SmolLM3ForCausalLM"], no_rope_layers: [1, 2] })).toMatchObject({
      field: "no_rope_layers",
      message: expect.stringContaining("entry 1 is 2"),
    });
    expect(failure({ architectures: ["Gemma3ForConditionalGeneration"] })).toMatchObject({ field: "text_config" });
    expect(failure({ architectures: ["Gemma3ForConditionalGeneration"], text_config: { num_key_value_heads: 3 } })).toMatchObject({
      field: "text_config.num_key_value_heads",
    });
    expect(() => parseHfConfigText("{", "x/config.json")).toThrow(/^x\/config\.json: not valid JSON/);
    expect(failure([1, 2])).toMatchObject({ message: "m/config.json: not a JSON object" });
  });

  it("allocates nothing from a number in the file: a layer pattern given as a period stays one", () => {
    const huge = parseHfConfig({
      ...llama,
      architectures: ["Gemma3ForCausalLM"],
      num_hidden_layers: CONFIG_LIMITS.num_hidden_layers,
      sliding_window_pattern: 6,
      sliding_window: 512,
    });
    expect(huge.slidingWindow).toEqual({ size: 512, layers: { kind: "all-but-every", period: 6 } });
    expect(isSlidingLayer(huge, CONFIG_LIMITS.num_hidden_layers - 1)).toBe(true);
    expect(layerSetPeriod(huge.slidingWindow!.layers, huge.numLayers)).toBe(6);
    expect(
      parseHfConfig({ ...llama, architectures: ["SmolLM3ForCausalLM"], num_hidden_layers: CONFIG_LIMITS.num_hidden_layers }).ropeLayers,
    ).toEqual({ kind: "all-but-every", period: 4 });
  });

  it("Gemma 3's multimodal layout: text_config with Gemma3TextConfig's defaults for what it leaves out (gemma-3-4b-it)", () => {
    const json = {
      architectures: ["Gemma3ForConditionalGeneration"],
      boi_token_index: 255999,
      eoi_token_index: 256000,
      eos_token_id: [1, 106],
      image_token_index: 262144,
      initializer_range: 0.02,
      mm_tokens_per_image: 256,
      model_type: "gemma3",
      text_config: {
        hidden_size: 2560,
        intermediate_size: 10240,
        model_type: "gemma3_text",
        num_hidden_layers: 34,
        rope_scaling: { factor: 8.0, rope_type: "linear" },
        sliding_window: 1024,
      },
      torch_dtype: "bfloat16",
      transformers_version: "4.50.0.dev0",
      vision_config: { hidden_size: 1152, model_type: "siglip_vision_model" },
    };
    const c = parseHfConfig(json);
    expect([c.family, c.textTower, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize, c.tieEmbeddings, c.maxPositions]).toEqual([
      "gemma3",
      true,
      8,
      4,
      256,
      262208,
      true,
      131072,
    ]);
    expect([c.ropeTheta, c.ropeScaling, c.slidingRopeTheta, c.slidingWindow, c.eosTokenIds]).toEqual([
      1e6,
      { type: "linear", factor: 8 },
      10000,
      { size: 1024, layers: { kind: "all-but-every", period: 6 } },
      [1, 106],
    ]);
    expect(textModelConfig(json)).toMatchObject({
      architectures: ["Gemma3ForCausalLM"],
      model_type: "gemma3_text",
      hidden_size: 2560,
      eos_token_id: [1, 106],
    });
    expect(parseHfConfig(textModelConfig(json))).toEqual({ ...c, architecture: "Gemma3ForCausalLM", textTower: false });
  });

  it("transformers 5's rope_parameters, per attention kind for Gemma 3", () => {
    const g = parseHfConfig({
      ...llama,
      architectures: ["Gemma3ForCausalLM"],
      head_dim: 16,
      query_pre_attn_scalar: 16,
      layer_types: ["sliding_attention", "full_attention"],
      sliding_window: 8,
      rope_parameters: {
        full_attention: { rope_type: "linear", factor: 4, rope_theta: 500000 },
        sliding_attention: { rope_type: "default", rope_theta: 20000 },
      },
    });
    expect([g.ropeTheta, g.ropeScaling, g.slidingRopeTheta]).toEqual([500000, { type: "linear", factor: 4 }, 20000]);
    expect([isSlidingLayer(g, 0), isSlidingLayer(g, 1), layerSetPeriod(g.slidingWindow!.layers, 2)]).toEqual([true, false, 2]);
    const l = parseHfConfig({
      ...llama,
      rope_parameters: { rope_type: "yarn", factor: 4, rope_theta: 1e6, original_max_position_embeddings: 4096 },
    });
    expect([l.ropeTheta, l.ropeScaling]).toEqual([1e6, { type: "yarn", factor: 4, originalMaxPositions: 4096 }]);
  });

  it("layer sets", () => {
    expect([0, 1, 2, 3, 4].map((l) => inLayerSet({ kind: "all-but-every", period: 4 }, l))).toEqual([true, true, true, false, true]);
    expect(layerSetPeriod({ kind: "listed", layers: [true, true, true] }, 3)).toBe(4);
    expect(layerSetPeriod({ kind: "listed", layers: [true, false, false] }, 3)).toBeUndefined();
    const s = parseHfConfig({ ...llama, architectures: ["SmolLM3ForCausalLM"], num_hidden_layers: 4, no_rope_layers: [1, 1, 1, 0] });
    expect([0, 1, 2, 3].map((l) => usesRope(s, l))).toEqual([true, true, true, false]);
  });
});

describe("tensor names", () => {
  it("the text model's name of a multimodal checkpoint's tensors; other towers left out", () => {
    expect(textModelTensorName("language_model.model.layers.3.mlp.up_proj.weight")).toBe("model.layers.3.mlp.up_proj.weight");
    expect(textModelTensorName("model.language_model.embed_tokens.weight")).toBe("model.embed_tokens.weight");
    expect(textModelTensorName("language_model.lm_head.weight")).toBe("lm_head.weight");
    expect(textModelTensorName("vision_tower.vision_model.post_layernorm.weight")).toBeUndefined();
    expect(textModelTensorName("multi_modal_projector.mm_soft_emb_norm.weight")).toBeUndefined();
    expect(textModelTensorName("model.layers.0.self_attn.q_proj.weight")).toBe("model.layers.0.self_attn.q_proj.weight");
  });

  it("hfTensorShapes: Qwen3's q/k norms over head_dim, Gemma's four norms per layer", () => {
    const q = hfTensorShapes(parseHfConfig({ ...llama, architectures: ["Qwen3ForCausalLM"], head_dim: 32, tie_word_embeddings: true }));
    expect(q.find((t) => t.name === "model.layers.0.self_attn.q_proj.weight")?.shape).toEqual([128, 64]);
    expect(q.find((t) => t.name === "model.layers.0.self_attn.k_norm.weight")?.shape).toEqual([32]);
    expect(q.some((t) => t.name === "lm_head.weight")).toBe(false);
    const g = hfTensorShapes(parseHfConfig({ ...llama, architectures: ["Gemma3ForCausalLM"], head_dim: 32 }));
    expect(g.filter((t) => t.name.startsWith("model.layers.0.") && t.kind === "norm").map((t) => t.name.slice(15))).toEqual([
      "input_layernorm.weight",
      "self_attn.q_norm.weight",
      "self_attn.k_norm.weight",
      "post_attention_layernorm.weight",
      "pre_feedforward_layernorm.weight",
      "post_feedforward_layernorm.weight",
    ]);
  });
});
