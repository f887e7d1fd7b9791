// Node helpers: open a GGUF file for reading, write one through a temp file renamed on completion.
import { openFileSink, openFileSource } from "@neural/safetensors";
import { GgufError, GgufReader } from "./reader.js";
import { writeGguf, type GgufLayout, type GgufTensorInput } from "./writer.js";
import type { GgufValue } from "./types.js";

/** Opens a GGUF file and parses (and validates) its header. Close it when done. */
export async function openGguf(path: string): Promise<GgufReader> {
  const source = await openFileSource(path).catch((error: NodeJS.ErrnoException) => {
    throw new GgufError(`cannot open: ${error.code ?? error.message}`, path);
  });
  try {
    return await GgufReader.open(source);
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Writes a GGUF file; it appears under `path` only once complete. */
export async function writeGgufFile(
  path: string,
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorInput[],
): Promise<GgufLayout> {
  return writeGguf(await openFileSink(path), metadata, tensors);
}
