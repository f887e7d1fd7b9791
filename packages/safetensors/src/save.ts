// Node helpers that write safetensors files to disk (temp file + rename).
import { mkdir, writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { DTYPE_BYTES } from "./dtype.js";
import { openFileSink } from "./node.js";
import { writeSafetensors, type TensorToWrite, type WriteOptions } from "./writer.js";

/** Writes one safetensors file; the file appears only once complete. */
export async function saveSafetensors(path: string, tensors: readonly TensorToWrite[], options: WriteOptions = {}): Promise<void> {
  await writeSafetensors(await openFileSink(path), tensors, options);
}

export interface ShardOptions extends WriteOptions {
  /** Upper bound of tensor bytes per shard (a single larger tensor gets a shard of its own). */
  maxShardBytes: number;
  /** File name stem: `${prefix}-00001-of-00003.safetensors` and `${prefix}.safetensors.index.json`. Default "model". */
  prefix?: string;
}

/**
 * Writes a sharded checkpoint as Hugging Face does: numbered shards plus `model.safetensors.index.json`
 * (weight_map and metadata.total_size). Returns the shard file names.
 */
export async function saveShardedSafetensors(dir: string, tensors: readonly TensorToWrite[], options: ShardOptions): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const prefix = options.prefix ?? "model";
  const groups: TensorToWrite[][] = [];
  let current: TensorToWrite[] = [];
  let bytes = 0;
  let total = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    total += size;
    if (current.length && bytes + size > options.maxShardBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += size;
  }
  if (current.length || !groups.length) groups.push(current);
  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, "0");
  const names = groups.map((_, i) => `${prefix}-${pad(i + 1)}-of-${pad(n)}.safetensors`);
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    for (const t of groups[i]!) weightMap[t.name] = names[i]!;
    await saveSafetensors(join(dir, names[i]!), groups[i]!, { metadata: options.metadata ?? { format: "pt" } });
  }
  const indexPath = join(dir, `${prefix}.safetensors.index.json`);
  const temp = `${indexPath}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  await rename(temp, indexPath);
  return names;
}
