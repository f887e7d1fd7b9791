// A Hugging Face model folder given as Blobs (the files of a folder dropped on a page): config.json, the tokenizer,
// and model.safetensors (or shards listed by model.safetensors.index.json), read lazily by byte range.
import { SafetensorsFile, type ByteSource } from "@neural/safetensors";
import { checkpointSource } from "@neural/lora-trainer";
import type { BaseModel } from "./train.js";
import { WebTrainerError } from "./runtime.js";

/** A Blob (or File) as a random-access byte source. */
export function blobSource(blob: Blob, name: string): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > blob.size)
        throw new RangeError(`${name}: read of ${length} bytes at ${offset} is past the end (${blob.size} bytes)`);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async close() {},
  };
}

/** The folder's files by name (relative to the folder: "config.json", "model.safetensors", ...). */
export type HfFolderFiles = ReadonlyMap<string, Blob>;

async function readJson(files: HfFolderFiles, folder: string, name: string, required: true): Promise<Record<string, unknown>>;
async function readJson(files: HfFolderFiles, folder: string, name: string, required: false): Promise<Record<string, unknown> | undefined>;
async function readJson(
  files: HfFolderFiles,
  folder: string,
  name: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  const blob = files.get(name);
  if (!blob) {
    if (required)
      throw new WebTrainerError(
        `${folder}/${name}: not found (a Hugging Face model folder has config.json, tokenizer.json and model.safetensors)`,
      );
    return undefined;
  }
  try {
    return JSON.parse(await blob.text()) as Record<string, unknown>;
  } catch (error) {
    throw new WebTrainerError(`${folder}/${name}: not valid JSON: ${(error as Error).message}`);
  }
}

/** Opens a model folder held as Blobs: LoRA can then train on it (trainInMemory's `base`). */
export async function hfFolder(folder: string, files: HfFolderFiles): Promise<BaseModel> {
  if (files.has("adapter_config.json")) throw new WebTrainerError(`${folder}: this is a LoRA adapter, not a model`);
  const config = await readJson(files, folder, "config.json", true);
  const tokenizer = await readJson(files, folder, "tokenizer.json", true);
  const tokenizerConfig = (await readJson(files, folder, "tokenizer_config.json", false)) ?? {};
  const index = await readJson(files, folder, "model.safetensors.index.json", false);
  const shardNames = index
    ? [...new Set(Object.values((index.weight_map ?? {}) as Record<string, string>))]
    : files.has("model.safetensors")
      ? ["model.safetensors"]
      : [];
  if (shardNames.length === 0) throw new WebTrainerError(`${folder}: no model.safetensors (or model.safetensors.index.json)`);
  const byTensor = new Map<string, SafetensorsFile>();
  for (const shard of shardNames) {
    const blob = files.get(shard);
    if (!blob) throw new WebTrainerError(`${folder}/${shard}: not found (listed by model.safetensors.index.json)`);
    const file = await SafetensorsFile.fromSource(blobSource(blob, `${folder}/${shard}`));
    for (const name of file.names) byTensor.set(name, file);
  }
  const weights = checkpointSource({
    names: [...byTensor.keys()],
    info: (name) => byTensor.get(name)!.info(name),
    readFloat32: (name) => byTensor.get(name)!.readFloat32(name),
  });
  return { name: folder, config, weights, tokenizer: { tokenizer, config: tokenizerConfig } };
}
