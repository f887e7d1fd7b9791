// A dataset held in memory (a File's bytes in a browser): its records, its problems in the CLI's words
// (file:line:column: field: message, from @neural/dataset), the texts a tokenizer learns from, and the batches and
// graph feeds of an epoch.
import {
  batches,
  epochOrder,
  formatIssue,
  IGNORE_INDEX,
  pack,
  readRecords,
  toExample,
  unpacked,
  validateRecords,
  type Batch,
  type PreparedExample,
  type ReadEvent,
  type ValidateOptions,
  type ValidationReport,
} from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import { stepNames } from "@neural/lora-trainer";

/** Bytes of a dataset, or a stream of them (e.g. `file.stream()`), and the name used in messages. */
export interface DatasetInput {
  name: string;
  bytes?: Uint8Array;
  chunks?: AsyncIterable<Uint8Array>;
}

/** Every record of a dataset, read once (parse errors included, as issues with their line). */
export async function readDataset(input: DatasetInput): Promise<ReadEvent[]> {
  const chunks: AsyncIterable<Uint8Array> =
    input.chunks ??
    (async function* () {
      if (input.bytes) yield input.bytes;
    })();
  const events: ReadEvent[] = [];
  for await (const event of readRecords(chunks, { file: input.name })) events.push(event);
  return events;
}

/**
 * The report `neural validate` prints for this dataset (formats, errors with file:line:column, duplicates, lengths,
 * category balance), from the same @neural/dataset checks.
 */
export function validateDataset(events: readonly ReadEvent[], file: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  return validateRecords(
    (async function* () {
      yield* events;
    })(),
    file,
    options,
  );
}

export { formatIssue };

/** What a new tokenizer learns from: the ChatML role names, then every turn and every plain text. */
export function* tokenizerTexts(events: readonly ReadEvent[], file: string): Generator<string> {
  yield "system\nuser\nassistant\n";
  for (const event of events) {
    if (event.issue) continue;
    const converted = toExample(event.value, file, event.line);
    if (!("example" in converted)) continue;
    const e = converted.example;
    if (e.kind === "text") yield e.text;
    else for (const m of e.messages) yield m.content;
  }
}

/** Shape buckets: powers of two from 32, and max_length itself (few shapes, so few sessions). */
export function shapeBuckets(maxLength: number): number[] {
  const out: number[] = [];
  for (let n = 32; n < maxLength; n *= 2) out.push(n);
  out.push(maxLength);
  return out;
}

export interface BatchSettings {
  batchSize: number;
  maxLength: number;
  packing: boolean;
  padId: number;
  seed: number;
}

/** The batches of one epoch, in the epoch's seeded order. */
export function epochBatches(examples: readonly PreparedExample[], epoch: number, s: BatchSettings): Batch[] {
  const order = epochOrder(examples.length, s.seed, epoch).map((i) => examples[i]!.encoded);
  const sequences = s.packing ? pack(order, s.maxLength) : unpacked(order);
  return batches(sequences, { batchSize: s.batchSize, padId: s.padId, buckets: shapeBuckets(s.maxLength) });
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

/** Tokens a batch learns: labels not at a row's first position (those are never predicted). */
export function learnedTargets(batch: Batch): number {
  let n = 0;
  for (let i = 0; i < batch.labels.length; i++) if (batch.labels[i] !== IGNORE_INDEX && i % batch.seqLen !== 0) n++;
  return n;
}
