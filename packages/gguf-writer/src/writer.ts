// GGUF v3 writer. The header (metadata and tensor infos, with every offset computed from the declared shapes) is
// written first; then tensor data is streamed in declaration order, chunk by chunk, each tensor padded to the
// alignment. Only the chunk being written is in memory. Output goes to a ByteSink: a temp file renamed on commit
// (Node) or a WritableStream (browser).
import type { ByteSink } from "@neural/safetensors";
import {
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  SCALAR_BYTES,
  ValueType,
  alignUp,
  tensorBytes,
  type GgmlTypeName,
  type GgufValue,
  type ScalarTypeName,
  type ScalarValue,
} from "./types.js";

export class GgufWriteError extends Error {
  override name = "GgufWriteError";
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(`${file}${field ? ` (${field})` : ""}: ${message}`);
  }
}

export interface GgufTensorSpec {
  name: string;
  type: GgmlTypeName;
  /** ggml order: innermost first. A PyTorch [out, in] weight has ne = [in, out]. */
  ne: readonly number[];
}

/** A growable little-endian byte buffer. */
export class ByteBuilder {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private static encoder = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    let cap = this.buf.byteLength * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  i8(v: number) {
    this.reserve(1);
    this.view.setInt8(this.length, v);
    this.length += 1;
  }
  u16(v: number) {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  i16(v: number) {
    this.reserve(2);
    this.view.setInt16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number) {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  f32(v: number) {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number) {
    this.reserve(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  u64(v: bigint) {
    this.reserve(8);
    this.view.setBigUint64(this.length, v, true);
    this.length += 8;
  }
  i64(v: bigint) {
    this.reserve(8);
    this.view.setBigInt64(this.length, v, true);
    this.length += 8;
  }
  bytes(b: Uint8Array) {
    this.reserve(b.byteLength);
    this.buf.set(b, this.length);
    this.length += b.byteLength;
  }
  str(s: string) {
    // UTF-8 straight into the buffer after its length (a vocabulary has ~300k strings: no array or BigInt per string)
    this.reserve(8 + s.length * 3);
    const { written } = ByteBuilder.encoder.encodeInto(s, this.buf.subarray(this.length + 8));
    this.view.setUint32(this.length, written, true);
    this.view.setUint32(this.length + 4, 0, true);
    this.length += 8 + written;
  }
  zeros(n: number) {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const INT_RANGES: Partial<Record<ScalarTypeName, [number, number]>> = {
  U8: [0, 0xff],
  I8: [-0x80, 0x7f],
  U16: [0, 0xffff],
  I16: [-0x8000, 0x7fff],
  U32: [0, 0xffffffff],
  I32: [-0x80000000, 0x7fffffff],
};

const INT_WRITERS: Partial<Record<ScalarTypeName, (b: ByteBuilder, v: number) => void>> = {
  U8: (b, v) => b.u8(v),
  I8: (b, v) => b.i8(v),
  U16: (b, v) => b.u16(v),
  I16: (b, v) => b.i16(v),
  U32: (b, v) => b.u32(v),
  I32: (b, v) => b.i32(v),
};

function writeScalar(b: ByteBuilder, type: ScalarTypeName, v: ScalarValue, file: string, key: string): void {
  function bad(): never {
    throw new GgufWriteError(`value ${String(v)} is not a valid ${type}`, file, key);
  }
  const range = INT_RANGES[type];
  if (range) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]) bad();
  }
  switch (type) {
    case "U8":
      return b.u8(v as number);
    case "I8":
      return b.i8(v as number);
    case "U16":
      return b.u16(v as number);
    case "I16":
      return b.i16(v as number);
    case "U32":
      return b.u32(v as number);
    case "I32":
      return b.i32(v as number);
    case "F32":
      if (typeof v !== "number") bad();
      return b.f32(v as number);
    case "F64":
      if (typeof v !== "number") bad();
      return b.f64(v as number);
    case "BOOL":
      if (typeof v !== "boolean") bad();
      return b.u8(v ? 1 : 0);
    case "STRING":
      if (typeof v !== "string") bad();
      return b.str(v as string);
    case "U64": {
      const x = typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : v;
      if (typeof x !== "bigint" || x < 0n || x >= 1n << 64n) bad();
      return b.u64(x as bigint);
    }
    case "I64": {
      const x = typeof v === "number" && Number.isSafeInteger(v) ? BigInt(v) : v;
      if (typeof x !== "bigint" || x < -(1n << 63n) || x >= 1n << 63n) bad();
      return b.i64(x as bigint);
    }
  }
}

/** Serializes one key/value pair exactly as typed. */
export function encodeKv(b: ByteBuilder, key: string, value: GgufValue, file = "<gguf>"): void {
  b.str(key);
  b.u32(ValueType[value.type]);
  if (value.type === "ARRAY") {
    if ((value.itemType as string) === "ARRAY") throw new GgufWriteError("nested arrays are not supported", file, key);
    b.u32(ValueType[value.itemType]);
    const items = value.value;
    b.u64(BigInt(items.length));
    if (value.itemType === "STRING") {
      // the vocabulary: checked and written in one loop
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== "string") throw new GgufWriteError(`value ${String(item)} is not a valid STRING`, file, key);
        b.str(item);
      }
    } else if (value.itemType in INT_RANGES) {
      // token types and the like: range-checked and written in one loop
      const [lo, hi] = INT_RANGES[value.itemType]!;
      const put = INT_WRITERS[value.itemType]!;
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== "number" || !Number.isInteger(item) || item < lo || item > hi) {
          throw new GgufWriteError(`value ${String(item)} is not a valid ${value.itemType}`, file, key);
        }
        put(b, item);
      }
    } else {
      for (let i = 0; i < items.length; i++) writeScalar(b, value.itemType, items[i] as ScalarValue, file, key);
    }
  } else {
    writeScalar(b, value.type, value.value, file, key);
  }
}

export interface GgufLayout {
  alignment: number;
  /** Byte offset of the data section (from the file start). */
  dataOffset: number;
  /** Per tensor: offset relative to the data section, and byte size (unpadded). */
  tensors: Array<GgufTensorSpec & { offset: number; bytes: number }>;
  /** Total file size. */
  fileSize: number;
}

/** Builds the header bytes (up to and including the padding before the data section) and the layout. */
export function encodeHeader(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorSpec[],
  file = "<gguf>",
): { header: Uint8Array; layout: GgufLayout } {
  const keys = new Set<string>();
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new GgufWriteError("duplicate metadata key", file, key);
    keys.add(key);
    if (key === "general.alignment") {
      if (value.type !== "U32" || value.value <= 0 || (value.value & (value.value - 1)) !== 0) {
        throw new GgufWriteError("general.alignment must be a u32 power of two", file, key);
      }
      alignment = value.value;
    }
  }
  const b = new ByteBuilder();
  b.u32(GGUF_MAGIC);
  b.u32(GGUF_VERSION);
  b.u64(BigInt(tensors.length));
  b.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) encodeKv(b, key, value, file);
  const names = new Set<string>();
  const laid: GgufLayout["tensors"] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new GgufWriteError("duplicate tensor name", file, t.name);
    names.add(t.name);
    if (!(t.type in GGML_TYPES)) throw new GgufWriteError(`unknown ggml type ${t.type}`, file, t.name);
    if (t.ne.length < 1 || t.ne.length > 4 || t.ne.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new GgufWriteError(`shape [${t.ne.join(", ")}] must have 1 to 4 non-negative dimensions`, file, t.name);
    }
    let bytes: number;
    try {
      bytes = tensorBytes(t.type, t.ne);
    } catch (error) {
      throw new GgufWriteError((error as Error).message, file, t.name);
    }
    b.str(t.name);
    b.u32(t.ne.length);
    for (const d of t.ne) b.u64(BigInt(d));
    b.u32(GGML_TYPES[t.type].id);
    b.u64(BigInt(offset));
    laid.push({ ...t, offset, bytes });
    offset += alignUp(bytes, alignment);
  }
  const dataOffset = alignUp(b.length, alignment);
  b.zeros(dataOffset - b.length);
  return { header: b.result(), layout: { alignment, dataOffset, tensors: laid, fileSize: dataOffset + offset } };
}

/**
 * Streams one GGUF file: construct with the metadata and tensor specs, then for each tensor in order call
 * `writeTensor(name, chunk)` as many times as needed (chunks of any size), and finally `finish()`.
 * Any error aborts the sink, so a failed export leaves no partial file.
 */
export class GgufStreamWriter {
  readonly layout: GgufLayout;
  private readonly header: Uint8Array;
  private started = false;
  private index = 0;
  private written = 0;
  private done = false;
  private static readonly ZEROS = new Uint8Array(256);

  constructor(
    private readonly sink: ByteSink,
    metadata: ReadonlyArray<readonly [string, GgufValue]>,
    tensors: readonly GgufTensorSpec[],
  ) {
    const { header, layout } = encodeHeader(metadata, tensors, sink.name);
    this.header = header;
    this.layout = layout;
  }

  private fail(message: string, field?: string): never {
    throw new GgufWriteError(message, this.sink.name, field);
  }

  private async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.sink.write(this.header);
    }
  }

  /** Appends bytes to tensor `name`, which must be the current tensor (declaration order). */
  async writeTensor(name: string, chunk: Uint8Array): Promise<void> {
    try {
      if (this.done) this.fail("write after finish", name);
      await this.start();
      let current = this.layout.tensors[this.index];
      // Moving on to the next tensor: the previous one must be complete.
      if (current && current.name !== name && this.written === current.bytes) {
        await this.pad(current.bytes);
        this.index++;
        this.written = 0;
        current = this.layout.tensors[this.index];
      }
      if (!current) this.fail("more tensors written than declared", name);
      if (current.name !== name) this.fail(`tensors must be written in declaration order: expected "${current.name}"`, name);
      if (this.written + chunk.byteLength > current.bytes) {
        this.fail(
          `${this.written + chunk.byteLength} bytes written but ${current.type} [${current.ne.join(", ")}] has ${current.bytes}`,
          name,
        );
      }
      await this.sink.write(chunk);
      this.written += chunk.byteLength;
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  private async pad(bytes: number): Promise<void> {
    let n = alignUp(bytes, this.layout.alignment) - bytes;
    while (n > 0) {
      const k = Math.min(n, GgufStreamWriter.ZEROS.byteLength);
      await this.sink.write(GgufStreamWriter.ZEROS.subarray(0, k));
      n -= k;
    }
  }

  /** Checks that every tensor was written in full, then commits the sink. */
  async finish(): Promise<void> {
    try {
      if (this.done) this.fail("finish called twice");
      await this.start();
      const tensors = this.layout.tensors;
      if (tensors.length) {
        while (this.index < tensors.length - 1 && this.written === tensors[this.index]!.bytes) {
          await this.pad(this.written);
          this.index++;
          this.written = 0;
        }
        const current = tensors[this.index];
        if (!current || this.index !== tensors.length - 1 || this.written !== current.bytes) {
          const missing = current && this.written === current.bytes ? tensors[this.index + 1] : current;
          this.fail(`tensor data incomplete: "${missing?.name ?? "?"}" was not fully written`, missing?.name);
        }
        await this.pad(current.bytes);
      }
      this.done = true;
      await this.sink.commit();
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.sink.abort();
  }
}

export interface GgufTensorInput extends GgufTensorSpec {
  /** The tensor's bytes: all at once, or as chunks (sync or async iterable), or a function producing either. */
  data:
    | Uint8Array
    | Iterable<Uint8Array>
    | AsyncIterable<Uint8Array>
    | (() => Promise<Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>>);
}

/** Writes a whole GGUF file to a sink: metadata, then each tensor's data produced lazily in order. */
export async function writeGguf(
  sink: ByteSink,
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorInput[],
): Promise<GgufLayout> {
  let writer: GgufStreamWriter;
  try {
    writer = new GgufStreamWriter(sink, metadata, tensors);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  try {
    for (const t of tensors) {
      const data = typeof t.data === "function" ? await t.data() : t.data;
      if (data instanceof Uint8Array) await writer.writeTensor(t.name, data);
      else for await (const chunk of data) await writer.writeTensor(t.name, chunk);
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.layout;
}

/** Size in bytes a scalar type takes (for tests and tooling). */
export const scalarBytes = (t: ScalarTypeName): number | undefined => SCALAR_BYTES[t];
