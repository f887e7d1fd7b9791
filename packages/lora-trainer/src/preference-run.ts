// A preference run around the one loop: its data (pairs, or KTO's labelled rows with their mismatched rows), its
// batches (a micro-batch of P pairs is 2P rows: chosen then rejected), the feeds the loop adds per micro-batch, the
// reference log-probabilities (the model as it starts, computed once) and the evaluation on held-out pairs.
import {
  hash53,
  toBatch,
  unpacked,
  type Batch,
  type ChatTemplate,
  type EncodedExample,
  type PreparedPreference,
  type PreparedPreferenceDataset,
  type Sequence,
  epochOrder,
} from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import { batchFeeds, padIdOf, shapeBuckets } from "./batching.js";
import type { EvalResult } from "./evaluation.js";
import { addMetrics } from "./loop.js";
import { metricNames, needsReference, preferenceNames, type PreferenceSpec } from "./preference.js";
import type { GraphRunner } from "./sessions.js";
import type { PreparedRun } from "./setup.js";
import { stepNames } from "./train-step.js";

/** What a preference run trains on. `reference`: each row's reference log-probability, two per row, once computed. */
export interface PreferenceData {
  spec: PreferenceSpec;
  kind: PreparedPreferenceDataset["kind"];
  train: PreparedPreference[];
  eval: PreparedPreference[];
  /** KTO: each row's mismatched prompt/completion row (mismatchedRows), for train and eval. */
  mismatched?: { train: EncodedExample[]; eval: EncodedExample[] };
  reference?: { train: Float64Array; eval: Float64Array };
}

/** A micro-batch of pairs: 2P rows, the reference log-probabilities of its rows and what the step's weights need. */
export interface PreferenceBatch extends Batch {
  pairs: number;
  ref: Float32Array;
  /** KTO: 1 on desirable rows. */
  desirable: Uint8Array;
  /** Answer tokens of the chosen (KTO: the completion) rows. */
  chosenTokens: number;
}

const EMPTY: Sequence = {
  inputIds: new Int32Array(0),
  labels: new Int32Array(0),
  positionIds: new Int32Array(0),
  segmentIds: new Int32Array(0),
};

/** The two sequences of a row: chosen and rejected, or KTO's completion and its mismatched row. */
function sequencesOf(data: PreferenceData, split: "train" | "eval", index: number): [EncodedExample, EncodedExample] {
  const row = data[split][index]!;
  if (row.kind === "pair") return [row.chosen, row.rejected];
  return [row.completion, data.mismatched![split][index]!];
}

/** The batch of rows `indices` of a split, padded to `pairs` pairs. */
export function preferenceBatch(
  run: PreparedRun,
  data: PreferenceData,
  split: "train" | "eval",
  indices: readonly number[],
  pairs: number,
): PreferenceBatch {
  const first: Sequence[] = [];
  const second: Sequence[] = [];
  const ref = new Float32Array(2 * pairs);
  const desirable = new Uint8Array(pairs);
  let chosenTokens = 0;
  indices.forEach((index, k) => {
    const [a, b] = sequencesOf(data, split, index);
    const [sa, sb] = unpacked([a, b]) as [Sequence, Sequence];
    first.push(sa);
    second.push(sb);
    for (let i = 1; i < a.labels.length; i++) if (a.labels[i] !== -100) chosenTokens++;
    const reference = data.reference?.[split];
    if (reference) {
      ref[k] = reference[2 * index]!;
      ref[pairs + k] = reference[2 * index + 1]!;
    }
    const row = data[split][index]!;
    desirable[k] = row.kind === "unpaired" && row.label ? 1 : 0;
  });
  while (first.length < pairs) {
    first.push(EMPTY);
    second.push(EMPTY);
  }
  const c = run.config;
  const batch = toBatch([...first, ...second], {
    batchSize: 2 * pairs,
    padId: padIdOf(run.tokenizer),
    buckets: shapeBuckets(c.max_length, run.smallestBucket),
  });
  return { ...batch, pairs: indices.length, ref, desirable, chosenTokens };
}

/** The micro-batches of an epoch: batch_size pairs each, in the epoch's seeded order. */
export function preferenceBatches(run: PreparedRun, data: PreferenceData, epoch: number): PreferenceBatch[] {
  const c = run.config;
  const order = epochOrder(data.train.length, c.seed, epoch);
  const out: PreferenceBatch[] = [];
  for (let start = 0; start < order.length; start += c.batch_size)
    out.push(preferenceBatch(run, data, "train", order.slice(start, start + c.batch_size), c.batch_size));
  return out;
}

/**
 * Feeds of a micro-batch besides its tokens: each pair's weight 1 / (pairs in the step), KTO's per-class weights,
 * the reference log-probabilities and inv_count = 1 / (chosen answer tokens in the step) for the NLL terms.
 */
export function objectiveFeeds(
  spec: PreferenceSpec,
  batch: PreferenceBatch,
  group: readonly PreferenceBatch[],
): Record<string, TypedArray> {
  const P = batch.batchSize / 2;
  const pairs = group.reduce((n, b) => n + b.pairs, 0);
  const desirable = group.reduce((n, b) => n + b.desirable.reduce((a, x) => a + x, 0), 0);
  const undesirable = pairs - desirable;
  const chosenTokens = group.reduce((n, b) => n + b.chosenTokens, 0);
  const feeds: Record<string, TypedArray> = {
    [preferenceNames.pairWeight]: Float32Array.from({ length: P }, (_, i) => (i < batch.pairs ? 1 / pairs : 0)),
    [stepNames.invCount]: Float32Array.of(1 / Math.max(1, chosenTokens)),
  };
  if (needsReference(spec.method)) feeds[preferenceNames.refLogps] = batch.ref;
  if (spec.method === "kto") {
    feeds[preferenceNames.chosenWeight] = Float32Array.from({ length: P }, (_, i) =>
      i < batch.pairs && batch.desirable[i] ? 1 / desirable : 0,
    );
    feeds[preferenceNames.rejectedWeight] = Float32Array.from({ length: P }, (_, i) =>
      i < batch.pairs && !batch.desirable[i] ? 1 / undesirable : 0,
    );
  }
  return feeds;
}

/** Runs the eval graph over a whole split in order: the summed loss and metrics (the split as one step), each row's log-probabilities. */
async function overSplit(
  run: PreparedRun,
  data: PreferenceData,
  runner: GraphRunner,
  weights: Record<string, TypedArray>,
  split: "train" | "eval",
) {
  const rows = data[split].length;
  const size = run.config.eval_batch_size;
  const all: PreferenceBatch[] = [];
  for (let start = 0; start < rows; start += size)
    all.push(
      preferenceBatch(
        run,
        data,
        split,
        Array.from({ length: Math.min(size, rows - start) }, (_, k) => start + k),
        size,
      ),
    );
  const logps = new Float64Array(2 * rows);
  const metrics: Record<string, number> = {};
  let loss = 0;
  for (let b = 0; b < all.length; b++) {
    const batch = all[b]!;
    const out = await runner.run(
      { kind: "eval", batch: batch.batchSize, seq: batch.seqLen },
      { ...batchFeeds(batch), ...weights, ...objectiveFeeds(data.spec, batch, all) },
    );
    loss += Number(out[stepNames.lossSum]![0]);
    addMetrics(metrics, out);
    const rowLogps = out[preferenceNames.logps]!;
    for (let k = 0; k < batch.pairs; k++) {
      logps[2 * (b * size + k)] = Number(rowLogps[k]);
      logps[2 * (b * size + k) + 1] = Number(rowLogps[size + k]);
    }
  }
  return { loss, metrics, logps };
}

/** The reference log-probabilities of every row of both splits under `weights` (the model as it starts). */
export async function referenceLogps(
  run: PreparedRun,
  data: PreferenceData,
  runner: GraphRunner,
  weights: Record<string, TypedArray>,
): Promise<{ train: Float64Array; eval: Float64Array }> {
  await runner.suspend(["step", "accumulate", "step-acc"]);
  const train = (await overSplit(run, data, runner, weights, "train")).logps;
  const evalSplit = data.eval.length ? (await overSplit(run, data, runner, weights, "eval")).logps : new Float64Array(0);
  await runner.suspend(["eval"]);
  return { train, eval: evalSplit };
}

/** The loss and TRL's metrics on the held-out rows (accuracy: rewards/accuracies; perplexity has no meaning here). */
export async function evaluatePreference(
  run: PreparedRun,
  data: PreferenceData,
  runner: GraphRunner,
  weights: Record<string, TypedArray>,
): Promise<EvalResult> {
  await runner.suspend(["step", "accumulate", "step-acc"]);
  const { loss, metrics } = await overSplit(run, data, runner, weights, "eval");
  await runner.suspend(["eval"]);
  if (data.spec.method === "kto") metrics["rewards/margins"] = (metrics["rewards/chosen"] ?? 0) - (metrics["rewards/rejected"] ?? 0);
  return { loss, perplexity: Number.NaN, accuracy: metrics["rewards/accuracies"] ?? Number.NaN, samples: [], metrics };
}

/** The metrics a step reports, with KTO's margin (its rewards are per class, so the margin is their difference). */
export function stepMetrics(spec: PreferenceSpec, metrics: Record<string, number>): Record<string, number> {
  const out = Object.fromEntries(metricNames(spec.method).map((n) => [n, metrics[n] ?? 0]));
  if (spec.method === "kto") out["rewards/margins"] = out["rewards/chosen"]! - out["rewards/rejected"]!;
  return out;
}

/**
 * What the reference log-probabilities depend on, hashed: the model (its name, config, template and tokenizer, an
 * adapter it starts from, LoRA's shape) and every token of both splits. A cache with another key is recomputed.
 */
export function referenceKey(run: PreparedRun, data: PreferenceData): string {
  let h = hash53(
    JSON.stringify({
      model: run.name,
      config: run.rawModelConfig,
      tokenizer: hash53(JSON.stringify(run.tokenizerFiles)),
      template: templateId(run.template),
      adapter: run.adapter
        ? [...run.adapter.modules.values()].reduce(
            (s, m) => s + hash53(Array.from(m.a.subarray(0, 64)).join(",") + Array.from(m.b.subarray(0, 64)).join(",")),
            0,
          )
        : null,
      lora: run.lora ?? null,
      full: !run.lora,
      qlora: run.config.use_qlora,
    }),
  );
  for (const split of ["train", "eval"] as const) {
    for (let i = 0; i < data[split].length; i++) {
      for (const s of sequencesOf(data, split, i)) h = hash53(`${h}|${s.inputIds.join(",")}|${s.labels.join(",")}`);
    }
  }
  return h.toString(36);
}

const templateId = (t: ChatTemplate) => t.prompt([{ role: "user", content: "x" }]);

/** A preference data set's held-out rows in TRL's string format (prompt rendered as its last user turn's text). */
export function preferenceEvalRows(data: PreferenceData): string[] {
  return data.eval.map((row) => {
    const prompt = row.example.prompt.map(({ role, content }) => ({ role, content }));
    return JSON.stringify(
      row.kind === "pair"
        ? { prompt, chosen: row.example.chosen, rejected: row.example.rejected }
        : { prompt, completion: row.example.completion, label: row.example.label },
    );
  });
}
