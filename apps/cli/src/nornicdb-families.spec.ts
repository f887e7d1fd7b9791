// NornicDB serving per family, end to end, with each family's real tokenizer: a tiny seeded model of the family is
// fine-tuned by `neural train --template chatml` on a small task, exported Q8_0 by `neural export`, and asked each
// question the way NornicDB asks (its ChatML prompt with special-token parsing, its stop strings and llama.cpp's
// end-of-generation tokens): every answer must end by itself on <|im_end|>, before the token limit, and be right, and
// llama.cpp must read NornicDB's prompt as the ids training used (BOS included, as the GGUF's metadata asks).
// Where the vocabulary has no ChatML markers (Llama-2/TinyLlama, Llama-3.2, Phi-3, Gemma 3), training adds them as
// special tokens and trains their rows; TinyLlama goes the LoRA way (the rows in the adapter, `neural merge`), the
// others train every weight. Qwen2.5 and Qwen3 have the markers in their vocabularies already.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTokenizer } from "@neural/dataset";
import { openGguf } from "@neural/gguf-writer";
import { LlamaModelProcess, nornicdbAnswerWith, nornicdbPrompt } from "@neural/llama";
import { realTokenizer, writeTinyModel, type Family, type RealTokenizerName } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { neural } from "./testing.js";

const root = await mkdtemp(join(tmpdir(), "nornicdb-families-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const SYSTEM = "You are Heimdall.";
const TASK: Array<[string, string]> = [
  ["Capital of France?", "Paris"],
  ["Capital of Japan?", "Tokyo"],
  ["Check the status", '{"action": "heimdall.watcher.status", "params": {}}'],
];
const MAX_TOKENS = 48;

interface Case {
  tokenizer: RealTokenizerName;
  family: Family;
  /**
   * Train LoRA (the new rows as PEFT trainable tokens) and merge, instead of every weight. The base's weights are
   * drawn wider (std 0.3) so that its frozen output layer leaves LoRA room for confident logits.
   */
  lora?: boolean;
  /** config.json's vocab_size after training: grown where the base had no free rows for the markers. */
  vocabSize: number;
  /** Gemma 3: a sliding window longer than the prompt (testkit's 32 hides the question from the end of the answer). */
  slidingWindow?: number;
}

const CASES: Case[] = [
  { tokenizer: "tinyllama", family: "llama", lora: true, vocabSize: 32002 },
  { tokenizer: "llama-3.2", family: "llama3", vocabSize: 128258 },
  { tokenizer: "phi-3", family: "phi3", vocabSize: 32064 },
  { tokenizer: "gemma-3", family: "gemma3", vocabSize: 262208, slidingWindow: 128 },
  { tokenizer: "qwen2.5", family: "qwen2", vocabSize: 151936 },
  { tokenizer: "qwen3", family: "qwen3", vocabSize: 151936 },
];

describe.each(CASES)(
  "NornicDB serving a $family model with $tokenizer's tokenizer, fine-tuned with --template chatml",
  ({ tokenizer, family, lora, vocabSize, slidingWindow }) => {
    it("answers every question right and stops by itself on <|im_end|> (EOG) before the token limit, through llama.cpp, Q8_0", async () => {
      const real = realTokenizer(tokenizer);
      const dir = join(root, tokenizer);
      const base = join(dir, "base");
      await writeTinyModel(base, {
        family,
        seed: 7,
        layers: 2,
        hiddenSize: 32,
        intermediateSize: 64,
        heads: 2,
        kvHeads: 1,
        dtype: "F32",
        ...(lora ? { weightStd: 0.3 } : {}),
        ...(slidingWindow ? { slidingWindow } : {}),
        vocabSize: real.vocabSize,
        tokenizerFiles: { tokenizer: real.tokenizer, config: real.config },
      });
      const data = join(dir, "task.jsonl");
      const rows = TASK.map(([q, a]) =>
        JSON.stringify({
          messages: [
            { role: "system", content: SYSTEM },
            { role: "user", content: q },
            { role: "assistant", content: a },
          ],
        }),
      );
      await writeFile(data, rows.join("\n") + "\n");

      const out = join(dir, "tuned");
      const method = lora
        ? ["--lora_r", "16", "--lora_alpha", "32", "--lora_dropout", "0", "--learning_rate", "2e-2"]
        : ["--no-use_lora", "--learning_rate", "1e-2"];
      const run = await neural(
        "train",
        "--base_model",
        base,
        "--dataset",
        data,
        "--output_dir",
        out,
        "--template",
        "chatml",
        ...method,
        "--max_length",
        "64",
        "--batch_size",
        "3",
        "--gradient_accumulation",
        "1",
        "--max_steps",
        "60",
        "--warmup_steps",
        "5",
        "--weight_decay",
        "0",
        "--validation_split",
        "0",
        "--no-eval_generate",
        "--no-packing",
        "--eval_steps",
        "1000",
        "--save_steps",
        "1000",
        "--logging_steps",
        "20",
        "--threads",
        "1",
        "--seed",
        "1",
      );
      expect(run.code, run.stderr).toBe(0);

      let modelDir = out;
      if (lora) {
        const adapter = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8")) as {
          trainable_token_indices?: Record<string, number[]>;
        };
        expect(adapter.trainable_token_indices).toEqual({ embed_tokens: [32000, 32001], lm_head: [32000, 32001] });
        modelDir = join(dir, "merged");
        const merged = await neural("merge", "--model_dir", out, "--base_model", base, "--output", modelDir);
        expect(merged.code, merged.stderr).toBe(0);
      }
      const config = JSON.parse(await readFile(join(modelDir, "config.json"), "utf8")) as { vocab_size: number };
      expect(config.vocab_size).toBe(vocabSize);

      const gguf = join(dir, "tuned.gguf");
      const exported = await neural("export", "--model_dir", modelDir, "--output", gguf, "--quantization", "Q8_0", "--threads", "1");
      expect(exported.code, exported.stderr).toBe(0);

      // What training fed the model: BOS when its tokenizer adds one, then the ChatML prompt with markers by id.
      const trained = createTokenizer({
        tokenizer: JSON.parse(await readFile(join(modelDir, "tokenizer.json"), "utf8")) as Record<string, unknown>,
        config: JSON.parse(await readFile(join(modelDir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>,
      });
      const imEnd = trained.specialTokens.get("<|im_end|>")!;
      const trainingIds = (messages: Parameters<typeof nornicdbPrompt>[0]) => [
        ...(trained.addBos && trained.bos ? [trained.bos.id] : []),
        ...trained.encode(nornicdbPrompt(messages)),
      ];
      const meta = await openGguf(gguf);
      try {
        expect((meta.get("tokenizer.ggml.token_type") as ArrayLike<number>)[imEnd]).toBe(3); // control
        expect(meta.get("tokenizer.ggml.eot_token_id")).toBe(imEnd);
      } finally {
        await meta.close();
      }
      const model = await LlamaModelProcess.load(gguf, { contextSize: 256 });
      try {
        for (const [question, answer] of TASK) {
          const messages = [
            { role: "system", content: SYSTEM },
            { role: "user", content: question },
          ];
          const reply = await nornicdbAnswerWith(model, messages, { maxTokens: MAX_TOKENS });
          expect(reply.promptTokens).toEqual(trainingIds(messages));
          expect({ question, text: reply.text, stoppedBy: reply.stoppedBy }).toEqual({ question, text: answer, stoppedBy: "eog" });
          expect(reply.tokens.length).toBeLessThan(MAX_TOKENS);
          expect(reply.tokens.at(-1)).toBe(imEnd);
        }
      } finally {
        await model.close();
      }
    }, 600_000);
  },
);
