// The tensors a config implies, under the names transformers' save_pretrained gives them, and the text model's
// name of a tensor in a multimodal checkpoint.
import type { ModelConfig } from "./config.js";

export type TensorKind = "embedding" | "linear" | "norm" | "bias";

export interface HfTensorShape {
  name: string;
  /** Row-major, as in safetensors: linear weights are [out, in]. */
  shape: number[];
  kind: TensorKind;
}

/**
 * Every tensor of a model with this config, in the order save_pretrained writes them (the text model's names for
 * multimodal checkpoints; lm_head only when the embeddings are not tied).
 */
export function hfTensorShapes(config: ModelConfig): HfTensorShape[] {
  const { hiddenSize: h, vocabSize: v, numHeads: nh, numKvHeads: nkv, headDim: hd, intermediateSize: ff } = config;
  const out: HfTensorShape[] = [];
  const add = (name: string, shape: number[], kind: TensorKind) => out.push({ name, shape, kind });
  add("model.embed_tokens.weight", [v, h], "embedding");
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [h], "norm");
    if (config.fused) add(`${p}.self_attn.qkv_proj.weight`, [(nh + 2 * nkv) * hd, h], "linear");
    else {
      add(`${p}.self_attn.q_proj.weight`, [nh * hd, h], "linear");
      add(`${p}.self_attn.k_proj.weight`, [nkv * hd, h], "linear");
      add(`${p}.self_attn.v_proj.weight`, [nkv * hd, h], "linear");
      if (config.family === "qwen2") {
        add(`${p}.self_attn.q_proj.bias`, [nh * hd], "bias");
        add(`${p}.self_attn.k_proj.bias`, [nkv * hd], "bias");
        add(`${p}.self_attn.v_proj.bias`, [nkv * hd], "bias");
      }
    }
    if (config.qkNorm) {
      add(`${p}.self_attn.q_norm.weight`, [hd], "norm");
      add(`${p}.self_attn.k_norm.weight`, [hd], "norm");
    }
    add(`${p}.self_attn.o_proj.weight`, [h, nh * hd], "linear");
    add(`${p}.post_attention_layernorm.weight`, [h], "norm");
    if (config.sandwichNorms) {
      add(`${p}.pre_feedforward_layernorm.weight`, [h], "norm");
      add(`${p}.post_feedforward_layernorm.weight`, [h], "norm");
    }
    if (config.fused) add(`${p}.mlp.gate_up_proj.weight`, [2 * ff, h], "linear");
    else {
      add(`${p}.mlp.gate_proj.weight`, [ff, h], "linear");
      add(`${p}.mlp.up_proj.weight`, [ff, h], "linear");
    }
    add(`${p}.mlp.down_proj.weight`, [h, ff], "linear");
  }
  add("model.norm.weight", [h], "norm");
  if (!config.tieEmbeddings) add("lm_head.weight", [v, h], "linear");
  return out;
}

/** Checkpoint prefixes of the text model in Gemma3ForConditionalGeneration (transformers ≥ 4.52, and older saves). */
const TEXT_TOWER_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ["model.language_model.", "model."],
  ["language_model.model.", "model."],
  ["language_model.lm_head.", "lm_head."],
];
const OTHER_TOWERS = ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."];

/**
 * The text model's name of a checkpoint tensor ("model.layers.0...", "lm_head.weight"): a multimodal checkpoint's
 * language_model prefix dropped; undefined for its vision tower and projector. Other names are returned unchanged.
 */
export function textModelTensorName(name: string): string | undefined {
  for (const [from, to] of TEXT_TOWER_PREFIXES) if (name.startsWith(from)) return to + name.slice(from.length);
  if (OTHER_TOWERS.some((p) => name.startsWith(p))) return undefined;
  return name;
}

/** How transformers names a text-model module inside a multimodal model (what PEFT writes in its adapters). */
export function textTowerModuleName(module: string): string {
  return module.startsWith("model.") ? `model.language_model.${module.slice("model.".length)}` : module;
}

/**
 * The config.json of the text model alone: a Gemma3ForConditionalGeneration config's text_config as a
 * Gemma3ForCausalLM config (with the special token ids kept), for a folder holding only the text model's tensors.
 * Other configs are returned unchanged.
 */
export function textModelConfig(json: Record<string, unknown>): Record<string, unknown> {
  const arch = Array.isArray(json.architectures) ? json.architectures[0] : undefined;
  if (arch !== "Gemma3ForConditionalGeneration" || !json.text_config || typeof json.text_config !== "object") return json;
  const ids = Object.fromEntries(
    ["bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype"].filter((k) => json[k] !== undefined).map((k) => [k, json[k]]),
  );
  return { ...ids, ...(json.text_config as Record<string, unknown>), architectures: ["Gemma3ForCausalLM"], model_type: "gemma3_text" };
}
