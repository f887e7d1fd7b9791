// IEEE half and bfloat16 conversions with ggml's exact results (ggml-impl.h):
// - fp32 → fp16: round to nearest even, overflow to ±inf, NaN → sign | 0x7e00 (ggml_compute_fp32_to_fp16).
// - fp32 → bf16: round to nearest even on the top 16 bits; NaN keeps its top bits and is forced quiet (| 64).
// - fp16 → fp32 and bf16 → fp32 are exact; a NaN half comes back quiet (bit 22 set), as ggml's does on x86.

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** fp16 bits of the float32 whose bit pattern is `x` (an unsigned 32-bit integer). */
export function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00; // NaN
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 rounds to infinity
  if (abs >= 0x38800000) {
    // normal half: rebias the exponent (127 → 15), round the 13 dropped bits to nearest even
    let h = (abs - 0x38000000) >>> 13;
    const rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++;
    return sign | h;
  }
  if (abs <= 0x33000000) return sign; // ≤ 2^-25 rounds to zero (2^-25 is a tie, to even 0)
  // subnormal half: value / 2^-24 rounded to nearest even (1024 carries into the smallest normal)
  const e = abs >>> 23; // 102..112
  const m = (abs & 0x7fffff) | 0x800000; // value = m · 2^(e-150); in units of 2^-24: m · 2^(e-126)
  const shift = 126 - e; // 14..24
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) !== 0)) h++;
  return sign | h;
}

/** fp16 bits of a number (first rounded to float32, as C would hold it in a float). */
export function f32ToF16(value: number): number {
  F32[0] = value;
  return f32BitsToF16(U32[0]!);
}

/** bf16 bits of the float32 whose bit pattern is `x`. */
export function f32BitsToBf16(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 64) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f32ToBf16(value: number): number {
  F32[0] = value;
  return f32BitsToBf16(U32[0]!);
}

let f16Table: Uint32Array | undefined;
let f16TableF32: Float32Array | undefined;

function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13) | (mant !== 0 ? 0x400000 : 0)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: normalise
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** The 65536 float32 bit patterns of every half, built once. */
export function f16ToF32BitsTable(): Uint32Array {
  if (!f16Table) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f16BitsToF32Bits(h);
    f16Table = t;
    f16TableF32 = new Float32Array(t.buffer);
  }
  return f16Table;
}

/** The float32 value of every half (NaNs as JS NaN). */
export function f16ToF32Table(): Float32Array {
  if (!f16TableF32) f16ToF32BitsTable();
  return f16TableF32!;
}

/** The value of half bits `h`. */
export function f16ToF32(h: number): number {
  return f16ToF32Table()[h & 0xffff]!;
}

/** The value of bf16 bits `h`. */
export function bf16ToF32(h: number): number {
  U32[0] = (h & 0xffff) << 16;
  return F32[0]!;
}
