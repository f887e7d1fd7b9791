import { createReadStream, promises as fs } from "node:fs";
import { DatasetError } from "./errors.js";
import { readRecords, type ReadEvent, type ReadOptions } from "./read.js";
import { toExample } from "./formats.js";
import { validateRecords, type ValidateOptions, type ValidationReport } from "./validate.js";
import { prepareDataset, type PrepareOptions, type PreparedDataset } from "./prepare.js";

/** Streams the records of a JSONL or JSON-array file (Node only). Throws DatasetError if the file can't be opened. */
export async function* readRecordsFromFile(path: string, options: Omit<ReadOptions, "file"> = {}): AsyncGenerator<ReadEvent> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch (error) {
    throw new DatasetError((error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : `cannot read: ${(error as Error).message}`, path);
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

/**
 * The texts a tokenizer should learn from a dataset file: every turn's content, plain-text records, and the ChatML
 * role names (so template words tokenize compactly). Bad records are skipped (validate reports them).
 */
export async function* datasetTexts(path: string): AsyncGenerator<string> {
  yield "system\nuser\nassistant\n";
  for await (const event of readRecordsFromFile(path)) {
    if (event.issue) continue;
    const converted = toExample(event.value, path, event.line);
    if (!("example" in converted)) continue;
    const e = converted.example;
    if (e.kind === "text") yield e.text;
    else for (const m of e.messages) yield m.content;
  }
}
