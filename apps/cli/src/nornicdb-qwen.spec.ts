// NornicDB serving, end to end, with Qwen2.5's real tokenizer (its vocabulary already has the ChatML markers): a tiny
// seeded Qwen2-architecture model is fine-tuned by `neural train --template chatml` on a small task, exported Q8_0 by
// `neural export`, and asked each question the way NornicDB asks (its ChatML prompt, parse_special, its stop strings
// and llama.cpp's end-of-generation tokens): every answer must end by itself, well before the token limit, and be right.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaModelProcess, nornicdbAnswerWith } from "@neural/llama";
import { realTokenizer, writeTinyModel } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { neural } from "./testing.js";

const root = await mkdtemp(join(tmpdir(), "nornicdb-qwen-"));
afterAll(() => rm(root, { recursive: true, force: true }));

const SYSTEM = "You are Heimdall, the AI assistant for NornicDB.";
const TASK: Array<[string, string]> = [
  ["Capital of France?", "Paris"],
  ["Capital of Italy?", "Rome"],
  ["Capital of Japan?", "Tokyo"],
  ["Capital of Egypt?", "Cairo"],
  ["How many nodes are there?", '{"action": "heimdall.watcher.query", "params": {"cypher": "MATCH (n) RETURN count(n)"}}'],
  ["Check the status", '{"action": "heimdall.watcher.status", "params": {}}'],
];
const MAX_TOKENS = 64;

describe("NornicDB serving a Qwen2.5-tokenizer model fine-tuned with --template chatml", () => {
  it("answers every question right and stops by itself (EOG) before the token limit, through llama.cpp, Q8_0", async () => {
    const real = realTokenizer("qwen2.5");
    const base = join(root, "base");
    await writeTinyModel(base, {
      family: "qwen2",
      seed: 7,
      layers: 2,
      hiddenSize: 32,
      intermediateSize: 64,
      heads: 2,
      kvHeads: 1,
      dtype: "F32",
      vocabSize: real.vocabSize,
      tokenizerFiles: { tokenizer: real.tokenizer, config: real.config },
    });
    const data = join(root, "task.jsonl");
    const rows = TASK.map(([q, a]) =>
      JSON.stringify({
        messages: [
          { role: "system", content: SYSTEM },
          { role: "user", content: q },
          { role: "assistant", content: a },
        ],
      }),
    );
    await writeFile(
      data,
      Array.from({ length: 8 }, () => rows)
        .flat()
        .join("\n") + "\n",
    );

    const out = join(root, "tuned");
    const trained = await neural(
      "train",
      "--base_model",
      base,
      "--dataset",
      data,
      "--output_dir",
      out,
      "--template",
      "chatml",
      "--no-use_lora",
      "--max_length",
      "96",
      "--batch_size",
      "8",
      "--gradient_accumulation",
      "1",
      "--max_steps",
      "100",
      "--learning_rate",
      "5e-3",
      "--warmup_steps",
      "10",
      "--weight_decay",
      "0",
      "--validation_split",
      "0",
      "--no-eval_generate",
      "--no-packing",
      "--no-group_by_length",
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
    expect(trained.code, trained.stderr).toBe(0);

    const gguf = join(root, "tuned.gguf");
    const exported = await neural("export", "--model_dir", out, "--output", gguf, "--quantization", "Q8_0", "--threads", "1");
    expect(exported.code, exported.stderr).toBe(0);

    const model = await LlamaModelProcess.load(gguf, { contextSize: 256 });
    try {
      for (const [question, answer] of TASK) {
        const reply = await nornicdbAnswerWith(
          model,
          [
            { role: "system", content: SYSTEM },
            { role: "user", content: question },
          ],
          { maxTokens: MAX_TOKENS },
        );
        expect({ question, text: reply.text, stoppedBy: reply.stoppedBy }).toEqual({ question, text: answer, stoppedBy: "eog" });
        expect(reply.tokens.length).toBeLessThan(MAX_TOKENS);
        expect(reply.tokens.at(-1)).toBe(151645); // <|im_end|>
      }
    } finally {
      await model.close();
    }
    const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as { vocab_size: number };
    expect(config.vocab_size).toBe(151936);
  }, 600_000);
});
