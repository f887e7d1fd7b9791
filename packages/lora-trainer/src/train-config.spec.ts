import { describe, expect, it } from "vitest";
import { hash53 } from "@neural/dataset";
import {
  PRESETS,
  resolveTrainConfig,
  resumeKey,
  SETTING_GROUPS,
  SETTINGS,
  trainConfigSchema,
  TRAIN_DEFAULTS,
  type Setting,
} from "./train-config.js";

describe("resolveTrainConfig", () => {
  it("layers defaults < preset < config file < flags, and zero is a value", () => {
    const { config } = resolveTrainConfig({
      preset: "heimdall",
      file: { epochs: 2, learning_rate: 1e-4, warmup_steps: 10 },
      flags: { learning_rate: 0, warmup_steps: 0 },
    });
    expect(config).toMatchObject({
      base_model: "Qwen/Qwen2.5-1.5B-Instruct",
      batch_size: 1,
      epochs: 2,
      learning_rate: 0,
      warmup_steps: 0,
      max_length: 2048,
    });
    expect(config.weight_decay).toBe(TRAIN_DEFAULTS.weight_decay);
  });

  it("knows every preset, including tinyllama_1b and its older spelling", () => {
    expect(Object.keys(PRESETS)).toEqual([
      "tinyllama_1b",
      "qwen_0_5b",
      "qwen_1_5b",
      "phi3_mini",
      "phi3_5_mini",
      "heimdall",
      "heimdall_mit",
      "qwen3_0_6b",
      "qwen3_1_7b",
      "qwen3_4b",
      "gemma3_270m",
      "gemma3_1b",
      "smollm2_360m",
      "smollm2_1_7b",
    ]);
    expect(resolveTrainConfig({ preset: "tinyllama_1b" }).config.base_model).toBe("TinyLlama/TinyLlama-1.1B-Chat-v1.0");
    expect(resolveTrainConfig({ preset: "tiny_llama_1b" }).config.preset).toBe("tinyllama_1b");
    expect(resolveTrainConfig({ preset: "heimdall_mit" }).config).toMatchObject({ lora_r: 32, lora_alpha: 64, use_qlora: true });
  });

  it("lists the valid presets when the name is unknown", () => {
    expect(() => resolveTrainConfig({ preset: "llama_70b" })).toThrow(
      'unknown preset "llama_70b"; valid presets: tinyllama_1b, qwen_0_5b, qwen_1_5b, phi3_mini, phi3_5_mini, heimdall, heimdall_mit, qwen3_0_6b, qwen3_1_7b, qwen3_4b, gemma3_270m, gemma3_1b, smollm2_360m, smollm2_1_7b',
    );
  });

  it("uses the default preset only when nothing names a model", () => {
    const implicit = resolveTrainConfig({});
    expect(implicit.config.preset).toBe("qwen_1_5b");
    expect(implicit.notes[0]).toMatch(/default preset qwen_1_5b/);
    expect(resolveTrainConfig({ flags: { base_model: "./my-model" } }).config.preset).toBeUndefined();
  });

  it("reads TrainingArguments-style YAML keys and says which ones it ignores", () => {
    const { config, notes } = resolveTrainConfig({
      fileName: "old.yaml",
      file: {
        base_model: "x/y",
        per_device_train_batch_size: 2,
        gradient_accumulation_steps: 3,
        num_train_epochs: 4,
        fp16: true,
        target_modules: ["q_proj"],
      },
    });
    expect(config).toMatchObject({ batch_size: 2, gradient_accumulation: 3, epochs: 4, lora_target_modules: ["q_proj"] });
    expect(notes).toEqual([expect.stringMatching(/^old\.yaml: fp16 is ignored: precision is chosen per device/)]);
  });

  it("names the bad setting and where it came from", () => {
    expect(() => resolveTrainConfig({ fileName: "c.yaml", file: { base_model: "x/y", lora_rank: 8 } })).toThrow(
      'c.yaml: unknown setting "lora_rank"',
    );
    expect(() => resolveTrainConfig({ flags: { base_model: "x/y", batch_size: 0 } })).toThrow("--batch_size must be >= 1");
    expect(() => resolveTrainConfig({ fileName: "c.yaml", file: { base_model: "x/y", lr_scheduler: "step" } })).toThrow(
      /c\.yaml: lr_scheduler must be equal to one of the allowed values/,
    );
  });

  it("checks the from-scratch size flags and turns LoRA off", () => {
    expect(() => resolveTrainConfig({ flags: { from_scratch: true, hidden_size: 64 } })).toThrow(
      "--from_scratch needs --num_hidden_layers, --num_attention_heads, --intermediate_size",
    );
    const { config } = resolveTrainConfig({
      flags: { from_scratch: true, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128 },
    });
    expect(config).toMatchObject({ use_lora: false, from_scratch: true });
    expect(config.base_model).toBeUndefined();
    expect(() =>
      resolveTrainConfig({
        flags: { from_scratch: true, hidden_size: 66, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128 },
      }),
    ).toThrow(/not a multiple/);
  });
});

describe("the settings table", () => {
  const table = Object.entries(SETTINGS as Record<string, Setting>);

  it("is where the defaults, the schema and the groups come from: one entry per setting, with one-sentence help", () => {
    expect(Object.keys(trainConfigSchema.properties)).toEqual(Object.keys(SETTINGS));
    for (const [name, s] of table) {
      expect(trainConfigSchema.properties[name]).toBe(s.schema);
      expect((TRAIN_DEFAULTS as Record<string, unknown>)[name]).toBe(s.default);
      expect(SETTING_GROUPS).toContain(s.group);
      expect(s.help, name).toMatch(/^[^.]+$/); // one sentence, no trailing period
    }
  });

  it("keeps the resume key checkpoints were written with (the same fields, in the same order)", () => {
    const fields = table.filter(([, s]) => s.resume).map(([name]) => name);
    expect(fields).toEqual([
      "base_model",
      "dataset",
      "template",
      "max_length",
      "packing",
      "group_by_length",
      "train_on_inputs",
      "validation_split",
      "max_samples",
      "batch_size",
      "gradient_accumulation",
      "epochs",
      "max_steps",
      "learning_rate",
      "lr_scheduler",
      "warmup_steps",
      "weight_decay",
      "max_grad_norm",
      "adam_beta1",
      "adam_beta2",
      "adam_epsilon",
      "use_lora",
      "lora_r",
      "lora_alpha",
      "lora_dropout",
      "lora_target_modules",
      "use_rslora",
      "seed",
      "from_scratch",
      "model_family",
      "hidden_size",
      "num_hidden_layers",
      "num_attention_heads",
      "num_key_value_heads",
      "intermediate_size",
      "vocab_size",
    ]);
    const { config } = resolveTrainConfig({ preset: "heimdall" });
    expect(resumeKey(config)).toBe("2dttjbnmgfp");
    expect(resumeKey(config)).toBe(
      hash53(JSON.stringify(fields.map((k) => [k, (config as Record<string, unknown>)[k] ?? null]))).toString(36),
    );
    expect(resumeKey({ ...config, learning_rate: 1e-3 })).not.toBe(resumeKey(config));
    expect(resumeKey({ ...config, logging_steps: 1, device: "cpu", threads: 1 })).toBe(resumeKey(config));
    // a preference run's method and knobs must not change across a resume either
    const dpo = { ...config, method: "dpo" as const };
    expect(resumeKey(dpo)).not.toBe(resumeKey(config));
    expect(resumeKey({ ...dpo, beta: 0.3 })).not.toBe(resumeKey(dpo));
    expect(resumeKey({ ...config, beta: 0.3 })).toBe(resumeKey(config));
  });
});
