// The newcomer's path, checked as NornicDB would use the result: the quickstart's held-out accuracy through llama.cpp,
// NornicDB's own serving prompt on its Q8_0 file, and the exported model answering exactly as our engine does.
import { LlamaModelProcess, nornicdbAnswerWith } from "@neural/llama";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { neural } from "../testing.js";

const out = mkdtempSync(path.join(tmpdir(), "quickstart-"));
const lines = <T>(file: string): T[] =>
  readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as T);
interface Sample {
  messages: { role: string; content: string }[];
  expected: string;
  generated: string;
}
let summary: { heldOut: number; accuracy: Record<string, number>; files: Record<string, string> };

beforeAll(async () => {
  const result = await neural("quickstart", "--output_dir", out);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/accuracy through llama\.cpp, Q8_0: \d+\.\d% of \d+ held-out questions/);
  summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
}, 900_000);

describe("neural quickstart", () => {
  it("answers ≥ 90 % of the held-out questions through llama.cpp, in Q8_0 and Q4_K_M", () => {
    expect(summary.heldOut).toBeGreaterThanOrEqual(100);
    expect(summary.accuracy.Q8_0).toBeGreaterThanOrEqual(0.9);
    expect(summary.accuracy.Q4_K_M).toBeGreaterThanOrEqual(0.9);
  });

  it("gives the trained answer to NornicDB's own serving prompt (ChatML, its stop strings) on the Q8_0 file", async () => {
    const heldOut = lines<{ messages: { role: string; content: string }[] }>(path.join(out, "adapter", "eval_split.jsonl")).slice(0, 30);
    const model = await LlamaModelProcess.load(summary.files.Q8_0!, { contextSize: 2048 });
    try {
      let right = 0;
      for (const row of heldOut) {
        const answer = await nornicdbAnswerWith(model, row.messages.slice(0, -1), { maxTokens: 32 });
        expect(answer.stoppedBy).not.toBe("maxTokens"); // the model learned to stop
        expect(answer.prompt.endsWith("<|im_start|>assistant\n")).toBe(true);
        if (answer.text.trim() === row.messages.at(-1)!.content) right++;
      }
      expect(right / heldOut.length).toBeGreaterThanOrEqual(0.9);
    } finally {
      await model.close();
    }
  }, 300_000);

  it("exported through neural export, the model gives our engine's answers: F32 and F16 all, Q8_0 ≥ 95 %", async () => {
    const samples = lines<Sample>(path.join(out, "adapter", "eval_answers.jsonl"));
    expect(samples.length).toBeGreaterThanOrEqual(50);
    const agreement = async (file: string) => {
      const model = await LlamaModelProcess.load(file, { contextSize: 512 });
      try {
        let same = 0;
        for (const s of samples) {
          const answer = await nornicdbAnswerWith(model, s.messages, { maxTokens: 24 });
          if (answer.text.trim() === s.generated) same++;
        }
        return same / samples.length;
      } finally {
        await model.close();
      }
    };
    for (const type of ["F32", "F16"]) {
      const file = path.join(out, `export-${type}.gguf`);
      const result = await neural("export", "--model_dir", path.join(out, "adapter"), "--quantization", type, "--output", file);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain("merging the LoRA adapter");
      expect(await agreement(file)).toBe(1);
    }
    expect(await agreement(summary.files.Q8_0!)).toBeGreaterThanOrEqual(0.95);
  }, 600_000);
});
