// A deliberately small GGUF v3 writer and reader for oracle tests: enough to hand llama_model_quantize a model file
// and to read back what it wrote. Not the project's GGUF library (that is @neural/gguf-writer); no streaming, no
// hostile-input hardening beyond bounds checks.
import { GgmlError } from "./ggml.js";

export type MiniGgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "str"; value: string }
  | { type: "str[]"; value: string[] }
  | { type: "f32[]"; value: number[] }
  | { type: "i32[]"; value: number[] };

export interface MiniGgufTensor {
  name: string;
  /** ggml order (ne), innermost first. */
  shape: number[];
  /** ggml type id. */
  type: number;
  /** The tensor's bytes, exactly ggml_nbytes long. */
  data: Uint8Array;
}

const ALIGN = 32;
const GGUF_MAGIC = 0x46554747;
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 };

class Out {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.push(b);
  }
  i32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    this.push(b);
  }
  u64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.push(b);
  }
  f32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }
  bytes(b: Uint8Array): void {
    this.push(b);
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const n = (ALIGN - (this.length % ALIGN)) % ALIGN;
    if (n) this.push(new Uint8Array(n));
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** A whole GGUF v3 file (alignment 32) with the given metadata and tensors, in the given order. */
export function writeMiniGguf(kv: Record<string, MiniGgufValue>, tensors: MiniGgufTensor[]): Uint8Array {
  const o = new Out();
  o.u32(GGUF_MAGIC);
  o.u32(3);
  o.u64(tensors.length);
  o.u64(Object.keys(kv).length);
  for (const [key, v] of Object.entries(kv)) {
    o.str(key);
    switch (v.type) {
      case "u32":
        o.u32(T.U32);
        o.u32(v.value);
        break;
      case "i32":
        o.u32(T.I32);
        o.i32(v.value);
        break;
      case "f32":
        o.u32(T.F32);
        o.f32(v.value);
        break;
      case "bool":
        o.u32(T.BOOL);
        o.bytes(new Uint8Array([v.value ? 1 : 0]));
        break;
      case "str":
        o.u32(T.STRING);
        o.str(v.value);
        break;
      case "str[]":
        o.u32(T.ARRAY);
        o.u32(T.STRING);
        o.u64(v.value.length);
        for (const s of v.value) o.str(s);
        break;
      case "f32[]":
        o.u32(T.ARRAY);
        o.u32(T.F32);
        o.u64(v.value.length);
        for (const x of v.value) o.f32(x);
        break;
      case "i32[]":
        o.u32(T.ARRAY);
        o.u32(T.I32);
        o.u64(v.value.length);
        for (const x of v.value) o.i32(x);
        break;
    }
  }
  let offset = 0;
  for (const t of tensors) {
    o.str(t.name);
    o.u32(t.shape.length);
    for (const d of t.shape) o.u64(d);
    o.u32(t.type);
    o.u64(offset);
    offset += Math.ceil(t.data.length / ALIGN) * ALIGN;
  }
  o.pad();
  for (const t of tensors) {
    o.bytes(t.data);
    o.pad();
  }
  return o.concat();
}

export interface MiniGgufFile {
  version: number;
  /** Scalar and string values; arrays are given as their length only. */
  kv: Map<string, number | bigint | boolean | string | { arrayLength: number }>;
  /** Keys in file order. */
  keys: string[];
  tensors: { name: string; shape: number[]; type: number; offset: number; data: Uint8Array }[];
}

/** Reads a GGUF file written by this module or by llama.cpp. Tensor data are views into `bytes`. */
export function readMiniGguf(bytes: Uint8Array, rowBytes: (type: number, nPerRow: number) => number): MiniGgufFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n: number): void => {
    if (p + n > bytes.length) throw new GgmlError(`GGUF truncated at byte ${p}`);
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(p, true);
    p += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgmlError(`GGUF value too large at byte ${p - 8}`);
    return Number(v);
  };
  const str = (): string => {
    const n = u64();
    need(n);
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const scalar = (type: number): number | bigint | boolean | string => {
    switch (type) {
      case T.STRING:
        return str();
      case T.BOOL:
        need(1);
        return bytes[p++] !== 0;
      case T.U8:
        need(1);
        return bytes[p++]!;
      case T.I8:
        need(1);
        return dv.getInt8(p++);
      case T.U16:
        need(2);
        p += 2;
        return dv.getUint16(p - 2, true);
      case T.I16:
        need(2);
        p += 2;
        return dv.getInt16(p - 2, true);
      case T.U32:
        return u32();
      case T.I32:
        need(4);
        p += 4;
        return dv.getInt32(p - 4, true);
      case T.F32:
        need(4);
        p += 4;
        return dv.getFloat32(p - 4, true);
      case T.U64:
        need(8);
        p += 8;
        return dv.getBigUint64(p - 8, true);
      case T.I64:
        need(8);
        p += 8;
        return dv.getBigInt64(p - 8, true);
      case T.F64:
        need(8);
        p += 8;
        return dv.getFloat64(p - 8, true);
      default:
        throw new GgmlError(`GGUF value type ${type} unknown`);
    }
  };
  if (u32() !== GGUF_MAGIC) throw new GgmlError("not a GGUF file");
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  const kv = new Map<string, number | bigint | boolean | string | { arrayLength: number }>();
  const keys: string[] = [];
  let alignment = ALIGN;
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32();
    keys.push(key);
    if (type === T.ARRAY) {
      const et = u32();
      const n = u64();
      if (et === T.STRING) for (let k = 0; k < n; k++) str();
      else {
        const sz = sizes[et];
        if (sz === undefined) throw new GgmlError(`GGUF array type ${et} unknown`);
        need(n * sz);
        p += n * sz;
      }
      kv.set(key, { arrayLength: n });
    } else {
      const v = scalar(type);
      kv.set(key, v);
      if (key === "general.alignment" && typeof v === "number") alignment = v;
    }
  }
  const infos: { name: string; shape: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nd = u32();
    const shape: number[] = [];
    for (let d = 0; d < nd; d++) shape.push(u64());
    const type = u32();
    const offset = u64();
    infos.push({ name, shape, type, offset });
  }
  const dataStart = Math.ceil(p / alignment) * alignment;
  const tensors = infos.map((t) => {
    const rows = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const size = rows * rowBytes(t.type, t.shape[0]!);
    const start = dataStart + t.offset;
    if (start + size > bytes.length) throw new GgmlError(`GGUF tensor ${t.name} runs past the end of the file`);
    return { ...t, data: bytes.subarray(start, start + size) };
  });
  return { version, kv, keys, tensors };
}
