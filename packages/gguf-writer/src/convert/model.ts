// The browser-safe half of the converter (no node: imports): plan the GGUF tensors of a Hugging Face model held
// anywhere (files, memory, a browser's File objects), choose their types, write the metadata and stream the tensors
// into any ByteSink. convert.ts opens model directories on disk and calls convertModel.
import { parseHfConfig, type ModelConfig } from "@neural/hf-config";
import type { ByteSink, TensorReader } from "@neural/safetensors";
import { GgufStreamWriter, type GgufTensorSpec } from "../writer.js";
import { GGML_TYPES, gv, tensorBytes, type GgmlTypeName, type GgufValue } from "../types.js";
import { archInfo, archMetadata, llama3RopeFactors, mapTensorName, permuteRows, requiredTensors, type ArchInfo } from "./arch.js";
import { encodeRows, quantizeMixPolicy } from "./encode.js";
import { NonFiniteWeightError } from "@neural/quantize";
import { GgufConvertError, NonFiniteTensorError } from "./errors.js";
import { FILE_TYPE_OF, floatTensorType, isFloatOutType, type OutType, type TensorTypeQuery } from "./types-policy.js";
import { modelName, nameWarnings } from "./name.js";
import { buildVocab } from "./vocab.js";

export interface ConvertProgress {
  tensor: string;
  index: number;
  total: number;
  bytesWritten: number;
  totalBytes: number;
}

/** Chooses the ggml type of every tensor for a quantized mix (llama-quantize's policy, from @neural/quantize). */
export type MixPolicy = (
  mix: OutType,
  tensors: readonly TensorTypeQuery[],
  model: { arch: string; nLayer: number; nHead: number; nHeadKv: number },
) => GgmlTypeName[];

/** How to convert (everything but where the model and the output are). */
export interface ModelConvertOptions {
  /** Default F16. */
  outType?: OutType;
  /** general.name (default: from config.json's `_name_or_path`, else the family's canonical name; see name.ts). */
  name?: string;
  /** Override llama.cpp's pre-tokenizer name for byte-level BPE tokenizers. */
  pre?: string;
  /** The type policy of quantized mixes; default: @neural/quantize's llama-quantize policy. */
  mixPolicy?: MixPolicy;
  /** Values per chunk read, encoded and written at once (default 2 Mi). */
  chunkElements?: number;
  onProgress?: (p: ConvertProgress) => void;
  /** Quantize on worker threads (e.g. `new QuantizePool()` from @neural/quantize/parallel). */
  pool?: RowQuantizer;
  /** Filled in with the stream's stage times when given. */
  stats?: StreamStats;
  /** Write weights that are NaN, infinite or too large for their type as they come (default: NonFiniteTensorError). */
  allowNonFinite?: boolean;
  /** Extra metadata appended after the generated keys (same key: replaced). */
  metadata?: ReadonlyArray<readonly [string, GgufValue]>;
  /** TEST ONLY: leave out the q/k permutation, producing a file that loads but computes the wrong thing. */
  skipQkPermutation?: boolean;
}

export interface ConvertedTensor {
  name: string;
  type: GgmlTypeName;
  ne: number[];
  bytes: number;
}

export interface ConvertResult {
  output: string;
  arch: string;
  outType: OutType;
  tensors: ConvertedTensor[];
  fileSize: number;
  /** general.name as written. */
  name: string;
  /** Things llama.cpp will do differently from the model's own files (e.g. a name that turns off a tokenizer rule). */
  warnings: string[];
}

/** One GGUF tensor to produce: where its rows come from and how. */
export interface PlannedTensor extends GgufTensorSpec {
  /** Rows x cols view of the data (1-D: 1 x n). */
  rows: number;
  cols: number;
  /** Chunks must hold a multiple of this many rows (head_dim for permuted tensors). */
  rowGroup: number;
  /** Produces rows [start, start + count) as float32, transformed, in a new array the caller may hand over. */
  read(start: number, count: number): Promise<Float32Array>;
  /** The file and tensor the rows come from, for messages (none for generated tensors such as rope_freqs). */
  source?: { file: string; tensor: string };
}

export interface HfModel {
  dir: string;
  /** config.json as read. */
  config: Record<string, any>;
  /** config.json parsed (@neural/hf-config). */
  model: ModelConfig;
  info: ArchInfo;
  checkpoint: TensorReader;
  tokenizer?: Record<string, any>;
  tokenizerConfig?: Record<string, any>;
  chatTemplateFile?: string;
}

/** `file` inside `dir`, for messages (no node:path here). */
const inDir = (dir: string, file: string): string => (dir ? `${dir.replace(/[\\/]+$/, "")}/${file}` : file);

/** A HF model from its parsed files (config.json, tokenizer.json, tokenizer_config.json) and its weights. */
export function hfModel(parts: {
  /** Where it came from (a directory, or a label): names files in errors. */
  dir: string;
  config: Record<string, any>;
  checkpoint: TensorReader;
  tokenizer?: Record<string, any>;
  tokenizerConfig?: Record<string, any>;
  chatTemplateFile?: string;
}): HfModel {
  const model = parseHfConfig(parts.config, inDir(parts.dir, "config.json"));
  return { ...parts, model, info: archInfo(model) };
}

/** Sort key: token_embd, rope_freqs, blocks in order, then output_norm and output (the converter's order). */
function orderKey(name: string): [number, number, string] {
  const m = /^blk\.(\d+)\./.exec(name);
  if (m) return [1, Number(m[1]), name];
  if (name === "output_norm.weight") return [2, 0, name];
  if (name === "output.weight") return [3, 0, name];
  return [0, name === "token_embd.weight" ? 0 : 1, name];
}

/** Plans every GGUF tensor of a HF model (names, shapes, row sources); types are assigned by the caller. */
export function planTensors(model: HfModel, options: { skipQkPermutation?: boolean } = {}): Array<Omit<PlannedTensor, "type">> {
  const { info, model: hp, checkpoint } = model;
  const planned: Array<Omit<PlannedTensor, "type">> = [];
  const file = model.dir;
  const factors = info.arch === "llama" ? llama3RopeFactors(hp) : undefined;
  if (factors) {
    planned.push({
      name: "rope_freqs.weight",
      ne: [factors.length],
      rows: 1,
      cols: factors.length,
      rowGroup: 1,
      read: async () => factors.slice(),
    });
  }
  for (const hfName of checkpoint.names) {
    const mapping = mapTensorName(hfName, info, hp, file);
    if (!mapping) continue;
    const tinfo = checkpoint.info(hfName);
    const shape = tinfo.shape;
    if (shape.length < 1 || shape.length > 2)
      throw new GgufConvertError(`unexpected ${shape.length}-D shape [${shape.join(", ")}]`, file, hfName);
    if (mapping.name === "token_embd.weight" && shape[0] !== hp.vocabSize) {
      throw new GgufConvertError(`embedding has ${shape[0]} rows but vocab_size is ${hp.vocabSize}`, file, hfName);
    }
    const rows = shape.length === 2 ? shape[0]! : 1;
    const cols = shape.length === 2 ? shape[1]! : shape[0]!;
    const heads = options.skipQkPermutation ? undefined : mapping.permuteHeads;
    const hd = hp.headDim;
    if (heads !== undefined) {
      const n = shape[0]!;
      if (n !== heads * hd) throw new GgufConvertError(`${n} rows are not ${heads} heads of ${hd}`, file, hfName);
    }
    let read: PlannedTensor["read"];
    if (heads !== undefined && shape.length === 1) {
      // A q/k bias: permute its elements like rows.
      read = async () => permuteRows(await checkpoint.readFloat32(hfName), shape[0]!, 1, hd);
    } else if (heads !== undefined) {
      read = async (start, count) => permuteRows(await checkpoint.readFloat32(hfName, { start, count }), count, cols, hd);
    } else if (shape.length === 2) {
      read = (start, count) => checkpoint.readFloat32(hfName, { start, count });
    } else if (mapping.shift) {
      const shift = mapping.shift;
      read = async () => (await checkpoint.readFloat32(hfName)).map((v) => v + shift);
    } else {
      read = () => checkpoint.readFloat32(hfName);
    }
    planned.push({
      name: mapping.name,
      ne: shape.length === 2 ? [cols, rows] : [cols],
      rows,
      cols,
      rowGroup: heads !== undefined && shape.length === 2 ? hd : 1,
      read,
      source: { file: tinfo.file, tensor: hfName },
    });
  }
  const have = new Set(planned.map((p) => p.name));
  for (const dup of planned.map((p) => p.name).filter((n, i, a) => a.indexOf(n) !== i)) {
    throw new GgufConvertError("two HF tensors map to the same GGUF tensor", file, dup);
  }
  for (const req of requiredTensors(info, hp)) {
    if (!have.has(req)) throw new GgufConvertError(`the checkpoint lacks the tensor that becomes ${req}`, file, req);
  }
  if (!hp.tieEmbeddings && !have.has("output.weight"))
    throw new GgufConvertError("no lm_head.weight and tie_word_embeddings is not true", file, "lm_head.weight");
  planned.sort((a, b) => {
    const ka = orderKey(a.name);
    const kb = orderKey(b.name);
    return ka[0] - kb[0] || ka[1] - kb[1] || (ka[2] < kb[2] ? -1 : ka[2] > kb[2] ? 1 : 0);
  });
  return planned;
}

/** Assigns ggml types: converter rules for float outputs, llama-quantize's mix policy for quantized ones. */
export function assignTypes(
  planned: ReadonlyArray<Omit<PlannedTensor, "type">>,
  outType: OutType,
  model: { arch: string; nLayer: number; nHead: number; nHeadKv: number },
  policy: MixPolicy = quantizeMixPolicy,
): PlannedTensor[] {
  if (isFloatOutType(outType)) return planned.map((p) => ({ ...p, type: floatTensorType(outType, p) }) as PlannedTensor);
  const types = policy(outType, planned, model);
  return planned.map((p, i) => ({ ...p, type: types[i]! }) as PlannedTensor);
}

/** The metadata of a converted model, in the converter's order. */
export function modelMetadata(
  model: HfModel,
  outType: OutType,
  options: { name?: string; pre?: string; metadata?: ReadonlyArray<readonly [string, GgufValue]> } = {},
): Array<[string, GgufValue]> {
  const { info, model: hp, config } = model;
  const configPath = inDir(model.dir, "config.json");
  const kv: Array<[string, GgufValue]> = [
    ["general.architecture", gv.str(info.arch)],
    ["general.type", gv.str("model")],
    ["general.name", gv.str(options.name ?? modelName(config))],
    ...archMetadata(info, hp, configPath),
    ["general.file_type", gv.u32(FILE_TYPE_OF[outType])],
    ["general.quantization_version", gv.u32(2)],
  ];
  if (!model.tokenizer)
    throw new GgufConvertError("tokenizer.json is required (llama.cpp needs the vocabulary)", inDir(model.dir, "tokenizer.json"));
  const vocab = buildVocab({
    tokenizer: model.tokenizer,
    tokenizerConfig: model.tokenizerConfig,
    config,
    chatTemplateFile: model.chatTemplateFile,
    vocabSize: hp.vocabSize,
    file: inDir(model.dir, "tokenizer.json"),
    pre: options.pre,
  });
  kv.push(...vocab.kvs);
  for (const [k, v] of options.metadata ?? []) {
    const at = kv.findIndex(([key]) => key === k);
    if (at >= 0) kv[at] = [k, v];
    else kv.push([k, v]);
  }
  return kv;
}

/** Something that quantizes rows on other threads: @neural/quantize/parallel's QuantizePool fits. */
export interface RowQuantizer {
  /** Worker threads (sets how many chunks are kept in flight; default 2). */
  readonly threads?: number;
  /** Milliseconds spent quantizing so far, summed over threads (for StreamStats). */
  readonly busyMs?: number;
  quantizeRows(
    type: number,
    data: Float32Array,
    nPerRow: number,
    options?: { name?: string; indexBase?: number; rowsPerJob?: number; transfer?: boolean; allowNonFinite?: boolean },
  ): Promise<Uint8Array>;
}

/** Where a stream's time went (all milliseconds; stages overlap, so they do not add up to the wall time). */
export interface StreamStats {
  /** Wall time of the whole stream. */
  wallMs: number;
  /** Producing float32 rows on the calling thread: reading, decoding, renaming and permuting. */
  readMs: number;
  /** Quantizing: the pool's busy time summed over its threads, or the calling thread's time without a pool. */
  encodeMs: number;
  /** Writing encoded chunks to the sink. */
  writeMs: number;
  /** The writer waiting for the next chunk in order (read and encode not keeping up) or for the previous write. */
  waitMs: number;
  chunks: number;
}

export interface StreamOptions {
  /** Values per chunk read, encoded and written at once (default 2 Mi). */
  chunkElements?: number;
  onProgress?: (p: ConvertProgress) => void;
  /** Encode on these worker threads instead of the calling thread. */
  pool?: RowQuantizer;
  /** Filled in with the stream's stage times when given. */
  stats?: StreamStats;
  /** Write NaN, infinities and overflowing weights instead of throwing NonFiniteTensorError. */
  allowNonFinite?: boolean;
}

interface Chunk {
  t: PlannedTensor;
  index: number;
  start: number;
  count: number;
  last: boolean;
}

/** All chunks of all tensors, in file order: whole rows, a multiple of each tensor's rowGroup. */
function planChunks(tensors: readonly PlannedTensor[], target: number): Chunk[] {
  const chunks: Chunk[] = [];
  tensors.forEach((t, index) => {
    let per = Math.max(t.rowGroup, Math.floor(target / Math.max(t.cols, 1) / t.rowGroup) * t.rowGroup);
    if (t.rows === 1) per = 1;
    for (let start = 0; start < t.rows; start += per) {
      const count = Math.min(per, t.rows - start);
      chunks.push({ t, index, start, count, last: start + count >= t.rows });
    }
  });
  return chunks;
}

/**
 * Streams planned tensors into a GGUF writer, chunk by chunk of rows. Several chunks are in flight at once (read,
 * then encoded on `pool`'s threads when given), and the writer takes them in order as they complete, so reading,
 * converting, quantizing and writing overlap and no worker waits for the disk or for another worker.
 */
export async function streamTensors(
  writer: GgufStreamWriter,
  tensors: readonly PlannedTensor[],
  options: StreamOptions = {},
): Promise<void> {
  const started = performance.now();
  const stats: StreamStats = { wallMs: 0, readMs: 0, encodeMs: 0, writeMs: 0, waitMs: 0, chunks: 0 };
  const pool = options.pool;
  const poolBusyAtStart = pool?.busyMs ?? 0;
  const totalBytes = writer.layout.fileSize;
  let written = writer.layout.dataOffset;
  const chunks = planChunks(tensors, options.chunkElements ?? 2 * 1024 * 1024);
  // Enough chunks in flight that every worker has a queued job while the writer waits on the oldest.
  const depth = pool ? 2 * Math.max(1, pool.threads ?? 2) + 2 : 2;

  const allowNonFinite = options.allowNonFinite ?? false;
  // The finite check rides the encoding of each chunk (quantizeRows), so it costs no extra pass over the weights.
  const produce = (c: Chunk): Promise<Uint8Array> =>
    encode(c).catch((error: unknown) => {
      if (!(error instanceof NonFiniteWeightError)) throw error;
      const reason = error.message.replace(/^tensor .*?: (?=value )/, "");
      throw new NonFiniteTensorError(c.t.source?.file ?? "", c.t.source?.tensor ?? c.t.name, reason, c.t.name);
    });
  const encode = async (c: Chunk): Promise<Uint8Array> => {
    let t0 = performance.now();
    const values = await c.t.read(c.start, c.count);
    stats.readMs += performance.now() - t0;
    // F32 tensors are copied, not quantized: no reason to send them to a worker.
    if (pool && c.t.type !== "F32") {
      return pool.quantizeRows(GGML_TYPES[c.t.type].id, values, c.t.cols, {
        name: c.t.name,
        indexBase: c.start * c.t.cols,
        rowsPerJob: c.count,
        transfer: true,
        allowNonFinite,
      });
    }
    t0 = performance.now();
    const bytes = encodeRows(c.t.type, values, c.t.cols, c.t.name, c.start * c.t.cols, allowNonFinite);
    stats.encodeMs += performance.now() - t0;
    return bytes;
  };

  const inFlight: Array<Promise<Uint8Array>> = [];
  let nextToStart = 0;
  // One write at a time, in order, while the loop goes on topping up the chunks in flight.
  let writing: Promise<void> = Promise.resolve();
  const write = async (c: Chunk, bytes: Uint8Array): Promise<void> => {
    const t0 = performance.now();
    await writer.writeTensor(c.t.name, bytes);
    stats.writeMs += performance.now() - t0;
    written += bytes.byteLength;
    stats.chunks++;
    if (c.last) options.onProgress?.({ tensor: c.t.name, index: c.index, total: tensors.length, bytesWritten: written, totalBytes });
  };
  try {
    for (const c of chunks) {
      while (nextToStart < chunks.length && inFlight.length < depth) {
        const job = produce(chunks[nextToStart++]!);
        // A failure surfaces when its chunk's turn comes; keep it from being reported as unhandled before that.
        job.catch(() => {});
        inFlight.push(job);
      }
      const t0 = performance.now();
      const bytes = await inFlight.shift()!;
      await writing;
      stats.waitMs += performance.now() - t0;
      writing = write(c, bytes);
      writing.catch(() => {});
    }
    await writing;
  } finally {
    // Let chunks still in flight after a failure settle before the caller closes the checkpoint or the pool.
    await Promise.allSettled([...inFlight, writing]);
    if (pool) stats.encodeMs += (pool.busyMs ?? 0) - poolBusyAtStart;
    stats.wallMs = performance.now() - started;
    if (options.stats) Object.assign(options.stats, stats);
  }
}

/** Converts an opened HF model to GGUF bytes written to `sink` (committed when complete, aborted on error). */
export async function convertModel(model: HfModel, sink: ByteSink, options: ModelConvertOptions = {}): Promise<ConvertResult> {
  const outType = options.outType ?? "F16";
  let tensors: PlannedTensor[];
  let metadata: Array<[string, GgufValue]>;
  let writer: GgufStreamWriter;
  let name: string;
  try {
    if (!(outType in FILE_TYPE_OF)) throw new GgufConvertError(`unknown output type ${outType}`, model.dir, "outType");
    const planned = planTensors(model, { skipQkPermutation: options.skipQkPermutation });
    tensors = assignTypes(
      planned,
      outType,
      { arch: model.info.arch, nLayer: model.model.numLayers, nHead: model.model.numHeads, nHeadKv: model.model.numKvHeads },
      options.mixPolicy,
    );
    for (const t of tensors) {
      try {
        tensorBytes(t.type, t.ne);
      } catch (error) {
        throw new GgufConvertError((error as Error).message, model.dir, t.name);
      }
    }
    metadata = modelMetadata(model, outType, options);
    name = String(metadata.find(([k]) => k === "general.name")![1].value);
    writer = new GgufStreamWriter(sink, metadata, tensors);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  try {
    await streamTensors(writer, tensors, options);
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return {
    output: sink.name,
    arch: model.info.arch,
    outType,
    tensors: writer.layout.tensors.map((t) => ({ name: t.name, type: t.type, ne: [...t.ne], bytes: t.bytes })),
    fileSize: writer.layout.fileSize,
    name,
    warnings: nameWarnings(name, model.tokenizer),
  };
}
