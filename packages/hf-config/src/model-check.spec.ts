// A model folder whose config.json, checkpoint headers and tokenizer.json disagree is refused in one line naming the
// file and field, in time and memory bounded by the headers (never by a number from the config).
import { describe, expect, it } from "vitest";
import { checkModelFolder, CONFIG_LIMITS, HfConfigError, hfTensorShapes, parseHfConfig } from "./index.js";
import type { TensorHeader } from "./model-check.js";

const json = {
  architectures: ["Qwen2ForCausalLM"],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 96,
  tie_word_embeddings: true,
  eos_token_id: 5,
};
const tensors: TensorHeader[] = hfTensorShapes(parseHfConfig(json)).map((t) => ({
  name: t.name,
  shape: t.shape,
  dtype: "F32",
  file: "m/model.safetensors",
}));
const tokenizer = {
  model: { type: "BPE", vocab: Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`t${i}`, i])) },
  added_tokens: [{ id: 90, content: "<|im_end|>" }],
};

/** The one-line message of checking a folder whose config.json is `config`. */
function refusal(config: Record<string, unknown>, options: { tensors?: TensorHeader[]; tokenizer?: Record<string, unknown> } = {}): string {
  try {
    checkModelFolder({
      config: parseHfConfig(config, "m/config.json"),
      configFile: "m/config.json",
      tensors: options.tensors ?? tensors,
      tokenizer: options.tokenizer ?? tokenizer,
      tokenizerFile: "m/tokenizer.json",
    });
  } catch (error) {
    if (!(error instanceof HfConfigError)) throw error;
    expect(error.message).not.toContain("\n");
    return error.message;
  }
  throw new Error("accepted");
}

describe("checkModelFolder", () => {
  it("accepts a folder whose files agree", () => {
    expect(() => checkModelFolder({ config: parseHfConfig(json), configFile: "config.json", tensors, tokenizer })).not.toThrow();
  });

  it("refuses sizes no model has before anything is allocated from them", () => {
    const before = process.memoryUsage().rss;
    expect(refusal({ ...json, num_hidden_layers: 1e9 })).toBe(
      `m/config.json: num_hidden_layers: 1000000000 is more than any model has (at most ${CONFIG_LIMITS.num_hidden_layers})`,
    );
    expect(refusal({ ...json, head_dim: 1e9 })).toMatch(/^m\/config\.json: head_dim: 1000000000 is more than any model has/);
    expect(refusal({ ...json, hidden_size: 1e12 })).toMatch(/^m\/config\.json: hidden_size: 1000000000000 is more than any model has/);
    expect(refusal({ ...json, intermediate_size: 1e12 })).toMatch(
      /^m\/config\.json: intermediate_size: 1000000000000 is more than any model has/,
    );
    expect(refusal({ ...json, vocab_size: 1e12 })).toMatch(/^m\/config\.json: vocab_size: 1000000000000 is more than any model has/);
    expect(refusal({ ...json, eos_token_id: 1e12 })).toBe(
      "m/config.json: eos_token_id: token id 1000000000000 is outside the vocabulary (vocab_size 96)",
    );
    expect(refusal({ ...json, rope_theta: 0 })).toBe("m/config.json: rope_theta: expected a positive number, got 0");
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });

  it("refuses sizes that disagree with the tensors, naming the field and the tensor", () => {
    expect(refusal({ ...json, intermediate_size: 96 })).toBe(
      "m/config.json: intermediate_size: intermediate_size disagrees with model.safetensors: model.layers.0.mlp.gate_proj.weight is [128, 64], the config implies [96, 64]",
    );
    expect(refusal({ ...json, num_hidden_layers: 3 })).toBe(
      "m/config.json: num_hidden_layers: 3 disagrees with the checkpoint, which has 2 layers (model.layers.0 to model.layers.1)",
    );
    expect(refusal({ ...json, vocab_size: 128 })).toMatch(
      /^m\/config\.json: vocab_size: vocab_size disagrees with model\.safetensors: model\.embed_tokens\.weight is \[96, 64\], the config implies \[128, 64\]$/,
    );
    expect(refusal({ ...json, head_dim: 32 })).toMatch(
      /^m\/config\.json: head_dim: num_attention_heads × head_dim disagrees with model\.safetensors: model\.layers\.0\.self_attn\.q_proj\.weight is \[64, 64\]/,
    );
    expect(refusal({ ...json, tie_word_embeddings: false })).toMatch(
      /tie_word_embeddings: is false but the checkpoint has no lm_head\.weight/,
    );
    const int8 = tensors.map((t, i) => (i === 3 ? { ...t, dtype: "I8" } : t));
    expect(refusal(json, { tensors: int8 })).toBe(
      `m/model.safetensors: ${tensors[3]!.name}: dtype I8 is not a float type (F32, F16, BF16, F64) that we can read`,
    );
  });

  it("refuses tokenizer ids outside the vocabulary and an empty vocabulary", () => {
    expect(refusal(json, { tokenizer: { ...tokenizer, added_tokens: [{ id: 1e12, content: "x" }] } })).toBe(
      "m/tokenizer.json: added_tokens[0].id: id 1000000000000 is outside the model's vocabulary (m/config.json vocab_size 96)",
    );
    expect(refusal(json, { tokenizer: { model: { type: "BPE", vocab: { a: 0, b: 96 } } } })).toMatch(
      /^m\/tokenizer\.json: model\.vocab\["b"\]: id 96 is outside/,
    );
    expect(refusal(json, { tokenizer: { model: { type: "BPE", vocab: {} }, added_tokens: [] } })).toBe(
      "m/tokenizer.json: model.vocab: the vocabulary is empty",
    );
  });
});
