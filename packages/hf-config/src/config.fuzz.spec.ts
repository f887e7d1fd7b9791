// Fuzz test of the config.json parser (see fuzz.shared.ts): a config of each architecture with hostile values put in
// its fields (rope_scaling, layer lists and Gemma 3's text_config included), damaged JSON text, or a random JSON
// value. Each either parses or fails with an HfConfigError naming the file, in bounded time and memory.
import fc from "fast-check";
import { describe, it } from "vitest";
import { damaged, fuzzCase, fuzzParameters, hostileInteger, hostileJson, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { ARCHITECTURES, HfConfigError, parseHfConfig, parseHfConfigText } from "./index.js";

const base = {
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 512,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  hidden_act: "silu",
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
};
const variants: Record<string, unknown>[] = Object.keys(ARCHITECTURES).map((architecture) => {
  const c: Record<string, unknown> = { ...base, architectures: [architecture] };
  if (architecture.startsWith("Gemma3"))
    Object.assign(c, {
      head_dim: 16,
      sliding_window: 64,
      layer_types: ["sliding_attention", "sliding_attention", "sliding_attention", "full_attention"],
      rope_local_base_freq: 10000,
      hidden_activation: "gelu_pytorch_tanh",
      hidden_act: undefined,
    });
  if (architecture === "Gemma3ForConditionalGeneration") return { architectures: [architecture], text_config: c };
  if (architecture.startsWith("SmolLM3")) Object.assign(c, { no_rope_layers: [1, 1, 1, 0] });
  if (architecture.startsWith("Llama"))
    Object.assign(c, {
      rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
    });
  if (architecture.startsWith("Phi3"))
    Object.assign(c, {
      rope_scaling: { type: "longrope", short_factor: Array(8).fill(1), long_factor: Array(8).fill(2) },
      original_max_position_embeddings: 256,
    });
  return c;
});
const fields = [...new Set(variants.flatMap((c) => Object.keys(c)))].concat([
  "head_dim",
  "partial_rotary_factor",
  "sliding_window_pattern",
  "use_sliding_window",
  "model_type",
  "final_logit_softcapping",
  "query_pre_attn_scalar",
]);

const list = fc.array(fc.oneof(hostileJson, fc.constantFrom("sliding_attention", "full_attention", 0, 1)), { maxLength: 12 });
const ropeScaling = fc.oneof(
  hostileJson,
  fc.record({
    rope_type: fc.constantFrom("default", "linear", "llama3", "longrope", "su", "yarn", "dynamic"),
    factor: fc.oneof(hostileInteger, hostileJson),
    low_freq_factor: hostileJson,
    high_freq_factor: hostileJson,
    original_max_position_embeddings: fc.oneof(hostileInteger, hostileJson),
    short_factor: fc.oneof(hostileJson, fc.array(hostileJson, { maxLength: 64 })),
    long_factor: fc.oneof(hostileJson, fc.array(hostileJson, { maxLength: 64 })),
    attention_factor: hostileJson,
  }),
);

const edit = fc.record({
  field: fc.constantFrom(...fields, "rope_scaling", "layer_types", "no_rope_layers"),
  value: fc.oneof(hostileInteger, hostileJson),
  rope: ropeScaling,
  list,
  remove: fc.boolean(),
});

function edited(
  original: Record<string, unknown>,
  edits: { field: string; value: unknown; rope: unknown; list: unknown[]; remove: boolean }[],
): unknown {
  const copy = structuredClone(original);
  const target = (copy.text_config ?? copy) as Record<string, unknown>;
  for (const e of edits) {
    if (e.remove) delete target[e.field];
    else
      target[e.field] = e.field === "rope_scaling" ? e.rope : e.field === "layer_types" || e.field === "no_rope_layers" ? e.list : e.value;
  }
  return copy;
}

const config = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({ at: fc.nat({ max: variants.length - 1 }), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) })
      .map(({ at, edits }) => ({ json: edited(variants[at]!, edits) })),
  },
  {
    weight: 1,
    arbitrary: fc
      .nat({ max: variants.length - 1 })
      .chain((at) => damaged(new TextEncoder().encode(JSON.stringify(variants[at]))))
      .map((bytes) => ({ text: new TextDecoder().decode(bytes) })),
  },
  { weight: 1, arbitrary: hostileJson.map((json) => ({ json })) },
);

const isHfConfigError = (error: unknown) => error instanceof HfConfigError && error.file === "fuzz/config.json";

describe("config.json fuzz", () => {
  it("hostile values in every field of each architecture's config, or damaged text: a ModelConfig, or an HfConfigError", async () => {
    for (const c of variants) parseHfConfig(c, "fuzz/config.json");
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(config, (input) =>
        fuzzCase(stats, isHfConfigError, () =>
          "text" in input ? parseHfConfigText(input.text!, "fuzz/config.json") : parseHfConfig(input.json, "fuzz/config.json"),
        ),
      ),
      fuzzParameters(1000),
    );
    reportFuzz("config.json", stats);
  }, 600_000);
});
