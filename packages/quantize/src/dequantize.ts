// Dequantizers: dequantize_row_* of ggml-quants.c, in float32 arithmetic (equal to ggml's to_float bit for bit).
import { f16ToF32Table, f16ToF32BitsTable } from "./half.js";

const fr = Math.fround;

export function dequantizeF16(bytes: Uint8Array, bOff: number, count: number, out: Float32Array): void {
  const t = f16ToF32BitsTable();
  const o32 = new Uint32Array(out.buffer, out.byteOffset, count);
  for (let i = 0, p = bOff; i < count; i++, p += 2) o32[i] = t[bytes[p]! | (bytes[p + 1]! << 8)]!;
}

export function dequantizeBF16(bytes: Uint8Array, bOff: number, count: number, out: Float32Array): void {
  const o32 = new Uint32Array(out.buffer, out.byteOffset, count);
  for (let i = 0, p = bOff; i < count; i++, p += 2) o32[i] = ((bytes[p]! | (bytes[p + 1]! << 8)) << 16) >>> 0;
}

export function dequantizeF32(bytes: Uint8Array, bOff: number, count: number, out: Float32Array): void {
  new Uint8Array(out.buffer, out.byteOffset, count * 4).set(bytes.subarray(bOff, bOff + count * 4));
}

export function dequantizeQ8_0(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 34) {
    const d = f16[b[o]! | (b[o + 1]! << 8)]!;
    for (let j = 0; j < 32; j++) y[k++] = ((b[o + 2 + j]! << 24) >> 24) * d;
  }
}

export function dequantizeQ4_0(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 18, k += 32) {
    const d = f16[b[o]! | (b[o + 1]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 2 + j]!;
      y[k + j] = ((q & 0x0f) - 8) * d;
      y[k + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

export function dequantizeQ5_0(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 22, k += 32) {
    const d = f16[b[o]! | (b[o + 1]! << 8)]!;
    const qh = (b[o + 2]! | (b[o + 3]! << 8) | (b[o + 4]! << 16) | (b[o + 5]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 6 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[k + j] = (((q & 0x0f) | h0) - 16) * d;
      y[k + j + 16] = (((q >> 4) | h1) - 16) * d;
    }
  }
}

export function dequantizeQ5_1(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 24, k += 32) {
    const d = f16[b[o]! | (b[o + 1]! << 8)]!;
    const m = f16[b[o + 2]! | (b[o + 3]! << 8)]!;
    const qh = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = b[o + 8 + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      y[k + j] = fr(((q & 0x0f) | h0) * d) + m;
      y[k + j + 16] = fr(((q >> 4) | h1) * d) + m;
    }
  }
}

function scaleMin(s: Uint8Array, base: number, j: number, out: Uint8Array): void {
  if (j < 4) {
    out[0] = s[base + j]! & 63;
    out[1] = s[base + j + 4]! & 63;
  } else {
    out[0] = (s[base + j + 4]! & 0xf) | ((s[base + j - 4]! >> 6) << 4);
    out[1] = (s[base + j + 4]! >> 4) | ((s[base + j]! >> 6) << 4);
  }
}
const SM = new Uint8Array(2);

export function dequantizeQ4_K(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 144) {
    const d = f16[b[o]! | (b[o + 1]! << 8)]!;
    const min = f16[b[o + 2]! | (b[o + 3]! << 8)]!;
    let q = o + 16;
    for (let is = 0; is < 8; is += 2) {
      scaleMin(b, o + 4, is, SM);
      const d1 = fr(d * SM[0]!);
      const m1 = fr(min * SM[1]!);
      scaleMin(b, o + 4, is + 1, SM);
      const d2 = fr(d * SM[0]!);
      const m2 = fr(min * SM[1]!);
      for (let l = 0; l < 32; l++) y[k++] = fr(d1 * (b[q + l]! & 0xf)) - m1;
      for (let l = 0; l < 32; l++) y[k++] = fr(d2 * (b[q + l]! >> 4)) - m2;
      q += 32;
    }
  }
}

export function dequantizeQ5_K(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 176) {
    const d = f16[b[o]! | (b[o + 1]! << 8)]!;
    const min = f16[b[o + 2]! | (b[o + 3]! << 8)]!;
    const qh = o + 16;
    let ql = o + 48;
    let u1 = 1;
    let u2 = 2;
    for (let is = 0; is < 8; is += 2) {
      scaleMin(b, o + 4, is, SM);
      const d1 = fr(d * SM[0]!);
      const m1 = fr(min * SM[1]!);
      scaleMin(b, o + 4, is + 1, SM);
      const d2 = fr(d * SM[0]!);
      const m2 = fr(min * SM[1]!);
      for (let l = 0; l < 32; l++) y[k++] = fr(d1 * ((b[ql + l]! & 0xf) + (b[qh + l]! & u1 ? 16 : 0))) - m1;
      for (let l = 0; l < 32; l++) y[k++] = fr(d2 * ((b[ql + l]! >> 4) + (b[qh + l]! & u2 ? 16 : 0))) - m2;
      ql += 32;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
}

export function dequantizeQ6_K(b: Uint8Array, o: number, nBlocks: number, y: Float32Array): void {
  const f16 = f16ToF32Table();
  let k = 0;
  for (let i = 0; i < nBlocks; i++, o += 210) {
    const d = f16[b[o + 208]! | (b[o + 209]! << 8)]!;
    let ql = o;
    let qh = o + 128;
    let sc = o + 192;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = b[qh + l]!;
        const q1 = ((b[ql + l]! & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
        y[k + l] = fr(d * ((b[sc + is]! << 24) >> 24)) * q1;
        y[k + l + 32] = fr(d * ((b[sc + is + 2]! << 24) >> 24)) * q2;
        y[k + l + 64] = fr(d * ((b[sc + is + 4]! << 24) >> 24)) * q3;
        y[k + l + 96] = fr(d * ((b[sc + is + 6]! << 24) >> 24)) * q4;
      }
      k += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}
