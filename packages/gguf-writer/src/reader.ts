// GGUF reader that treats every file as hostile: each count and length is checked against the bytes left in the
// file before anything is allocated, every tensor's range must lie inside the file, offsets must be laid out as
// llama.cpp demands, and every failure is a GgufError naming the file and the field.
import { dequantizeRows, isSupportedType } from "@neural/quantize";
import { decodeFloats, type ByteSource } from "@neural/safetensors";
import {
  GGML_TYPES,
  GGML_TYPE_BY_ID,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  SCALAR_BYTES,
  VALUE_TYPE_NAMES,
  alignUp,
  type GgmlTypeName,
  type GgufValue,
  type ScalarTypeName,
  type ScalarValue,
} from "./types.js";

export class GgufError extends Error {
  override name = "GgufError";
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(`${file}${field ? ` (${field})` : ""}: ${message}`);
  }
}

export interface GgufTensorInfo {
  name: string;
  type: GgmlTypeName;
  /** ggml order, innermost first. */
  ne: number[];
  /** Offset relative to the data section, as stored. */
  relativeOffset: number;
  /** Absolute offset in the file. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  file: string;
  version: number;
  alignment: number;
  /** Metadata in file order, each value with its exact type. */
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  dataOffset: number;
  /** Size of the file in bytes. */
  size: number;
}

const MAX_DIMS = 4;
/** Smallest possible encodings, used to bound counts before allocating. */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

/** Buffered forward reader over a ByteSource; never reads or allocates past the end of the source. */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  pos = 0;
  private static decoder = new TextDecoder("utf-8", { fatal: true });
  constructor(
    private readonly src: ByteSource,
    private readonly chunk = 1 << 20,
  ) {}

  get name(): string {
    return this.src.name;
  }

  get remaining(): number {
    return this.src.size - this.pos;
  }

  private async ensure(n: number, field: string): Promise<void> {
    if (n > this.remaining)
      throw new GgufError(`needs ${n} bytes at offset ${this.pos} but the file ends at ${this.src.size}`, this.src.name, field);
    if (this.pos + n <= this.bufStart + this.buf.byteLength) return;
    const length = Math.min(Math.max(n, this.chunk), this.src.size - this.pos);
    this.buf = await this.src.read(this.pos, length);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
  }
  private at(): number {
    return this.pos - this.bufStart;
  }
  async u8(field: string) {
    await this.ensure(1, field);
    const v = this.view.getUint8(this.at());
    this.pos += 1;
    return v;
  }
  async i8(field: string) {
    await this.ensure(1, field);
    const v = this.view.getInt8(this.at());
    this.pos += 1;
    return v;
  }
  async u16(field: string) {
    await this.ensure(2, field);
    const v = this.view.getUint16(this.at(), true);
    this.pos += 2;
    return v;
  }
  async i16(field: string) {
    await this.ensure(2, field);
    const v = this.view.getInt16(this.at(), true);
    this.pos += 2;
    return v;
  }
  async u32(field: string) {
    await this.ensure(4, field);
    const v = this.view.getUint32(this.at(), true);
    this.pos += 4;
    return v;
  }
  async i32(field: string) {
    await this.ensure(4, field);
    const v = this.view.getInt32(this.at(), true);
    this.pos += 4;
    return v;
  }
  async f32(field: string) {
    await this.ensure(4, field);
    const v = this.view.getFloat32(this.at(), true);
    this.pos += 4;
    return v;
  }
  async f64(field: string) {
    await this.ensure(8, field);
    const v = this.view.getFloat64(this.at(), true);
    this.pos += 8;
    return v;
  }
  async u64(field: string) {
    await this.ensure(8, field);
    const v = this.view.getBigUint64(this.at(), true);
    this.pos += 8;
    return v;
  }
  async i64(field: string) {
    await this.ensure(8, field);
    const v = this.view.getBigInt64(this.at(), true);
    this.pos += 8;
    return v;
  }
  /** A u64 count or length that must be covered by the bytes left (each item at least `minItemBytes`). */
  async count(field: string, minItemBytes: number): Promise<number> {
    const n = await this.u64(field);
    if (n > BigInt(Math.floor(this.remaining / Math.max(minItemBytes, 1)))) {
      throw new GgufError(`count ${n} cannot fit in the ${this.remaining} bytes left`, this.src.name, field);
    }
    return Number(n);
  }
  async str(field: string): Promise<string> {
    const n = await this.count(field, 1);
    await this.ensure(n, field);
    const bytes = this.buf.subarray(this.at(), this.at() + n);
    this.pos += n;
    try {
      return Cursor.decoder.decode(bytes);
    } catch {
      throw new GgufError("string is not valid UTF-8", this.src.name, field);
    }
  }
}

async function readScalar(c: Cursor, type: ScalarTypeName, field: string): Promise<ScalarValue> {
  switch (type) {
    case "U8":
      return c.u8(field);
    case "I8":
      return c.i8(field);
    case "U16":
      return c.u16(field);
    case "I16":
      return c.i16(field);
    case "U32":
      return c.u32(field);
    case "I32":
      return c.i32(field);
    case "F32":
      return c.f32(field);
    case "F64":
      return c.f64(field);
    case "U64":
      return c.u64(field);
    case "I64":
      return c.i64(field);
    case "BOOL": {
      const b = await c.u8(field);
      if (b > 1) throw new GgufError(`bool value ${b} is neither 0 nor 1`, c.name, field);
      return b === 1;
    }
    case "STRING":
      return c.str(field);
  }
}

/** Parses the header, metadata and tensor infos of a GGUF source and validates the tensor layout. */
export async function readGgufHeader(src: ByteSource): Promise<GgufFile> {
  const file = src.name;
  const fail = (message: string, field?: string): never => {
    throw new GgufError(message, file, field);
  };
  const c = new Cursor(src);
  if (src.size < 24) fail(`file is ${src.size} bytes, too short for a GGUF header`, "magic");
  const magic = await c.u32("magic");
  if (magic !== GGUF_MAGIC) fail(`bad magic 0x${magic.toString(16).padStart(8, "0")}, not a GGUF file`, "magic");
  const version = await c.u32("version");
  if (version !== 2 && version !== 3) fail(`unsupported GGUF version ${version}`, "version");
  const nTensors = await c.count("tensor_count", MIN_TENSOR_INFO_BYTES);
  const nKv = await c.count("kv_count", MIN_KV_BYTES);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = await c.str(`kv[${i}].key`);
    if (metadata.has(key)) fail("duplicate metadata key", key);
    const typeId = await c.u32(key);
    const type = VALUE_TYPE_NAMES[typeId];
    if (!type) fail(`unknown value type ${typeId}`, key);
    if (type === "ARRAY") {
      const itemId = await c.u32(key);
      const itemType = VALUE_TYPE_NAMES[itemId];
      if (!itemType || itemType === "ARRAY") fail(`unsupported array item type ${itemId}`, key);
      const n = await c.count(key, SCALAR_BYTES[itemType as ScalarTypeName] ?? 8);
      const items: ScalarValue[] = new Array(n);
      for (let j = 0; j < n; j++) items[j] = await readScalarChecked(c, itemType as ScalarTypeName, key, file);
      metadata.set(key, { type: "ARRAY", itemType: itemType as ScalarTypeName, value: items });
    } else {
      const value = await readScalarChecked(c, type, key, file);
      metadata.set(key, { type, value } as GgufValue);
    }
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignKv = metadata.get("general.alignment");
  if (alignKv) {
    if (alignKv.type !== "U32" || alignKv.value === 0 || (alignKv.value & (alignKv.value - 1)) !== 0) {
      fail("general.alignment must be a u32 power of two", "general.alignment");
    }
    alignment = alignKv.value as number;
  }
  const infos: Array<Omit<GgufTensorInfo, "offset">> = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = await c.str(`tensor[${i}].name`);
    if (names.has(name)) fail("duplicate tensor name", name);
    names.add(name);
    const nDims = await c.u32(name);
    if (nDims < 1 || nDims > MAX_DIMS) fail(`n_dims ${nDims} is not in 1..${MAX_DIMS}`, name);
    const ne: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const v = await c.i64(name);
      if (v < 0n) fail(`dimension ${d} is negative (${v})`, name);
      elements *= v;
      if (elements > BigInt(Number.MAX_SAFE_INTEGER)) fail(`shape is too large`, name);
      ne.push(Number(v));
    }
    const typeId = await c.u32(name);
    const type = GGML_TYPE_BY_ID.get(typeId);
    if (!type) fail(`unknown ggml type ${typeId}`, name);
    const t = GGML_TYPES[type as GgmlTypeName];
    if (ne[0]! % t.blockSize !== 0) fail(`ne[0] = ${ne[0]} is not a multiple of the ${type} block size ${t.blockSize}`, name);
    const bytes = (Number(elements) / t.blockSize) * t.typeSize;
    const off = await c.u64(name);
    if (off > BigInt(src.size)) fail(`offset ${off} is past the end of the file`, name);
    infos.push({ name, type: type as GgmlTypeName, ne, relativeOffset: Number(off), bytes });
  }
  const dataOffset = alignUp(c.pos, alignment);
  let expected = 0;
  const tensors: GgufTensorInfo[] = [];
  for (const info of infos) {
    if (info.relativeOffset !== expected)
      fail(
        `offset ${info.relativeOffset} differs from the expected ${expected} (data must be laid out in order, each tensor padded to ${alignment})`,
        info.name,
      );
    const offset = dataOffset + info.relativeOffset;
    if (offset + info.bytes > src.size)
      fail(`data [${offset}, ${offset + info.bytes}) is past the end of the file (${src.size} bytes)`, info.name);
    tensors.push({ ...info, offset });
    expected += alignUp(info.bytes, alignment);
  }
  // Like gguf.cpp (which reads the whole padded data section), a file cut inside the last padding is torn.
  if (dataOffset + expected > src.size)
    fail(`file ends at ${src.size}, before the end of the data section (${dataOffset + expected})`, "data");
  return { file, version, alignment, metadata, tensors, dataOffset, size: src.size };
}

async function readScalarChecked(c: Cursor, type: ScalarTypeName, key: string, _file: string): Promise<ScalarValue> {
  return readScalar(c, type, key);
}

/** An opened GGUF: parsed header plus access to tensor data by name. */
export class GgufReader {
  private constructor(
    readonly source: ByteSource,
    readonly gguf: GgufFile,
    private readonly byName: Map<string, GgufTensorInfo>,
  ) {}

  static async open(source: ByteSource): Promise<GgufReader> {
    const gguf = await readGgufHeader(source);
    return new GgufReader(source, gguf, new Map(gguf.tensors.map((t) => [t.name, t])));
  }

  get metadata(): Map<string, GgufValue> {
    return this.gguf.metadata;
  }
  get tensors(): GgufTensorInfo[] {
    return this.gguf.tensors;
  }

  /** The plain JS value of a key (undefined if absent). */
  get(key: string): ScalarValue | readonly ScalarValue[] | ArrayLike<number> | undefined {
    return this.gguf.metadata.get(key)?.value;
  }

  tensor(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new GgufError("no such tensor", this.gguf.file, name);
    return t;
  }

  /** A tensor's raw bytes (its own byte count, without padding). */
  async readTensorBytes(name: string): Promise<Uint8Array> {
    const t = this.tensor(name);
    return this.source.read(t.offset, t.bytes);
  }

  /** A tensor as float32 values: F32/F16/BF16 widened, quantized types dequantized exactly as ggml does. */
  async readTensorF32(name: string): Promise<Float32Array> {
    const t = this.tensor(name);
    const bytes = await this.readTensorBytes(name);
    const count = t.ne.reduce((a, b) => a * b, 1);
    if (t.type === "F32") {
      const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
      return new Float32Array(aligned.buffer, aligned.byteOffset, count).slice();
    }
    if (t.type === "F16") return decodeFloats(bytes, "F16");
    if (t.type === "BF16") return decodeFloats(bytes, "BF16");
    const id = GGML_TYPES[t.type].id;
    if (!isSupportedType(id)) throw new GgufError(`cannot dequantize tensor type ${t.type}`, this.gguf.file, name);
    return dequantizeRows(id, bytes, count);
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}
