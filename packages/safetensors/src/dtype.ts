// Element types of safetensors files and conversions between the float ones (little-endian hosts only).

export type Dtype =
  "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U64" | "U32" | "U16" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2";

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

/** The float dtypes that can be read as Float32Array. */
export type FloatDtype = "F64" | "F32" | "F16" | "BF16";
export const isFloatDtype = (d: string): d is FloatDtype => d === "F32" || d === "F16" || d === "BF16" || d === "F64";

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("@neural/safetensors needs a little-endian host");
}

let f16Table: Float32Array | undefined;
/** f16 bit pattern -> float32 value, for all 65536 patterns. */
function table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

export function f16BitsToF32(bits: number): number {
  return table()[bits & 0xffff]!;
}

/** float32 -> f16 bits, rounding to nearest even (as numpy's astype(float16) and ggml's FP32_TO_FP16 do). */
export function f32ToF16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 -> bf16 bits, rounding to nearest even (as torch does); NaN stays NaN. */
export function f32ToBf16Bits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes little-endian float bytes of the given dtype into `out` (or a new Float32Array). */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype, out?: Float32Array): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const target = out ?? new Float32Array(n);
  const aligned = (bytes.byteOffset % DTYPE_BYTES[dtype] === 0 ? bytes : bytes.slice()) as Uint8Array;
  switch (dtype) {
    case "F32":
      target.set(new Float32Array(aligned.buffer, aligned.byteOffset, n));
      break;
    case "F64": {
      const src = new Float64Array(aligned.buffer, aligned.byteOffset, n);
      for (let i = 0; i < n; i++) target[i] = src[i]!;
      break;
    }
    case "F16": {
      const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const t = table();
      for (let i = 0; i < n; i++) target[i] = t[src[i]!]!;
      break;
    }
    case "BF16": {
      const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const dst = new Uint32Array(target.buffer, target.byteOffset, n);
      for (let i = 0; i < n; i++) dst[i] = src[i]! << 16;
      break;
    }
  }
  return target;
}

/** Encodes float32 values as little-endian bytes of the given float dtype. */
export function encodeFloats(values: Float32Array, dtype: FloatDtype): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case "F32":
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + n * 4));
    case "F64": {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i]!;
      return new Uint8Array(out.buffer);
    }
    case "F16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToF16Bits(values[i]!);
      return new Uint8Array(out.buffer);
    }
    case "BF16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32ToBf16Bits(values[i]!);
      return new Uint8Array(out.buffer);
    }
  }
}
