import { IGNORE_INDEX, type EncodedExample } from "./encode.js";

/**
 * One training sequence: one or more examples laid end to end. Positions restart at 0 for each example and
 * `segmentIds` numbers the examples 1, 2, ... (0 is padding), so attention can be kept inside each example.
 */
export interface Sequence {
  inputIds: Int32Array;
  labels: Int32Array;
  positionIds: Int32Array;
  segmentIds: Int32Array;
}

/** A batch with static shape [batchSize, seqLen], row-major. Padding: id `padId`, label -100, position 0, segment 0. */
export interface Batch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  labels: Int32Array;
  positionIds: Int32Array;
  segmentIds: Int32Array;
  /** Non-padding tokens. */
  tokens: number;
  /** Tokens the loss learns: labelled tokens after a row's first position (nothing predicts a row's first token). */
  learnedTokens: number;
}

/** Each example in its own sequence. */
export function unpacked(examples: readonly EncodedExample[]): Sequence[] {
  return examples.map((e) => concatenate([e]));
}

/**
 * Packs examples into sequences of at most `maxLength` tokens by best-fit decreasing: longest first, each into the
 * fullest sequence it still fits. Ties keep the given order, so shuffling the input varies the packing per epoch.
 */
export function pack(examples: readonly EncodedExample[], maxLength: number): Sequence[] {
  const order = examples.map((_, i) => i);
  order.sort((a, b) => examples[b]!.inputIds.length - examples[a]!.inputIds.length || a - b);
  const bins: number[][] = [];
  // byRemaining[r]: bins with exactly r free slots
  const byRemaining: number[][] = Array.from({ length: maxLength + 1 }, () => []);
  for (const index of order) {
    const length = examples[index]!.inputIds.length;
    if (length > maxLength) throw new RangeError(`example of ${length} tokens does not fit maxLength ${maxLength}`);
    let bin: number | undefined;
    let remaining = length;
    for (; remaining <= maxLength; remaining++) {
      bin = byRemaining[remaining]!.pop();
      if (bin !== undefined) break;
    }
    if (bin === undefined) {
      bin = bins.length;
      bins.push([]);
      remaining = maxLength;
    }
    bins[bin]!.push(index);
    byRemaining[remaining - length]!.push(bin);
  }
  return bins.map((members) => concatenate(members.map((i) => examples[i]!)));
}

function concatenate(members: readonly EncodedExample[]): Sequence {
  const length = members.reduce((sum, e) => sum + e.inputIds.length, 0);
  const sequence: Sequence = {
    inputIds: new Int32Array(length),
    labels: new Int32Array(length),
    positionIds: new Int32Array(length),
    segmentIds: new Int32Array(length),
  };
  let offset = 0;
  members.forEach((e, k) => {
    sequence.inputIds.set(e.inputIds, offset);
    sequence.labels.set(e.labels, offset);
    for (let p = 0; p < e.inputIds.length; p++) {
      sequence.positionIds[offset + p] = p;
      sequence.segmentIds[offset + p] = k + 1;
    }
    // The first token of a packed example must not be predicted from the previous example's last token.
    sequence.labels[offset] = IGNORE_INDEX;
    offset += e.inputIds.length;
  });
  return sequence;
}

export interface BatchOptions {
  batchSize: number;
  padId: number;
  /**
   * Allowed sequence lengths (shape buckets), ascending. A batch gets the smallest bucket that holds its longest
   * sequence. Default: the longest sequence in the batch rounded up to a multiple of 64.
   */
  buckets?: readonly number[];
}

/** Groups sequences, in order, into padded batches. The last batch is filled with all-padding rows. */
export function batches(sequences: readonly Sequence[], options: BatchOptions): Batch[] {
  const out: Batch[] = [];
  for (let start = 0; start < sequences.length; start += options.batchSize) {
    out.push(toBatch(sequences.slice(start, start + options.batchSize), options));
  }
  return out;
}

export function toBatch(rows: readonly Sequence[], options: BatchOptions): Batch {
  const { batchSize, padId } = options;
  const longest = rows.reduce((max, r) => Math.max(max, r.inputIds.length), 1);
  const seqLen = options.buckets ? options.buckets.find((b) => b >= longest) : Math.ceil(longest / 64) * 64;
  if (seqLen === undefined)
    throw new RangeError(`no shape bucket holds a sequence of ${longest} tokens (buckets ${options.buckets!.join(", ")})`);
  const size = batchSize * seqLen;
  const batch: Batch = {
    batchSize,
    seqLen,
    inputIds: new Int32Array(size).fill(padId),
    labels: new Int32Array(size).fill(IGNORE_INDEX),
    positionIds: new Int32Array(size),
    segmentIds: new Int32Array(size),
    tokens: 0,
    learnedTokens: 0,
  };
  rows.forEach((row, r) => {
    const offset = r * seqLen;
    batch.inputIds.set(row.inputIds, offset);
    batch.labels.set(row.labels, offset);
    batch.positionIds.set(row.positionIds, offset);
    batch.segmentIds.set(row.segmentIds, offset);
    batch.tokens += row.inputIds.length;
    for (let i = 1; i < row.labels.length; i++) if (row.labels[i] !== IGNORE_INDEX) batch.learnedTokens++;
  });
  return batch;
}

/**
 * The attention rule the trainer builds from segment ids, for one row: query i may attend to key j iff j <= i and
 * both are in the same segment (padding, segment 0, only sees padding, so no row is empty).
 */
export function attentionMask(segmentIds: ArrayLike<number>): Uint8Array {
  const n = segmentIds.length;
  const mask = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) if (segmentIds[i] === segmentIds[j]) mask[i * n + j] = 1;
  return mask;
}

/** Share of batch slots that hold real tokens. */
export function packingEfficiency(all: readonly Batch[]): number {
  let used = 0;
  let slots = 0;
  for (const b of all) {
    used += b.tokens;
    slots += b.batchSize * b.seqLen;
  }
  return slots === 0 ? 0 : used / slots;
}

/**
 * Packs a stream of examples in constant memory: best-fit decreasing within windows of `window` examples.
 * For datasets too large to hold; `pack` over a whole epoch packs a little tighter.
 */
export async function* packStream(
  examples: AsyncIterable<EncodedExample> | Iterable<EncodedExample>,
  maxLength: number,
  window = 2048,
): AsyncGenerator<Sequence> {
  let buffer: EncodedExample[] = [];
  for await (const example of examples) {
    buffer.push(example);
    if (buffer.length >= window) {
      yield* pack(buffer, maxLength);
      buffer = [];
    }
  }
  if (buffer.length) yield* pack(buffer, maxLength);
}
