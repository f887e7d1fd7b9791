// The 2025 families end to end, on tiny random models with their published configs' quirks (@neural/testkit): a LoRA
// fine-tune with `train` (every linear layer, gradient checkpointing), the adapter merged into its base with
// `mergeAdapter`, the merged folder exported to an F32 GGUF, and llama.cpp asked the held-out prompts: its greedy
// answers are our engine's (eval_answers.jsonl, from our KV-cache decoder during training). QLoRA's graphs are judged
// against the dequantized model in qlora.spec.ts.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { convertHfToGguf, openGguf } from "@neural/gguf-writer";
import { LlamaModelProcess, chatmlPrompt, CHATML_STOP, type LoadOptions } from "@neural/llama";
import { openSafetensors } from "@neural/safetensors";
import { writeTinyModel, type Family } from "@neural/testkit";
import { mergeAdapter } from "../merge.js";
import { loadPeftAdapter } from "../peft.js";
import { resolveTrainConfig } from "../train-config.js";
import { train, type EvalSample } from "../trainer.js";

const root = mkdtempSync(path.join(tmpdir(), "families-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EXACT: LoadOptions = { contextSize: 256, kvCacheType: "F32", flashAttention: false };
const WORDS = "apple sky grass snow coal rose lemon ocean leaf ash cherry cloud lime night blood pearl".split(" ");
const COLOURS = ["red", "blue", "green", "white", "black"];

/** A small chat task: name a thing's colour (deterministic), 80 rows. */
function dataset(file: string): string {
  const rows: string[] = [];
  for (let i = 0; i < 80; i++) {
    const word = WORDS[(i * 7) % WORDS.length]!;
    rows.push(
      JSON.stringify({ instruction: `Colour of ${word} ${i}?`, output: `${COLOURS[(i * 3 + word.length) % COLOURS.length]} ${i % 10}` }),
    );
  }
  writeFileSync(file, rows.join("\n") + "\n");
  return file;
}

/** The LoRA module names PEFT would write for this family's base. */
const peftLayer = (family: Family) => (family === "gemma3-mm" ? "model.language_model.layers.0" : "model.layers.0");

describe.each<Family>(["qwen3", "gemma3", "gemma3-mm", "smollm2", "smollm3"])("%s: LoRA fine-tune → merged GGUF → llama.cpp", (family) => {
  it("llama.cpp answers the held-out prompts as our engine did", async () => {
    const dir = path.join(root, family);
    const tiny = await writeTinyModel(path.join(dir, "base"), { family, seed: 17, weightStd: 0.1 });
    const out = path.join(dir, "adapter");
    const { config } = resolveTrainConfig({
      flags: {
        base_model: tiny.dir,
        dataset: dataset(path.join(dir, "data.jsonl")),
        output_dir: out,
        max_length: 64,
        batch_size: 8,
        gradient_accumulation: 1,
        max_steps: 30,
        learning_rate: 5e-3,
        warmup_steps: 2,
        lora_r: 8,
        lora_alpha: 16,
        lora_dropout: 0,
        gradient_checkpointing: true,
        validation_split: 0.1,
        eval_steps: 30,
        save_steps: 100,
        logging_steps: 10,
        max_new_tokens: 8,
        threads: 1,
        device: "cpu",
        seed: 3,
      },
    });
    const result = await train(config);
    expect(result.stopped).toBe("completed");
    // every linear layer adapted, under PEFT's names for this model
    const adapter = await loadPeftAdapter(out);
    expect(adapter.targetModules.sort()).toEqual(["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    const file = await openSafetensors(path.join(out, "adapter_model.safetensors"));
    expect(file.names).toContain(`base_model.model.${peftLayer(family)}.self_attn.q_proj.lora_A.weight`);
    await file.close();

    const samples = readFileSync(path.join(out, "eval_answers.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as EvalSample);
    expect(samples.length).toBeGreaterThan(3);
    const merged = path.join(dir, "merged");
    await mergeAdapter({ adapterDir: out, outputDir: merged });
    const gguf = path.join(dir, "merged.gguf");
    await convertHfToGguf({ modelDir: merged, output: gguf, outType: "F32" });
    const r = await openGguf(gguf);
    const arch = String(r.get("general.architecture"));
    await r.close();
    expect(arch).toBe({ qwen3: "qwen3", gemma3: "gemma3", "gemma3-mm": "gemma3", smollm2: "llama", smollm3: "smollm3" }[family as string]);

    const lm = await LlamaModelProcess.load(gguf, EXACT);
    try {
      for (const s of samples) {
        const gen = await lm.generate(chatmlPrompt(s.messages), { maxTokens: config.max_new_tokens, stop: CHATML_STOP });
        expect(gen.text.trim(), `${family}: ${s.prompt}`).toBe(s.generated);
      }
    } finally {
      await lm.close();
    }
    if (process.env.NEURAL_REPORT) console.log(`${family}: ${samples.length} answers equal, e.g. ${JSON.stringify(samples[0]!.generated)}`);
  }, 600_000);
});
