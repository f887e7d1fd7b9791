// Element types of the graph and how each maps to ONNX and to JavaScript typed arrays.

export type DType = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int8" | "uint8" | "bool" | "int4" | "uint4";

/** TensorProto.DataType numbers from onnx.proto. */
export const onnxDataType: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
  uint4: 21,
  int4: 22,
};

/** Bits per element (int4/uint4 pack two elements per byte, low nibble first). */
export const dtypeBits: Record<DType, number> = {
  float32: 32,
  float64: 64,
  float16: 16,
  bfloat16: 16,
  int64: 64,
  int32: 32,
  int8: 8,
  uint8: 8,
  bool: 8,
  int4: 4,
  uint4: 4,
};

export const isFloat = (d: DType): boolean => d === "float32" || d === "float64" || d === "float16" || d === "bfloat16";
export const isInteger = (d: DType): boolean =>
  d === "int64" || d === "int32" || d === "int8" || d === "uint8" || d === "int4" || d === "uint4";

/** The typed array that holds one element type in JavaScript (bool as 0/1 bytes, 16-bit floats as raw bits). */
export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

export function byteLength(dtype: DType, size: number): number {
  return Math.ceil((size * dtypeBits[dtype]) / 8);
}

/** A typed array of `size` elements holding `values` (numbers; bigint allowed for int64). */
export function typedArrayOf(dtype: DType, values: ArrayLike<number | bigint>): TypedArray {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values, Number);
    case "float64":
      return Float64Array.from(values, Number);
    case "int64":
      return BigInt64Array.from(values, (v) => BigInt(v));
    case "int32":
      return Int32Array.from(values, Number);
    case "int8":
      return Int8Array.from(values, Number);
    case "uint8":
    case "bool":
      return Uint8Array.from(values, Number);
    case "float16":
      return Uint16Array.from(values, (v) => float16Bits(Number(v)));
    default:
      throw new TypeError(`typedArrayOf: no JavaScript array for dtype ${dtype}`);
  }
}

/** IEEE half-precision bits of a number, rounded to nearest even. */
export function float16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** float32 values as IEEE half-precision bits (round to nearest even). */
export function toFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float16Bits(values[i]!);
  return out;
}

/** float32 values as bfloat16 bits (the upper half of the float32, rounded to nearest even; NaN stays NaN). */
export function toBFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}
