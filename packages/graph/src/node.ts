// Node.js adapter: onnxruntime-node sessions, writing a model and its external data to disk, and conversions
// between typed arrays and ORT tensors. The core (index.ts) imports nothing from node: so it also runs in browsers.

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { DType, TypedArray } from "./dtype.js";
import type { Graph } from "./graph.js";
import { type SerializeOptions, type SerializedModel, serialize } from "./onnx.js";
import { type CreatedSession, type FallbackOptions, createSessionWithFallback } from "./session.js";

export type { CreatedSession, FallbackOptions } from "./session.js";

/**
 * Create an onnxruntime-node InferenceSession from model bytes or a model file path, trying the execution providers
 * in order (default ["cpu"]). Load models with external data by path (`saveModel` first).
 */
export function createSession(model: Uint8Array | string, options: FallbackOptions = {}): Promise<CreatedSession<ort.InferenceSession>> {
  return createSessionWithFallback(ort.InferenceSession, model, options);
}

/** Write `model.model` to `path` and its external data (if any) next to it. Weights are written one at a time. */
export async function saveModel(path: string, model: SerializedModel): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, model.model);
  if (model.externalLocation) await writeExternal(join(dirname(path), model.externalLocation), "w", model.external);
}

/** Write external data chunks at their offsets, one at a time. */
async function writeExternal(file: string, flags: "w" | "r+", chunks: SerializedModel["external"]): Promise<void> {
  const fd = openSync(file, flags);
  try {
    for (const chunk of chunks) {
      const bytes = await chunk.data();
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, chunk.offset + done);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * One external data file shared by the models saved through it (all in one directory): each weight is written once,
 * at the first save of a model that uses it; later models reference the same bytes. Training writes its step, eval
 * and decode graphs this way, so the frozen base weights exist once on disk (and ORT maps one file).
 * Weights are matched by name, dtype and shape.
 */
export class SharedWeights {
  private readonly placed = new Map<string, { offset: number; length: number }>();
  private size = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly fileName = "weights.bin",
  ) {}

  /** Bytes in the shared data file so far. */
  get bytes(): number {
    return this.size;
  }

  /** How many distinct weights the file holds. */
  get count(): number {
    return this.placed.size;
  }

  /** Where each weight is in the file (by externalKey), to reference it from models serialized elsewhere. */
  get placement(): ReadonlyMap<string, { offset: number; length: number }> {
    return this.placed;
  }

  /** Serialize `graph` to dir/modelFile, appending the weights the file does not hold yet; returns the model path. */
  save(
    graph: Graph,
    modelFile: string,
    options: Omit<SerializeOptions, "externalData"> & { threshold?: number; align?: number } = {},
  ): Promise<string> {
    const run = this.queue.then(() => this.write(graph, modelFile, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(
    graph: Graph,
    modelFile: string,
    options: Omit<SerializeOptions, "externalData"> & { threshold?: number; align?: number },
  ): Promise<string> {
    const { threshold, align, ...rest } = options;
    const serialized = serialize(graph, {
      ...rest,
      externalData: {
        location: this.fileName,
        baseOffset: this.size,
        placed: this.placed,
        ...(threshold !== undefined ? { threshold } : {}),
        ...(align !== undefined ? { align } : {}),
      },
    });
    mkdirSync(this.dir, { recursive: true });
    await writeExternal(join(this.dir, this.fileName), this.size === 0 ? "w" : "r+", serialized.external);
    for (const chunk of serialized.external)
      if (chunk.key !== undefined) this.placed.set(chunk.key, { offset: chunk.offset, length: chunk.length });
    this.size = Math.max(this.size, serialized.externalSize);
    const path = join(this.dir, modelFile);
    writeFileSync(path, serialized.model);
    return path;
  }
}

/** Serialize with external data into `dir` (model.onnx + model.onnx.data) and return the model path. */
export async function saveGraph(graph: Graph, dir: string, options: SerializeOptions & { fileName?: string } = {}): Promise<string> {
  const fileName = options.fileName ?? "model.onnx";
  const serialized = serialize(graph, { externalData: { location: `${fileName}.data` }, ...options });
  const path = join(dir, fileName);
  await saveModel(path, serialized);
  return path;
}

/** An ORT tensor over a typed array. */
export function toOrt(dtype: DType, shape: readonly number[], data: TypedArray): ort.Tensor {
  return new ort.Tensor(dtype as any, data as any, shape as number[]);
}

export type Feeds = Record<string, ort.Tensor>;

/** Build, serialize (inline weights), run once and return every output's data: for tests and small graphs. */
export async function runGraph(
  graph: Graph,
  feeds: Record<string, TypedArray>,
  options: FallbackOptions = {},
): Promise<Record<string, TypedArray>> {
  const { session } = await createSession(serialize(graph).model, { intraOpNumThreads: 1, ...options });
  try {
    const ortFeeds: Feeds = {};
    for (const t of graph.inputs) {
      const name = t.name;
      const data = feeds[name];
      if (!data) throw new Error(`runGraph: no feed for input ${name}`);
      ortFeeds[name] = toOrt(t.dtype, t.shape, data);
    }
    const out = await session.run(ortFeeds);
    const result: Record<string, TypedArray> = {};
    for (const [k, v] of Object.entries(out)) result[k] = (v as ort.Tensor).data as TypedArray;
    return result;
  } finally {
    await session.release();
  }
}
