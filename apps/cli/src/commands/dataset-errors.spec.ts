// Dataset problems read the same in every command: each bad row with file:line, and exit 1 for a file that cannot be
// read (2 is kept for usage errors: a flag that does not exist, a value out of range).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { neural } from "../testing.js";

const dir = mkdtempSync(path.join(tmpdir(), "neural-dataset-errors-"));

const scratch = (dataset: string, output: string) => [
  "train",
  "--from_scratch",
  "--hidden_size",
  "32",
  "--num_hidden_layers",
  "1",
  "--num_attention_heads",
  "2",
  "--intermediate_size",
  "64",
  "--vocab_size",
  "300",
  "--dataset",
  dataset,
  "--output_dir",
  output,
  "--max_length",
  "64",
  "--batch_size",
  "2",
  "--max_steps",
  "1",
  "--save_steps",
  "1",
  "--no-eval_generate",
  "--threads",
  "1",
  "--device",
  "cpu",
];

describe("bad dataset rows", () => {
  it("neural train lists each bad row with file:line, as neural validate does", async () => {
    const dataset = path.join(dir, "rows.jsonl");
    const good = Array.from({ length: 12 }, (_, i) => JSON.stringify({ instruction: `Say ${i}`, output: `${i}` }));
    good.splice(1, 0, '{"instruction": "Say x", "output": }');
    good.splice(
      3,
      0,
      JSON.stringify({
        messages: [
          { role: "assistant", content: "hi" },
          { role: "user", content: "hello" },
        ],
      }),
    );
    writeFileSync(dataset, good.join("\n") + "\n");
    const result = await neural(...scratch(dataset, path.join(dir, "out")));
    expect(result.stderr).toContain("warning: 2 invalid records skipped:");
    expect(result.stderr).toContain(`${dataset}:2:36: invalid JSON`);
    expect(result.stderr).toContain(`${dataset}:4: messages[0].role: the conversation starts with the assistant`);
    expect(result.code).toBe(0);
  }, 300_000);
});

describe("a dataset file that does not exist", () => {
  const missing = path.join(dir, "nope.jsonl");
  it.each([
    ["validate", ["validate", missing]],
    ["prepare", ["prepare", "--dataset", missing]],
    ["tokenizer train", ["tokenizer", "train", "--dataset", missing, "--output", path.join(dir, "tok")]],
    ["train", scratch(missing, path.join(dir, "out-missing"))],
  ])(
    "%s: exit 1 and one line naming the file",
    async (_, argv) => {
      const result = await neural(...argv);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/nope\.jsonl: file not found/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    },
    120_000,
  );

  it("usage errors still exit 2", async () => {
    expect((await neural("validate")).code).toBe(2);
    expect((await neural("prepare", "--dataset", missing, "--max_lenght", "5")).code).toBe(2);
  });
});
