// 32-value block quantizers: Q8_0, Q4_0, Q5_0, Q5_1 — the *_ref routines of ggml-quants.c, in float32 arithmetic
// (Math.fround after every operation where C rounds to float), so the bytes equal ggml's.
import { f32ToF16 } from "./half.js";

const fr = Math.fround;

/** Q8_0: f16 d; i8 qs[32]. d = amax/127, q = roundf(x/d) (half away from zero). */
export function quantizeQ8_0(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 32, o += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(x[p + j]!);
      if (a > amax) amax = a;
    }
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    if (id > 3.4028234663852886e38) {
      // d is subnormal and 1/d overflowed: x·id is ±inf or NaN, which C's conversion turns into 0
      for (let j = 0; j < 32; j++) {
        const v = fr(x[p + j]! * id);
        out[o + 2 + j] = v - v === 0 ? (v < 0 ? v - 0.5 : v + 0.5) | 0 : 0;
      }
      continue;
    }
    for (let j = 0; j < 32; j++) {
      const v = fr(x[p + j]! * id); // |v| ≤ 127 (+ rounding)
      // roundf, half away from zero: floor(v + 0.5) is right except at negative ties (-2.5 → -3)
      let r = ((v + 128.5) | 0) - 128;
      if (r - v === 0.5 && v < 0) r -= 1;
      out[o + 2 + j] = r;
    }
  }
}

/** Q4_0: f16 d; u8 qs[16]. d = max/-8 (max = the value of largest magnitude), q = min(15, trunc(x/d + 8.5)). */
export function quantizeQ4_0(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 32, o += 18) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[p + j]!;
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < 16; j++) {
      let q0 = toInt8(fr(fr(x[p + j]! * id) + 8.5));
      let q1 = toInt8(fr(fr(x[p + 16 + j]! * id) + 8.5));
      if (q0 > 15) q0 = 15;
      if (q1 > 15) q1 = 15;
      out[o + 2 + j] = (q0 & 0xff) | ((q1 << 4) & 0xff);
    }
  }
}

/** Q5_0: f16 d; u8 qh[4]; u8 qs[16]. d = max/-16, q = min(31, trunc(x/d + 16.5)). */
export function quantizeQ5_0(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 32, o += 22) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = x[p + j]!;
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = fr(max / -16);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      let q0 = toInt8(fr(fr(x[p + j]! * id) + 16.5));
      let q1 = toInt8(fr(fr(x[p + 16 + j]! * id) + 16.5));
      if (q0 > 31) q0 = 31;
      if (q1 > 31) q1 = 31;
      q0 &= 0xff;
      q1 &= 0xff;
      out[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    out[o + 2] = qh & 0xff;
    out[o + 3] = (qh >>> 8) & 0xff;
    out[o + 4] = (qh >>> 16) & 0xff;
    out[o + 5] = (qh >>> 24) & 0xff;
  }
}

/** Q5_1: f16 d; f16 m; u8 qh[4]; u8 qs[16]. d = (max-min)/31, m = min, q = trunc((x-min)/d + 0.5). */
export function quantizeQ5_1(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 32, o += 24) {
    let min = 3.4028234663852886e38;
    let max = -3.4028234663852886e38;
    for (let j = 0; j < 32; j++) {
      const v = x[p + j]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d = fr(fr(max - min) / 31);
    const id = d !== 0 ? fr(1 / d) : 0;
    const hd = f32ToF16(d);
    const hm = f32ToF16(min);
    out[o] = hd & 0xff;
    out[o + 1] = hd >>> 8;
    out[o + 2] = hm & 0xff;
    out[o + 3] = hm >>> 8;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = toUint8(fr(fr(fr(x[p + j]! - min) * id) + 0.5));
      const q1 = toUint8(fr(fr(fr(x[p + 16 + j]! - min) * id) + 0.5));
      out[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 & 0x10) >>> 4) << j;
      qh |= ((q1 & 0x10) >>> 4) << (j + 16);
    }
    out[o + 4] = qh & 0xff;
    out[o + 5] = (qh >>> 8) & 0xff;
    out[o + 6] = (qh >>> 16) & 0xff;
    out[o + 7] = (qh >>> 24) & 0xff;
  }
}

// C's float → int8_t / uint8_t conversions as x86 compiles them (cvttss2si to int32, keep the low byte):
// truncation toward zero; NaN and out-of-range values give INT32_MIN, whose low byte is 0.
function toInt8(v: number): number {
  if (!(v > -2147483648.5 && v < 2147483648)) return 0;
  return ((v | 0) << 24) >> 24;
}

function toUint8(v: number): number {
  if (!(v > -2147483648.5 && v < 2147483648)) return 0;
  return (v | 0) & 0xff;
}
