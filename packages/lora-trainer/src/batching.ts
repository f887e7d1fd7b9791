// From tokenized examples to graph feeds: the batches of an epoch (seeded order, packed or not, padded to a few
// shape buckets so few graphs are built) and each batch's inputs for the step graph.
import { batches, epochOrder, IGNORE_INDEX, pack, unpacked, type Batch, type PreparedExample, type TextTokenizer } from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
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

/** The micro-batches of one epoch of a run. */
export function batchesOf(run: PreparedRun, epoch: number): Batch[] {
  const c = run.config;
  return epochBatches(run.train, epoch, { batchSize: c.batch_size, maxLength: c.max_length, packing: c.packing, padId: padIdOf(run.tokenizer), seed: c.seed, smallestBucket: run.smallestBucket });
}

/** Graph feeds of a batch: ids, positions, segments, and the labels shifted into next-token targets. */
export function batchFeeds(batch: Batch): Record<string, TypedArray> {
  const { batchSize: B, seqLen: S } = batch;
  const targets = new BigInt64Array(B * S).fill(BigInt(IGNORE_INDEX));
  for (let b = 0; b < B; b++) {
    for (let i = 0; i + 1 < S; i++) {
      const label = batch.labels[b * S + i + 1]!;
      if (label !== IGNORE_INDEX) targets[b * S + i] = BigInt(label);
    }
  }
  return {
    [stepNames.inputIds]: BigInt64Array.from(batch.inputIds, BigInt),
    [stepNames.positionIds]: BigInt64Array.from(batch.positionIds, BigInt),
    [stepNames.segmentIds]: BigInt64Array.from(batch.segmentIds, BigInt),
    [stepNames.targets]: targets,
  };
}
