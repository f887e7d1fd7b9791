// One check of a model folder before any work: train, export and merge refuse a config.json that no model has or
// that disagrees with its tensors or its tokenizer, in one line naming the file and field, exit 1. Before the check
// `num_hidden_layers: 1e9` grew export to 5 GB and killed V8, `head_dim: 1e9` ran train out of heap and
// `hidden_size: 1e12` threw a RangeError with a stack; the disagreeing ones were trained or exported.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeTinyLoraAdapter, writeTinyModel, type TinyModel } from "@neural/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { neural } from "../testing.js";

const dir = mkdtempSync(path.join(tmpdir(), "neural-model-folder-"));
let tiny: TinyModel;
let dataset: string;

/** A copy of the tiny model with `file` (a JSON file) edited. */
function edited(name: string, file: "config.json" | "tokenizer.json", edit: (json: Record<string, any>) => void): string {
  const copy = path.join(dir, name);
  cpSync(tiny.dir, copy, { recursive: true });
  const json = JSON.parse(readFileSync(path.join(copy, file), "utf8"));
  edit(json);
  writeFileSync(path.join(copy, file), JSON.stringify(json));
  return copy;
}

beforeAll(async () => {
  tiny = await writeTinyModel(path.join(dir, "model"), { family: "qwen2", seed: 1, dtype: "F32", hiddenSize: 64, intermediateSize: 128 });
  dataset = path.join(dir, "data.jsonl");
  writeFileSync(
    dataset,
    Array.from({ length: 8 }, (_, i) => JSON.stringify({ instruction: `Say ${i}`, output: `Answer ${i}` })).join("\n") + "\n",
  );
}, 60_000);

const cases: Array<[string, "config.json" | "tokenizer.json", (json: Record<string, any>) => void, RegExp]> = [
  [
    "layers",
    "config.json",
    (c) => (c.num_hidden_layers = 1e9),
    /config\.json: num_hidden_layers: 1000000000 is more than any model has \(at most 1024\)/,
  ],
  ["head-dim", "config.json", (c) => (c.head_dim = 1e9), /config\.json: head_dim: 1000000000 is more than any model has/],
  ["hidden", "config.json", (c) => (c.hidden_size = 1e12), /config\.json: hidden_size: 1000000000000 is more than any model has/],
  [
    "ffn-huge",
    "config.json",
    (c) => (c.intermediate_size = 1e12),
    /config\.json: intermediate_size: 1000000000000 is more than any model has/,
  ],
  [
    "ffn-wrong",
    "config.json",
    (c) => (c.intermediate_size = 96),
    /config\.json: intermediate_size: intermediate_size disagrees with model\.safetensors: model\.layers\.0\.mlp\.gate_proj\.weight is \[128, 64\], the config implies \[96, 64\]/,
  ],
  ["rope", "config.json", (c) => (c.rope_theta = 0), /config\.json: rope_theta: expected a positive number, got 0/],
  ["vocab-id", "tokenizer.json", (t) => (t.added_tokens.at(-1).id = 1e12), /tokenizer\.json: added_tokens\[\d+\]\.id: id 1000000000000 is/],
  [
    "empty-vocab",
    "tokenizer.json",
    (t) => ((t.model.vocab = {}), (t.model.merges = []), (t.added_tokens = [])),
    /tokenizer\.json: model\.vocab: the vocabulary is empty/,
  ],
];

describe("a bad model folder is refused before any work, by every command that opens one", () => {
  it.each(cases)(
    "%s: train, export and merge each print one line and exit 1",
    async (name, file, edit, message) => {
      const model = edited(name, file, edit);
      const adapter = (await writeTinyLoraAdapter(path.join(dir, `${name}-adapter`), { ...tiny, dir: model })).dir;
      const runs = {
        train: await neural(
          "train",
          "--base_model",
          model,
          "--dataset",
          dataset,
          "--output_dir",
          path.join(dir, `${name}-out`),
          "--max_steps",
          "1",
          "--max_length",
          "64",
          "--device",
          "cpu",
          "--no-eval_generate",
        ),
        export: await neural(
          "export",
          "--model_dir",
          model,
          "--output",
          path.join(dir, `${name}.gguf`),
          "--quantization",
          "F32",
          "--no_modelfile",
        ),
        merge: await neural("merge", "--model_dir", adapter, "--base_model", model, "--output", path.join(dir, `${name}-merged`)),
      };
      for (const [command, run] of Object.entries(runs)) {
        // merge copies tokenizer.json as it is (export checks it), so only config problems stop it.
        if (command === "merge" && file === "tokenizer.json") continue;
        const lines = run.stderr
          .trim()
          .split("\n")
          .filter((l) => !/^(note|export|base model):/.test(l));
        expect(lines, `${command}: ${run.stderr}`).toHaveLength(1);
        expect(lines[0], command).toMatch(message);
        expect(lines[0], command).toContain(path.join(model, file));
        expect(run.code, command).toBe(1);
      }
    },
    120_000,
  );
});
