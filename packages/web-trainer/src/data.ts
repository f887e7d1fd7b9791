// A dataset held in memory (a File's bytes in a browser): its records, its problems in the CLI's words
// (file:line:column: field: message, from @neural/dataset).
import { formatIssue, readRecords, validateRecords, type ReadEvent, type ValidateOptions, type ValidationReport } from "@neural/dataset";

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
