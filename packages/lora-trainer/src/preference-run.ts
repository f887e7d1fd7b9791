// A preference run around the one loop: its data (pairs, or KTO's labelled rows with their mismatched rows), its
// batches (a micro-batch of P pairs is P rows, each a prompt with its two answers as branches), the feeds the loop
// adds per micro-batch, the reference log-probabilities (the model as it starts, computed once) and the evaluation
// on held-out pairs.
import {
  hash53,
  IGNORE_INDEX,
  type Batch,
  type ChatTemplate,
  type EncodedExample,
  type PreparedPreference,
  type PreparedPreferenceDataset,
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

/**
 * A micro-batch of pairs as trees: row k is pair k's shared tokens (its prompt), then its chosen answer, then its
 * rejected one (KTO: the completion, then the mismatched row's, which has the same prompt). The two answers continue
 * the prompt's positions and see the prompt and themselves, not each other (branch ids), so each sequence's
 * log-probability is that of the sequence alone while the prompt runs once. The loss reads 2P sequences of
 * `slotsPerSequence` answer slots each: sequence k is pair k's chosen, P + k its rejected.
 */
export interface PreferenceBatch extends Batch {
  pairs: number;
  /** 0 on a row's shared tokens, 1 on the chosen branch, 2 on the rejected one. */
  branchIds: Int32Array;
  /** Answer slots: all 2P sequences' (answers = 2P × slots per sequence). */
  answers: number;
  /** Each slot's flat predicting position (row · seqLen + index) and the token it predicts (-100 on padding slots). */
  answerPositions: BigInt64Array;
  answerTargets: BigInt64Array;
  ref: Float32Array;
  /** KTO: 1 on desirable rows. */
  desirable: Uint8Array;
  /** Answer tokens of the chosen (KTO: the completion) rows. */
  chosenTokens: number;
}

/** A pair's two sequences as one row of shared tokens and two branches (see PreferenceBatch). */
export interface PairTree {
  inputIds: Int32Array;
  positionIds: Int32Array;
  branchIds: Int32Array;
  /** The shared tokens: the sequences' longest common prefix. */
  shared: number;
  /** Per sequence, its learned tokens: the row index that predicts each and the token. */
  slots: [{ at: number[]; target: number[] }, { at: number[]; target: number[] }];
}

export function pairTree(a: EncodedExample, b: EncodedExample): PairTree {
  const limit = Math.min(a.inputIds.length, b.inputIds.length);
  let shared = 0;
  while (shared < limit && a.inputIds[shared] === b.inputIds[shared]) shared++;
  const length = a.inputIds.length + b.inputIds.length - shared;
  const tree: PairTree = {
    inputIds: new Int32Array(length),
    positionIds: new Int32Array(length),
    branchIds: new Int32Array(length),
    shared,
    slots: [
      { at: [], target: [] },
      { at: [], target: [] },
    ],
  };
  tree.inputIds.set(a.inputIds);
  tree.inputIds.set(b.inputIds.subarray(shared), a.inputIds.length);
  for (let i = 0; i < length; i++) {
    const second = i >= a.inputIds.length;
    tree.positionIds[i] = second ? shared + i - a.inputIds.length : i;
    tree.branchIds[i] = i < shared ? 0 : second ? 2 : 1;
  }
  [a, b].forEach((sequence, s) => {
    // where token t of the sequence sits in the row
    const rowIndex = (t: number) => (s === 0 || t < shared ? t : a.inputIds.length + t - shared);
    for (let t = 1; t < sequence.labels.length; t++) {
      const label = sequence.labels[t]!;
      if (label === IGNORE_INDEX) continue;
      tree.slots[s]!.at.push(rowIndex(t - 1));
      tree.slots[s]!.target.push(label);
    }
  });
  return tree;
}

/** The shapes a preference run plans once from its data: row-length buckets and answer slots per sequence. */
interface TreePlan {
  buckets: number[];
  slotsPerSequence: number;
}
const treePlans = new WeakMap<PreferenceData, TreePlan>();

/**
 * Buckets as for SFT up to max_length, and one more for the longest tree when a pair's two sequences outgrow it
 * (a tree holds at most both sequences, 2 × max_length); answer slots for the most learned tokens of a sequence,
 * rounded up to 8, so the graphs' shapes stay the same across the run.
 */
export function treePlan(run: PreparedRun, data: PreferenceData): TreePlan {
  let plan = treePlans.get(data);
  if (plan) return plan;
  let longest = 0;
  let slots = 1;
  for (const split of ["train", "eval"] as const) {
    for (let i = 0; i < data[split].length; i++) {
      const tree = pairTree(...sequencesOf(data, split, i));
      longest = Math.max(longest, tree.inputIds.length);
      slots = Math.max(slots, tree.slots[0].at.length, tree.slots[1].at.length);
    }
  }
  plan = {
    buckets: shapeBuckets(Math.max(run.config.max_length, longest), run.smallestBucket),
    slotsPerSequence: Math.ceil(slots / 8) * 8,
  };
  treePlans.set(data, plan);
  return plan;
}

/** The two sequences of a row: chosen and rejected, or KTO's completion and its mismatched row. */
function sequencesOf(data: PreferenceData, split: "train" | "eval", index: number): [EncodedExample, EncodedExample] {
  const row = data[split][index]!;
  if (row.kind === "pair") return [row.chosen, row.rejected];
  return [row.completion, data.mismatched![split][index]!];
}

/** The batch of trees, padded to `pairs` rows; its reference log-probabilities and KTO labels are left 0. */
export function treeBatch(
  trees: readonly PairTree[],
  shape: { pairs: number; buckets: readonly number[]; slotsPerSequence: number; padId: number },
): PreferenceBatch {
  const { pairs, slotsPerSequence: A } = shape;
  const longest = trees.reduce((max, t) => Math.max(max, t.inputIds.length), 1);
  const seqLen = shape.buckets.find((b) => b >= longest);
  if (seqLen === undefined) throw new RangeError(`no shape bucket holds a pair of ${longest} tokens`);
  const size = pairs * seqLen;
  const batch: PreferenceBatch = {
    batchSize: pairs,
    seqLen,
    inputIds: new Int32Array(size).fill(shape.padId),
    labels: new Int32Array(size).fill(IGNORE_INDEX),
    positionIds: new Int32Array(size),
    segmentIds: new Int32Array(size),
    branchIds: new Int32Array(size),
    tokens: 0,
    learnedTokens: 0,
    pairs: trees.length,
    answers: 2 * pairs * A,
    answerPositions: new BigInt64Array(2 * pairs * A),
    answerTargets: new BigInt64Array(2 * pairs * A).fill(BigInt(IGNORE_INDEX)),
    ref: new Float32Array(2 * pairs),
    desirable: new Uint8Array(pairs),
    chosenTokens: 0,
  };
  trees.forEach((tree, k) => {
    const offset = k * seqLen;
    batch.inputIds.set(tree.inputIds, offset);
    batch.positionIds.set(tree.positionIds, offset);
    batch.branchIds.set(tree.branchIds, offset);
    batch.segmentIds.fill(1, offset, offset + tree.inputIds.length);
    batch.tokens += tree.inputIds.length;
    tree.slots.forEach((slots, s) => {
      if (slots.at.length > A) throw new RangeError(`a sequence of ${slots.at.length} answer tokens does not fit ${A} answer slots`);
      const first = (s * pairs + k) * A;
      slots.at.forEach((at, j) => {
        batch.answerPositions[first + j] = BigInt(offset + at);
        batch.answerTargets[first + j] = BigInt(slots.target[j]!);
      });
      batch.learnedTokens += slots.at.length;
    });
    batch.chosenTokens += tree.slots[0].at.length;
  });
  return batch;
}

/** The batch of rows `indices` of a split, padded to `pairs` pairs. */
export function preferenceBatch(
  run: PreparedRun,
  data: PreferenceData,
  split: "train" | "eval",
  indices: readonly number[],
  pairs: number,
): PreferenceBatch {
  const plan = treePlan(run, data);
  const trees = indices.map((index) => pairTree(...sequencesOf(data, split, index)));
  const batch = treeBatch(trees, { pairs, ...plan, padId: padIdOf(run.tokenizer) });
  const reference = data.reference?.[split];
  indices.forEach((index, k) => {
    if (reference) {
      batch.ref[k] = reference[2 * index]!;
      batch.ref[pairs + k] = reference[2 * index + 1]!;
    }
    const row = data[split][index]!;
    batch.desirable[k] = row.kind === "unpaired" && row.label ? 1 : 0;
  });
  return batch;
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
 * Feeds of a micro-batch besides its tokens, positions and segments: its branches and answer slots, each pair's weight 1 / (pairs in the step), KTO's per-class weights,
 * the reference log-probabilities and inv_count = 1 / (chosen answer tokens in the step) for the NLL terms.
 */
export function objectiveFeeds(
  spec: PreferenceSpec,
  batch: PreferenceBatch,
  group: readonly PreferenceBatch[],
): Record<string, TypedArray> {
  const P = batch.batchSize;
  const pairs = group.reduce((n, b) => n + b.pairs, 0);
  const desirable = group.reduce((n, b) => n + b.desirable.reduce((a, x) => a + x, 0), 0);
  const undesirable = pairs - desirable;
  const chosenTokens = group.reduce((n, b) => n + b.chosenTokens, 0);
  const feeds: Record<string, TypedArray> = {
    [stepNames.branchIds]: BigInt64Array.from(batch.branchIds, BigInt),
    [stepNames.answerPositions]: batch.answerPositions,
    [stepNames.answerTargets]: batch.answerTargets,
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
      { kind: "eval", batch: batch.batchSize, seq: batch.seqLen, answers: batch.answers },
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

/** A preference data set's held-out rows in TRL's format (raw rows with their prompt's text and "raw": true). */
export function preferenceEvalRows(data: PreferenceData): string[] {
  return data.eval.map((row) => {
    const prompt = row.example.raw ? row.example.prompt[0]!.content : row.example.prompt.map(({ role, content }) => ({ role, content }));
    const raw = row.example.raw ? { raw: true } : {};
    return JSON.stringify(
      row.kind === "pair"
        ? { prompt, chosen: row.example.chosen, rejected: row.example.rejected, ...raw }
        : { prompt, completion: row.example.completion, label: row.example.label, ...raw },
    );
  });
}
