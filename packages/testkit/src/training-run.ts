// The setup the trainer's end-to-end specs share: a temporary folder, a small counting dataset in it, and the flags
// of a tiny from-scratch run (one layer of width 16) that trains in a second on one thread.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TinyTrainingRun {
  /** A new temporary folder, for the run's outputs. */
  dir: string;
  /** dir/data.jsonl: `rows` instruction rows, "Count to i" → "i i+1". */
  dataset: string;
  /** Flags of a tiny from-scratch run on `dataset` (spread into resolveTrainConfig's flags, then the spec's own). */
  flags: {
    from_scratch: true;
    hidden_size: number;
    num_hidden_layers: number;
    num_attention_heads: number;
    intermediate_size: number;
    vocab_size: number;
    dataset: string;
    max_length: number;
    batch_size: number;
    gradient_accumulation: number;
    threads: number;
    device: "cpu";
    eval_generate: false;
    logging_steps: number;
  };
}

export function tinyTrainingRun(prefix: string, options: { rows?: number } = {}): TinyTrainingRun {
  const dir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const dataset = path.join(dir, "data.jsonl");
  const rows = Array.from({ length: options.rows ?? 60 }, (_, i) =>
    JSON.stringify({ instruction: `Count to ${i}`, output: `${i} ${i + 1}` }),
  );
  writeFileSync(dataset, rows.join("\n") + "\n");
  return {
    dir,
    dataset,
    flags: {
      from_scratch: true,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      vocab_size: 300,
      dataset,
      max_length: 64,
      batch_size: 4,
      gradient_accumulation: 1,
      threads: 1,
      device: "cpu",
      eval_generate: false,
      logging_steps: 1,
    },
  };
}
