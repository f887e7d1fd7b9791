// Fuzz test of the config.json parser (see fuzz.shared.ts), through the package's public entry so that it follows the
// parser wherever it lives: each family's config with hostile values put in its fields (and in rope_scaling), or a
// random JSON value. Each either parses or fails with a ModelConfigError, in bounded time and memory.
import fc from "fast-check";
import { FAMILIES, makeTokenizer, tinyConfig } from "@neural/testkit";
import { describe, it } from "vitest";
import { fuzzCase, fuzzParameters, hostileInteger, hostileJson, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { ModelConfigError, parseConfig } from "./index.js";

const configs = FAMILIES.map((family) => tinyConfig({ family, seed: 1 }, makeTokenizer(family === "llama" || family === "mistral" ? "spm" : "bpe-qwen2")) as unknown as Record<string, unknown>);
const fields = [...new Set(configs.flatMap((c) => Object.keys(c)))].concat(["head_dim", "partial_rotary_factor", "sliding_window", "use_sliding_window", "hidden_activation"]);

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
  field: fc.constantFrom(...fields, "rope_scaling"),
  value: fc.oneof(hostileInteger, hostileJson),
  rope: ropeScaling,
  remove: fc.boolean(),
});

const config = fc.oneof(
  { weight: 5, arbitrary: fc.record({ base: fc.nat({ max: configs.length - 1 }), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }).map(({ base, edits }) => {
    const c: Record<string, unknown> = structuredClone(configs[base]!);
    for (const e of edits) {
      if (e.remove) delete c[e.field];
      else c[e.field] = e.field === "rope_scaling" ? e.rope : e.value;
    }
    return c as unknown;
  }) },
  { weight: 1, arbitrary: hostileJson },
);

const isModelConfigError = (error: unknown) => error instanceof ModelConfigError;

describe("config.json fuzz", () => {
  it("hostile values in every field of each family's config: a ModelConfig, or a ModelConfigError", async () => {
    for (const c of configs) parseConfig(c);
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(config, (json) => fuzzCase(stats, isModelConfigError, () => parseConfig(json))),
      fuzzParameters(1000),
    );
    reportFuzz("config.json", stats);
  }, 600_000);
});
