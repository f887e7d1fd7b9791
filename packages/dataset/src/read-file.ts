import { createReadStream, promises as fs } from "node:fs";
import { DatasetError } from "./errors.js";
import { readRecords, type ReadEvent, type ReadOptions } from "./read.js";
import { exampleTexts } from "./formats.js";
import { validateRecords, type ValidateOptions, type ValidationReport } from "./validate.js";
import { prepareDataset, type PrepareOptions, type PreparedDataset } from "./prepare.js";

/** Streams the records of a JSONL or JSON-array file (Node only). Throws DatasetError if the file can't be opened. */
export async function* readRecordsFromFile(path: string, options: Omit<ReadOptions, "file"> = {}): AsyncGenerator<ReadEvent> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (error) {
    throw new DatasetError(
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : `cannot read: ${(error as Error).message}`,
      path,
    );
  }
  if (stat.isDirectory()) throw new DatasetError("is a directory, expected a .jsonl or .json file", path);
  yield* readRecords(createReadStream(path, { highWaterMark: 1 << 20 }), { ...options, file: path });
}

/** Validates a dataset file (Node only). See validateRecords. */
export async function validateFile(path: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  return validateRecords(readRecordsFromFile(path), path, options);
}

/** Reads, tokenizes and splits a dataset file (Node only). See prepareDataset. */
export async function prepareDatasetFile(path: string, options: PrepareOptions): Promise<PreparedDataset> {
  return prepareDataset(readRecordsFromFile(path), path, options);
}

/** The texts a tokenizer should learn from a dataset file (see exampleTexts). */
export function datasetTexts(path: string): AsyncGenerator<string> {
  return exampleTexts(readRecordsFromFile(path), path);
}
