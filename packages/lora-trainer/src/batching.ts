// From tokenized examples to graph feeds: the batches of an epoch (seeded order, packed or not, padded to a few
// shape buckets so few graphs are built) and each batch's inputs for the step graph.
import { batches, epochOrder, IGNORE_INDEX, pack, unpacked, type Batch, type PreparedExample, type TextTokenizer } from "@neural/dataset";
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

export interface BatchSettings {
  batchSize: number;
  maxLength: number;
  packing: boolean;
  padId: number;
  seed: number;
  /** Smallest shape bucket (default 64). */
  smallestBucket?: number;
}

/** The micro-batches of one epoch, in the epoch's seeded order: a pure function of (examples, epoch, settings). */
export function epochBatches(examples: readonly PreparedExample[], epoch: number, s: BatchSettings): Batch[] {
  const order = epochOrder(examples.length, s.seed, epoch).map((i) => examples[i]!.encoded);
  const sequences = s.packing ? pack(order, s.maxLength) : unpacked(order);
  return batches(sequences, { batchSize: s.batchSize, padId: s.padId, buckets: shapeBuckets(s.maxLength, s.smallestBucket) });
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

const trainPlans = new WeakMap<PreparedRun, Map<string, number>>();

/** The micro-batches of one epoch of a run, with answer slots planned on the first epoch's. */
export function batchesOf(run: PreparedRun, epoch: number): AnsweredBatch[] {
  const c = run.config;
  const settings = { batchSize: c.batch_size, maxLength: c.max_length, packing: c.packing, padId: padIdOf(run.tokenizer), seed: c.seed, smallestBucket: run.smallestBucket };
  let plan = trainPlans.get(run);
  if (!plan) trainPlans.set(run, (plan = answerPlan(epochBatches(run.train, 0, settings))));
  return withAnswerSlots(epochBatches(run.train, epoch, settings), plan);
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
  if (targets[last] !== BigInt(IGNORE_INDEX)) throw new RangeError("the last position of a batch must not be learned (it pads the answer positions)");
  const positions = new BigInt64Array(slots).fill(BigInt(last));
  let n = 0;
  for (let i = 0; i < last; i++) {
    if (targets[i] === BigInt(IGNORE_INDEX)) continue;
    if (n === slots) throw new RangeError(`more learned positions than the ${slots} answer slots`);
    positions[n++] = BigInt(i);
  }
  return positions;
}
