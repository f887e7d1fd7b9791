// Lazy safetensors reader. Only the JSON header is read up front; tensor bytes are read on demand, one tensor (or one
// range of rows) at a time, so peak memory is bounded by the largest tensor read, never by the model.
//
// Every file is treated as hostile: the header length is bounded by the file size (and 100 MB, as the reference
// implementation does), every tensor's byte range must lie inside the data section and match dtype x shape, and every
// failure is a SafetensorsError naming the file and the field.
import { DTYPE_BYTES, decodeFloats, isFloatDtype, type Dtype, type FloatDtype } from "./dtype.js";
import type { ByteSource } from "./io.js";

export class SafetensorsError extends Error {
  override name = "SafetensorsError";
  constructor(
    message: string,
    /** The file (or index) at fault. */
    readonly file: string,
    /** The header field or tensor name at fault, when there is one. */
    readonly field?: string,
  ) {
    super(`${file}${field ? ` (${field})` : ""}: ${message}`);
  }
}

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  /** Row-major shape, outermost first (PyTorch order). */
  shape: number[];
  /** Absolute byte offset of the tensor's data in its file. */
  byteOffset: number;
  byteLength: number;
  /** The file that holds the tensor. */
  file: string;
}

export interface RowRange {
  /** First row (index along the outermost dimension). */
  start: number;
  count: number;
}

/** What both a single file and a sharded checkpoint offer. */
export interface TensorReader {
  readonly names: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** Reads a float tensor (F32, F16, BF16, F64) as float32, whole or a range of rows. */
  readFloat32(name: string, rows?: RowRange): Promise<Float32Array>;
  /** Reads a tensor's raw little-endian bytes. */
  readBytes(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The reference implementation's limit on the JSON header. */
export const MAX_HEADER_BYTES = 100_000_000;
const MAX_DIMS = 8;

const KNOWN_DTYPES = new Set(Object.keys(DTYPE_BYTES));

export class SafetensorsFile implements TensorReader {
  readonly names: readonly string[];
  private constructor(
    private readonly source: ByteSource,
    private readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
    /** Byte offset where the data section starts. */
    readonly dataOffset: number,
  ) {
    this.names = [...tensors.keys()];
  }

  get file(): string {
    return this.source.name;
  }

  /** Parses and validates the header of a safetensors source; tensor data stays on disk. */
  static async fromSource(source: ByteSource): Promise<SafetensorsFile> {
    const file = source.name;
    const fail = (message: string, field?: string): never => {
      throw new SafetensorsError(message, file, field);
    };
    if (source.size < 8) fail(`file is ${source.size} bytes, too short for the 8-byte header length`, "header_length");
    const lengthBytes = await source.read(0, 8);
    const headerLength = Number(new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true));
    if (headerLength > source.size - 8) fail(`header length ${headerLength} exceeds the file size ${source.size}`, "header_length");
    if (headerLength > MAX_HEADER_BYTES)
      fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`, "header_length");
    if (headerLength < 2) fail(`header length ${headerLength} is too short for a JSON object`, "header_length");
    const headerBytes = await source.read(8, headerLength);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
    } catch (error) {
      fail(`header is not valid UTF-8 JSON: ${(error as Error).message}`, "header");
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object", "header");
    const dataOffset = 8 + headerLength;
    const dataSize = source.size - dataOffset;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    const ranges: Array<[number, number, string]> = [];
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") {
        if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("__metadata__ is not an object", "__metadata__");
        metadata = {};
        for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
          if (typeof v !== "string") fail(`metadata value of "${k}" is not a string`, "__metadata__");
          metadata[k] = v as string;
        }
        continue;
      }
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("tensor entry is not an object", name);
      const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof entry.dtype !== "string" || !KNOWN_DTYPES.has(entry.dtype)) fail(`unknown dtype ${JSON.stringify(entry.dtype)}`, name);
      const dtype = entry.dtype as Dtype;
      if (!Array.isArray(entry.shape) || entry.shape.length > MAX_DIMS)
        fail(`shape must be an array of at most ${MAX_DIMS} dimensions`, name);
      const shape = entry.shape as unknown[];
      let numel = 1;
      for (const d of shape) {
        if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
          fail(`shape ${JSON.stringify(shape)} has an invalid dimension`, name);
        numel *= d as number;
        if (!Number.isSafeInteger(numel)) fail(`shape ${JSON.stringify(shape)} is too large`, name);
      }
      const offsets = entry.data_offsets;
      if (
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((o) => typeof o === "number" && Number.isSafeInteger(o) && o >= 0)
      ) {
        fail("data_offsets must be two non-negative integers", name);
      }
      const [begin, end] = offsets as [number, number];
      if (end < begin) fail(`data_offsets [${begin}, ${end}] are reversed`, name);
      if (end > dataSize) fail(`data_offsets end ${end} is past the end of the data section (${dataSize} bytes)`, name);
      const expected = numel * DTYPE_BYTES[dtype];
      if (end - begin !== expected)
        fail(`data_offsets span ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`, name);
      tensors.set(name, { name, dtype, shape: shape as number[], byteOffset: dataOffset + begin, byteLength: end - begin, file });
      if (end > begin) ranges.push([begin, end, name]);
    }
    ranges.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]![0] < ranges[i - 1]![1]) fail(`data overlaps tensor "${ranges[i - 1]![2]}"`, ranges[i]![2]);
    }
    return new SafetensorsFile(source, tensors, metadata, dataOffset);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError("no such tensor", this.source.name, name);
    return info;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    return this.source.read(info.byteOffset, info.byteLength);
  }

  async readFloat32(name: string, rows?: RowRange): Promise<Float32Array> {
    const info = this.info(name);
    if (!isFloatDtype(info.dtype)) throw new SafetensorsError(`dtype ${info.dtype} is not a float type`, this.source.name, name);
    const dtype = info.dtype as FloatDtype;
    const width = DTYPE_BYTES[dtype];
    let offset = info.byteOffset;
    let count = info.byteLength / width;
    if (rows) {
      const outer = info.shape[0] ?? 1;
      if (
        !Number.isSafeInteger(rows.start) ||
        !Number.isSafeInteger(rows.count) ||
        rows.start < 0 ||
        rows.count < 0 ||
        rows.start + rows.count > outer
      ) {
        throw new SafetensorsError(`rows ${rows.start}..${rows.start + rows.count} are outside 0..${outer}`, this.source.name, name);
      }
      const rowElems = info.shape.slice(1).reduce((a, b) => a * b, 1);
      offset += rows.start * rowElems * width;
      count = rows.count * rowElems;
    }
    const out = new Float32Array(count);
    if (dtype === "F32" && this.source.readInto) {
      // Read straight into the result: no second copy.
      await this.source.readInto(offset, new Uint8Array(out.buffer));
      return out;
    }
    const bytes = await this.source.read(offset, count * width);
    return decodeFloats(bytes, dtype, out);
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
