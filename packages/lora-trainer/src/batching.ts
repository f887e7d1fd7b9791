// From tokenized examples to graph feeds: the batches of an epoch (seeded order, packed or not, rows of alike length
// together, padded to a few shape buckets planned from the data so few graphs are built) and each batch's inputs
// for the step graph.
import {
  batches,
  epochOrder,
  hash53,
  IGNORE_INDEX,
  pack,
  packingEfficiency,
  Random,
  toBatch,
  unpacked,
  type Batch,
  type PreparedExample,
  type Sequence,
  type TextTokenizer,
} from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import type { GraphKey } from "./sessions.js";
import type { PreparedRun } from "./setup.js";
import { stepNames } from "./train-step.js";

/** Shape buckets: powers of two from `smallest`, and max_length itself. */
export function shapeBuckets(maxLength: number, smallest = 64): number[] {
  const out: number[] = [];
  for (let n = smallest; n < maxLength; n *= 2) out.push(n);
  out.push(maxLength);
  return out;
}

/** The padding id: the tokenizer's pad token, else EOS, else 0 (padding is never learned). */
export const padIdOf = (t: TextTokenizer): number => t.pad?.id ?? t.eos?.id ?? 0;

/** Most sequence-length buckets a run plans (each is a graph to build, per kind). */
export const MAX_SHAPE_BUCKETS = 16;
/** The padding share (of all slots) at which fewer buckets are enough. */
export const PADDING_TARGET = 0.03;

/**
 * Sequence lengths to pad to (multiples of 8 up to `maxLength`, the largest holding the longest sequence): the
 * fewest buckets, at most `count`, whose padding is at most `target` of all slots when each sequence is padded to
 * the smallest bucket that holds it, and for that count the least padding (dynamic programming over the sorted
 * lengths, exact for that cost). `target` 0 gives exactly `count` buckets where there are that many lengths.
 */
export function lengthBuckets(
  lengths: readonly number[],
  maxLength: number,
  count = MAX_SHAPE_BUCKETS,
  target = PADDING_TARGET,
  align = 8,
): number[] {
  if (lengths.length === 0) return [Math.min(align, maxLength)];
  const tally = new Map<number, number>();
  let tokens = 0;
  for (const n of lengths) {
    const c = Math.min(maxLength, Math.max(align, Math.ceil(n / align) * align));
    tally.set(c, (tally.get(c) ?? 0) + 1);
    tokens += n;
  }
  const values = [...tally.keys()].sort((a, b) => a - b);
  const m = values.length;
  const rows = [0];
  const sums = [0];
  values.forEach((v, i) => {
    rows.push(rows[i]! + tally.get(v)!);
    sums.push(sums[i]! + v * tally.get(v)!);
  });
  // padding of the aligned lengths values[i..j] padded to values[j], plus the alignment's own (counted once below)
  const waste = (i: number, j: number) => values[j]! * (rows[j + 1]! - rows[i]!) - (sums[j + 1]! - sums[i]!);
  const aligned = sums[m]! - tokens;
  const k = Math.min(count, m);
  // best[j]: the least padding of values 0..j in b + 1 buckets, the last one values[j]; cuts[b][j]: where the
  // previous bucket ends
  let best = values.map((_, j) => waste(0, j));
  const cuts: number[][] = [values.map(() => -1)];
  const share = (w: number) => (w + aligned) / (sums[m]! + w);
  for (let b = 1; b < k && share(best[m - 1]!) > target; b++) {
    const next = values.map(() => Infinity);
    const cut = values.map(() => -1);
    for (let j = b; j < m; j++) {
      for (let i = b; i <= j; i++) {
        const cost = best[i - 1]! + waste(i, j);
        if (cost < next[j]!) [next[j], cut[j]] = [cost, i - 1];
      }
    }
    best = next;
    cuts.push(cut);
  }
  const buckets: number[] = [];
  for (let b = cuts.length - 1, j = m - 1; j >= 0 && b >= 0; j = cuts[b]![j]!, b--) buckets.unshift(values[j]!);
  return buckets;
}

export interface BatchSettings {
  batchSize: number;
  maxLength: number;
  packing: boolean;
  /** Unpacked: rows of alike length batched together (else the seeded order as is). */
  groupByLength?: boolean;
  padId: number;
  seed: number;
  /** Sequence lengths a batch may have (lengthBuckets); default: powers of two from `smallestBucket` (64). */
  buckets?: readonly number[];
  smallestBucket?: number;
}

/** Sequences sorted by length within windows of this many batches, so that a batch's rows are alike in length. */
const SORT_WINDOW_BATCHES = 64;

/**
 * The micro-batches of one epoch: a pure function of (examples, epoch, settings). Packed, the bins come in the order
 * best-fit decreasing made them (alike fill next to each other) and nearly fill their rows. Unpacked, the epoch's
 * seeded order is cut into windows, each window's examples sorted by length and grouped into batches, and the
 * batches shuffled: rows of a batch have similar lengths, so little of it is padding, while the order of the data
 * still changes every epoch.
 */
export function epochBatches(examples: readonly PreparedExample[], epoch: number, s: BatchSettings): Batch[] {
  const order = epochOrder(examples.length, s.seed, epoch).map((i) => examples[i]!.encoded);
  const options = { batchSize: s.batchSize, padId: s.padId, buckets: s.buckets ?? shapeBuckets(s.maxLength, s.smallestBucket) };
  if (s.packing) return batches(pack(order, s.maxLength), options);
  const sequences = unpacked(order);
  if (s.groupByLength === false) return batches(sequences, options);
  const window = s.batchSize * SORT_WINDOW_BATCHES;
  const grouped: Sequence[][] = [];
  for (let start = 0; start < sequences.length; start += window) {
    const part = sequences.slice(start, start + window).sort((a, b) => b.inputIds.length - a.inputIds.length);
    for (let i = 0; i < part.length; i += s.batchSize) grouped.push(part.slice(i, i + s.batchSize));
  }
  return new Random(hash53(`batches:${epoch}`, s.seed)).shuffle(grouped).map((rows) => toBatch(rows, options));
}

/** Share of a batch list's slots that are padding. */
export function paddingShare(all: readonly Batch[]): number {
  return all.some((b) => b.batchSize * b.seqLen > 0) ? 1 - packingEfficiency(all) : 0;
}

/** A batch with the number of positions its graph computes logits at (answer-only loss); absent: every position. */
export type AnsweredBatch = Batch & { answers?: number };

/**
 * The answer slots of each batch shape ("BxS"): the most learned tokens of any of `batches` of that shape, rounded
 * up to a multiple of 16, so that one graph per shape serves them all.
 */
export function answerPlan(batches: readonly Batch[]): Map<string, number> {
  const plan = new Map<string, number>();
  for (const b of batches) {
    const key = `${b.batchSize}x${b.seqLen}`;
    plan.set(key, Math.max(plan.get(key) ?? 0, Math.min(b.batchSize * b.seqLen, Math.ceil(Math.max(1, b.learnedTokens) / 16) * 16)));
  }
  return plan;
}

/**
 * Each batch with its answer slots: its shape's planned count, or (a batch of a later epoch with more learned
 * tokens than planned) the planned count doubled until it fits, at most every position.
 */
export function withAnswerSlots(batches: readonly Batch[], plan: ReadonlyMap<string, number>): AnsweredBatch[] {
  return batches.map((b) => {
    const all = b.batchSize * b.seqLen;
    let answers = plan.get(`${b.batchSize}x${b.seqLen}`) ?? Math.ceil(Math.max(1, b.learnedTokens) / 16) * 16;
    while (answers < b.learnedTokens) answers *= 2;
    return Object.assign(b, { answers: Math.min(all, answers) });
  });
}

interface ShapePlan {
  settings: BatchSettings;
  answers: Map<string, number>;
}
const trainPlans = new WeakMap<PreparedRun, ShapePlan>();

/**
 * A run's batch shapes, planned once from its data: sequence-length buckets from the first epoch's sequences
 * (examples, or packed bins) and answer slots from its batches. Later epochs reuse them (and so the graphs).
 */
function trainPlan(run: PreparedRun): ShapePlan {
  let plan = trainPlans.get(run);
  if (plan) return plan;
  const c = run.config;
  const base: BatchSettings = {
    batchSize: c.batch_size,
    maxLength: c.max_length,
    packing: c.packing,
    groupByLength: c.group_by_length,
    padId: padIdOf(run.tokenizer),
    seed: c.seed,
  };
  const order = epochOrder(run.train.length, c.seed, 0).map((i) => run.train[i]!.encoded);
  const lengths = (c.packing ? pack(order, c.max_length) : unpacked(order)).map((q) => q.inputIds.length);
  const settings = { ...base, buckets: lengthBuckets(lengths, c.max_length, run.maxShapes) };
  plan = { settings, answers: answerPlan(epochBatches(run.train, 0, settings)) };
  trainPlans.set(run, plan);
  return plan;
}

/** The micro-batches of one epoch of a run, in the run's planned shapes. */
export function batchesOf(run: PreparedRun, epoch: number): AnsweredBatch[] {
  const plan = trainPlan(run);
  return withAnswerSlots(epochBatches(run.train, epoch, plan.settings), plan.answers);
}

/** The eval split's batches: sorted by length (order does not matter to sums), with their own planned shapes. */
export function evalBatchesOf(run: PreparedRun): AnsweredBatch[] {
  const c = run.config;
  const encoded = run.eval.map((e) => e.encoded);
  const sequences = (c.packing ? pack(encoded, c.max_length) : unpacked(encoded)).sort((a, b) => b.inputIds.length - a.inputIds.length);
  const buckets = lengthBuckets(
    sequences.map((q) => q.inputIds.length),
    c.max_length,
    run.maxShapes,
  );
  const all = batches(sequences, { batchSize: c.eval_batch_size, padId: padIdOf(run.tokenizer), buckets });
  return withAnswerSlots(all, answerPlan(all));
}

/** The graph a batch runs on, for a kind of step or evaluation graph. */
export function batchKey(kind: GraphKey["kind"], batch: AnsweredBatch): GraphKey {
  return { kind, batch: batch.batchSize, seq: batch.seqLen, ...(batch.answers !== undefined ? { answers: batch.answers } : {}) };
}

/**
 * Graph feeds of a batch: ids, positions, segments, the labels shifted into next-token targets and, with answer
 * slots, the positions whose targets are learned (padded with the last position, which predicts nothing).
 */
export function batchFeeds(batch: AnsweredBatch): Record<string, TypedArray> {
  const { batchSize: B, seqLen: S } = batch;
  const targets = new BigInt64Array(B * S).fill(BigInt(IGNORE_INDEX));
  for (let b = 0; b < B; b++) {
    for (let i = 0; i + 1 < S; i++) {
      const label = batch.labels[b * S + i + 1]!;
      if (label !== IGNORE_INDEX) targets[b * S + i] = BigInt(label);
    }
  }
  const feeds: Record<string, TypedArray> = {
    [stepNames.inputIds]: BigInt64Array.from(batch.inputIds, BigInt),
    [stepNames.positionIds]: BigInt64Array.from(batch.positionIds, BigInt),
    [stepNames.segmentIds]: BigInt64Array.from(batch.segmentIds, BigInt),
    [stepNames.targets]: targets,
  };
  if (batch.answers !== undefined) feeds[stepNames.answerPositions] = answerPositions(targets, batch.answers);
  return feeds;
}

/** The learned positions of flat targets, then the last position (never learned) up to `slots` entries. */
export function answerPositions(targets: BigInt64Array, slots: number): BigInt64Array {
  const last = targets.length - 1;
  if (targets[last] !== BigInt(IGNORE_INDEX))
    throw new RangeError("the last position of a batch must not be learned (it pads the answer positions)");
  const positions = new BigInt64Array(slots).fill(BigInt(last));
  let n = 0;
  for (let i = 0; i < last; i++) {
    if (targets[i] === BigInt(IGNORE_INDEX)) continue;
    if (n === slots) throw new RangeError(`more learned positions than the ${slots} answer slots`);
    positions[n++] = BigInt(i);
  }
  return positions;
}
