// A Hugging Face checkpoint on disk: one `model.safetensors`, or shards listed in `model.safetensors.index.json`.
import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { openFileSource } from "./node.js";
import { SafetensorsError, SafetensorsFile, type RowRange, type TensorInfo, type TensorReader } from "./reader.js";

/** Opens one safetensors file (header only). */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const source = await openFileSource(path).catch((error: NodeJS.ErrnoException) => {
    throw new SafetensorsError(`cannot open: ${error.code ?? error.message}`, path);
  });
  try {
    return await SafetensorsFile.fromSource(source);
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Several safetensors files seen as one; tensor names must be unique across them. */
export class ShardedCheckpoint implements TensorReader {
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  private constructor(
    private readonly shards: readonly SafetensorsFile[],
    private readonly owner: ReadonlyMap<string, SafetensorsFile>,
    metadata: Record<string, string>,
    /** The index file, or the single file, for error messages. */
    readonly file: string,
  ) {
    this.names = [...owner.keys()];
    this.metadata = metadata;
  }

  static async open(
    files: readonly string[],
    indexFile?: string,
    weightMap?: Readonly<Record<string, string>>,
  ): Promise<ShardedCheckpoint> {
    const shards: SafetensorsFile[] = [];
    const owner = new Map<string, SafetensorsFile>();
    try {
      for (const f of files) shards.push(await openSafetensors(f));
      for (const shard of shards) {
        for (const name of shard.names) {
          const other = owner.get(name);
          if (other) throw new SafetensorsError(`tensor is in both ${other.file} and ${shard.file}`, shard.file, name);
          owner.set(name, shard);
        }
      }
      if (weightMap && indexFile) {
        for (const [name, shardName] of Object.entries(weightMap)) {
          const shard = owner.get(name);
          if (!shard) throw new SafetensorsError(`weight_map lists the tensor but ${shardName} does not contain it`, indexFile, name);
          if (basename(shard.file) !== shardName)
            throw new SafetensorsError(`weight_map says ${shardName} but the tensor is in ${basename(shard.file)}`, indexFile, name);
        }
      }
    } catch (error) {
      await Promise.all(shards.map((s) => s.close().catch(() => {})));
      throw error;
    }
    return new ShardedCheckpoint(shards, owner, shards.length === 1 ? { ...shards[0]!.metadata } : {}, indexFile ?? files[0] ?? "<empty>");
  }

  has(name: string): boolean {
    return this.owner.has(name);
  }
  private shard(name: string): SafetensorsFile {
    const shard = this.owner.get(name);
    if (!shard) throw new SafetensorsError("no such tensor", this.file, name);
    return shard;
  }
  info(name: string): TensorInfo {
    return this.shard(name).info(name);
  }
  readFloat32(name: string, rows?: RowRange): Promise<Float32Array> {
    return this.shard(name).readFloat32(name, rows);
  }
  readBytes(name: string): Promise<Uint8Array> {
    return this.shard(name).readBytes(name);
  }
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

const SHARD_NAME = /^[^/\\]+\.safetensors$/;

/**
 * Opens the weights of a model directory: `model.safetensors.index.json` (sharded) if present, else
 * `model.safetensors`, else the only `*.safetensors` file. A path to a `.safetensors` or `.index.json` file works too.
 */
export async function openCheckpoint(path: string, options: { indexName?: string; fileName?: string } = {}): Promise<ShardedCheckpoint> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new SafetensorsError("no such file or directory", path);
  if (info.isFile()) {
    if (path.endsWith(".json")) return openIndex(path);
    return ShardedCheckpoint.open([path]);
  }
  const indexName = options.indexName ?? "model.safetensors.index.json";
  const fileName = options.fileName ?? "model.safetensors";
  const index = join(path, indexName);
  if (await isFile(index)) return openIndex(index);
  const single = join(path, fileName);
  if (await isFile(single)) return ShardedCheckpoint.open([single]);
  const { readdir } = await import("node:fs/promises");
  const candidates = (await readdir(path)).filter((f) => f.endsWith(".safetensors")).sort();
  if (candidates.length === 1) return ShardedCheckpoint.open([join(path, candidates[0]!)]);
  throw new SafetensorsError(
    candidates.length ? `several .safetensors files and no ${indexName}: ${candidates.join(", ")}` : `no ${fileName} or ${indexName}`,
    path,
  );
}

async function openIndex(indexPath: string): Promise<ShardedCheckpoint> {
  const text = await readFile(indexPath, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new SafetensorsError(`cannot read: ${error.code ?? error.message}`, indexPath);
  });
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(`not valid JSON: ${(error as Error).message}`, indexPath);
  }
  const weightMap = (index as { weight_map?: unknown })?.weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new SafetensorsError("weight_map is missing or not an object", indexPath, "weight_map");
  }
  const shardNames = new Set<string>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    // A hostile index could point outside the directory: only plain file names are accepted.
    if (typeof shard !== "string" || !SHARD_NAME.test(shard) || shard === "." || shard === "..") {
      throw new SafetensorsError(`shard name ${JSON.stringify(shard)} is not a plain .safetensors file name`, indexPath, name);
    }
    shardNames.add(shard);
  }
  const dir = join(indexPath, "..");
  const files = [...shardNames].sort().map((s) => join(dir, s));
  return ShardedCheckpoint.open(files, indexPath, weightMap as Record<string, string>);
}

async function isFile(path: string): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  return Boolean(s?.isFile());
}
