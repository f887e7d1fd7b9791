// trainInMemory end to end on onnxruntime-node, checked by llama.cpp: the GGUF it returns loads and answers the
// held-out prompts as our engine did (and correctly); LoRA on a model folder given as Blobs gives a PEFT adapter and
// a merged GGUF that does the same; bad files get @neural/dataset's line-numbered issues.
import { DatasetError } from "@neural/dataset";
import { CHATML_STOP, chatmlPrompt, LlamaModelProcess } from "@neural/llama";
import { SafetensorsFile, memorySource } from "@neural/safetensors";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, describe, expect, it } from "vitest";
import { hfFolder } from "./hf-folder.js";
import { routingDataset } from "./test-data.js";
import { trainInMemory, type EvalSample, type WebTrainEvent, type WebTrainResult } from "./train.js";

const dir = mkdtempSync(path.join(tmpdir(), "web-trainer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const session = { executionProviders: ["cpu"], intraOpNumThreads: 1 };
const scratch = {
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 128,
  vocab_size: 320,
  max_length: 64,
  batch_size: 8,
  eval_batch_size: 8,
  gradient_accumulation: 1,
  gradient_checkpointing: false,
  max_steps: 60,
  learning_rate: 3e-3,
  warmup_steps: 5,
  weight_decay: 0,
  eval_steps: 30,
  max_new_tokens: 4,
  validation_split: 0.15,
};

/** llama.cpp's greedy answers to the samples' prompts (ChatML, NornicDB's stop strings). */
async function llamaAnswers(result: WebTrainResult, samples: readonly EvalSample[], name: string): Promise<string[]> {
  const gguf = result.files.find((f) => f.name.endsWith(".gguf"))!;
  const file = path.join(dir, name);
  writeFileSync(file, gguf.bytes);
  const model = await LlamaModelProcess.load(file, { contextSize: 256, kvCacheType: "F32", flashAttention: false });
  try {
    const out: string[] = [];
    for (const s of samples) out.push((await model.generate(chatmlPrompt(s.messages), { maxTokens: 8, stop: CHATML_STOP })).text.trim());
    return out;
  } finally {
    await model.close();
  }
}

describe("trainInMemory", () => {
  let base: WebTrainResult;

  it("trains a model from scratch whose GGUF llama.cpp runs with the trained answers", async () => {
    const events: WebTrainEvent[] = [];
    base = await trainInMemory({
      ort,
      session,
      dataset: { name: "routing.jsonl", bytes: routingDataset() },
      settings: scratch,
      export: { outType: "F32" },
      onEvent: (e) => events.push(e),
    });
    expect(base.stopped).toBe("completed");
    expect(base.steps).toBe(60);
    expect(base.provider).toBe("cpu");
    const start = events.find((e) => e.type === "start")!;
    expect(start).toMatchObject({ mode: "full", provider: "cpu", totalSteps: 60 });
    const first = base.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = base.losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(last).toBeLessThan(first / 4);
    expect(events.filter((e) => e.type === "eval")).toHaveLength(2);
    expect(base.files.map((f) => f.name)).toEqual([
      "routing-f32.gguf",
      "model.safetensors",
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "train_config.json",
    ]);

    const samples = base.lastEval!.samples;
    expect(samples.length).toBeGreaterThanOrEqual(8);
    expect(base.lastEval!.exactMatch).toBeGreaterThanOrEqual(0.75);
    const answers = await llamaAnswers(base, samples, "scratch.gguf");
    expect(answers).toEqual(samples.map((s) => s.generated));
  });

  it("trains LoRA on a model folder given as Blobs: a PEFT adapter, and a merged GGUF llama.cpp runs", async () => {
    const files = new Map(base.files.filter((f) => !f.name.endsWith(".gguf")).map((f) => [f.name, new Blob([f.bytes.slice()])]));
    const folder = await hfFolder("routing-base", files);
    expect(folder.weights.names).toContain("model.layers.1.mlp.down_proj.weight");
    const result = await trainInMemory({
      ort,
      session,
      base: folder,
      dataset: { name: "routing.jsonl", bytes: routingDataset() },
      settings: {
        max_length: 64,
        batch_size: 8,
        gradient_accumulation: 1,
        gradient_checkpointing: false,
        max_steps: 10,
        learning_rate: 1e-3,
        warmup_steps: 2,
        lora_r: 4,
        lora_alpha: 8,
        lora_dropout: 0,
        eval_steps: 10,
        max_new_tokens: 4,
        validation_split: 0.15,
      },
      export: { outType: "F32" },
    });
    expect(result.stopped).toBe("completed");
    expect(result.files.map((f) => f.name)).toEqual([
      "routing-base-f32.gguf",
      "adapter_model.safetensors",
      "adapter_config.json",
      "model.safetensors",
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "train_config.json",
    ]);
    const config = JSON.parse(new TextDecoder().decode(result.files.find((f) => f.name === "adapter_config.json")!.bytes));
    expect(config).toMatchObject({ peft_type: "LORA", r: 4, lora_alpha: 8, base_model_name_or_path: "routing-base" });
    const adapter = await SafetensorsFile.fromSource(memorySource(result.files.find((f) => f.name === "adapter_model.safetensors")!.bytes));
    expect(adapter.names).toContain("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    expect(adapter.info("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").shape).toEqual([64, 4]);
    // The merged model is what llama.cpp runs: its answers are our engine's (base + adapter) answers.
    const samples = result.lastEval!.samples;
    expect(await llamaAnswers(result, samples, "lora.gguf")).toEqual(samples.map((s) => s.generated));
  });

  it("reports bad records with their lines, and refuses a file with nothing to learn", async () => {
    const text = ['{"messages": [{"role": "user", "content": "hi"}]}', '{"messages": [', '{"instruction": 3}', ""].join("\n");
    const events: WebTrainEvent[] = [];
    const attempt = trainInMemory({
      ort,
      session,
      dataset: { name: "bad.jsonl", bytes: new TextEncoder().encode(text) },
      settings: { ...scratch, max_steps: 1 },
      onEvent: (e) => events.push(e),
    });
    await expect(attempt).rejects.toThrow(DatasetError);
    const issues = events.find((e) => e.type === "issues");
    expect(issues).toMatchObject({ invalid: 3, records: 3 });
    const lines = (issues as { issues: string[] }).issues;
    expect(lines[0]).toMatch(/^bad\.jsonl:1: /);
    expect(lines[1]).toMatch(/^bad\.jsonl:2:\d+: /);
    expect(lines[2]).toMatch(/^bad\.jsonl:3: /);
  });
});
