// Streaming safetensors writer: the header is computed from the declared shapes, then each tensor's data is produced
// (lazily, if given as a function), encoded and written in turn, so only one tensor is in memory at a time.
import { DTYPE_BYTES, encodeFloats, isFloatDtype, type Dtype } from "./dtype.js";
import type { ByteSink } from "./io.js";
import { SafetensorsError } from "./reader.js";

export type TensorData = Float32Array | Uint8Array;

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  /** Row-major shape, outermost first. */
  shape: readonly number[];
  /** Float32 values (encoded to `dtype`, which must be a float type) or raw little-endian bytes of `dtype`. */
  data: TensorData | (() => TensorData | Promise<TensorData>);
}

export interface WriteOptions {
  metadata?: Record<string, string>;
}

/** Builds the header bytes (8-byte length + JSON padded with spaces to a multiple of 8). */
export function safetensorsHeader(
  tensors: readonly Pick<TensorToWrite, "name" | "dtype" | "shape">[],
  metadata?: Record<string, string>,
  file = "<safetensors>",
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === "__metadata__" || seen.has(t.name)) throw new SafetensorsError("duplicate or reserved tensor name", file, t.name);
    seen.add(t.name);
    if (!(t.dtype in DTYPE_BYTES)) throw new SafetensorsError(`unknown dtype ${t.dtype}`, file, t.name);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Writes a safetensors file to a sink and commits it; aborts the sink on any error. */
export async function writeSafetensors(sink: ByteSink, tensors: readonly TensorToWrite[], options: WriteOptions = {}): Promise<void> {
  try {
    await sink.write(safetensorsHeader(tensors, options.metadata, sink.name));
    for (const t of tensors) {
      const raw = typeof t.data === "function" ? await t.data() : t.data;
      const expected = t.shape.reduce((a, b) => a * b, 1);
      let bytes: Uint8Array;
      if (raw instanceof Float32Array) {
        if (!isFloatDtype(t.dtype)) throw new SafetensorsError(`float32 data given for dtype ${t.dtype}`, sink.name, t.name);
        if (raw.length !== expected)
          throw new SafetensorsError(`${raw.length} values given for shape ${JSON.stringify(t.shape)}`, sink.name, t.name);
        bytes = encodeFloats(raw, t.dtype);
      } else {
        if (raw.byteLength !== expected * DTYPE_BYTES[t.dtype]) {
          throw new SafetensorsError(`${raw.byteLength} bytes given for ${t.dtype} ${JSON.stringify(t.shape)}`, sink.name, t.name);
        }
        bytes = raw;
      }
      await sink.write(bytes);
    }
    await sink.commit();
  } catch (error) {
    await sink.abort();
    throw error;
  }
}
