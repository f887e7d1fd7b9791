// 256-value super-block quantizers: Q4_K, Q5_K, Q6_K — quantize_row_q{4,5,6}_K_ref of ggml-quants.c (the path
// llama-quantize takes without an importance matrix), in float32 arithmetic so the bytes equal ggml's.
// Reductions are summed in C's order; nothing is reassociated.
import { f32ToF16, f16ToF32Table } from "./half.js";

const fr = Math.fround;
const MAGIC = 12582912; // 1.5 · 2^23: nearest_int's rounding constant

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** ggml's nearest_int for any float32 (the bit trick, also where its assert would fail: huge values, NaN). */
function nearestIntSlow(f: number): number {
  F32[0] = f + MAGIC;
  return (I32[0]! & 0x007fffff) - 0x00400000;
}

// scratch, reused by every block (one module instance per thread). Float64Array holds float32 values exactly and
// spares a conversion on every load.
const L = new Uint8Array(256); // the chosen levels of a super-block
const SCALES = new Float32Array(16);
const MINS = new Float32Array(8);
const LS = new Uint8Array(8);
const LM = new Uint8Array(8);
const X64 = new Float64Array(32); // the sub-block's values
const W64 = new Float64Array(32); // weights
const XM64 = new Float64Array(32); // x - min
const LA = new Float64Array(32); // levels of the current step
const LP = new Float64Array(32); // levels of the previous evaluated step (same min)
const PS1 = new Float64Array(32); // running sums of the previous evaluated step, after each element
const PS2 = new Float64Array(32);
const PS3 = new Float64Array(32);
const ERR = new Float64Array(32); // error terms of the current step
const DMAGIC = 6755399441055744; // 1.5 · 2^52: (v + DMAGIC) - DMAGIC rounds a double to an integer, ties to even

// Per type: [nmax, then (rmin + rdelta·is + nmax) in float32 for each step is = 0..nstep of make_qkx2_quants].
// nmax is read from this Float64Array on purpose: V8 then keeps the clamped levels unboxed doubles (a clamp against
// a plain parameter makes it box every level, which costs 2×).
function stepNumerators(nmax: number, rmin: number, rdelta: number, nstep: number): Float64Array {
  const t = new Float64Array(nstep + 2);
  t[0] = nmax;
  for (let is = 0; is <= nstep; is++) t[is + 1] = fr(fr(fr(rmin) + fr(fr(rdelta) * is)) + nmax);
  return t;
}
const Q4K_STEPS = stepNumerators(15, -1, 0.1, 20);
const Q5K_STEPS = stepNumerators(31, -0.5, 0.1, 15);

/**
 * make_qkx2_quants(n = 32, nmax, x = X64, weights = W64, L + lOff, &min, Laux, rmin, rdelta, nstep, use_mad = false):
 * x ≈ scale·L - min with L ∈ [0, nmax]. Returns the scale; the min (≥ 0) goes to MINS[j].
 *
 * Exact shortcuts (the result is ggml's bit for bit):
 * - a step whose levels equal those of the previous evaluated step (under the same min) gives the same sums and the
 *   same error, which cannot beat the best error, so it is skipped;
 * - the running sums are sequential, so a step that shares its first k levels with the previous evaluated step
 *   starts from that step's running sums after k elements;
 * - the error is a sum of non-negative terms: once it reaches the best error, the step cannot win; and when a
 *   more precise sum of the same terms exceeds the best error by far more than rounding can explain, neither.
 */
function makeQkx2(steps: Float64Array, lOff: number, j: number): number {
  const nmax = steps[0]!;
  const x = X64;
  const w = W64;
  const xm = XM64;
  const la = LA;
  const lp = LP;
  const ps1 = PS1;
  const ps2 = PS2;
  const ps3 = PS3;
  let min = x[0]!;
  let max = min;
  let sumW = w[0]!;
  let sumX = fr(sumW * min);
  for (let i = 1; i < 32; i++) {
    const v = x[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const wi = w[i]!;
    sumW = fr(sumW + wi);
    sumX = fr(sumX + fr(wi * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lOff, lOff + 32);
    MINS[j] = -min;
    return 0;
  }
  let range = fr(max - min);
  let iscale = fr(nmax / range);
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < 32; i++) {
    const v = x[i]!;
    const d = fr(v - min);
    xm[i] = d;
    const s = fr(iscale * d);
    let l = s <= 4194303 && s >= -4194303 ? s + DMAGIC - DMAGIC : nearestIntSlow(s);
    if (l > nmax) l = nmax;
    if (l < 0) l = 0;
    L[lOff + i] = l;
    const diff = fr(fr(fr(scale * l) + min) - v);
    bestError = fr(bestError + fr(w[i]! * fr(diff * diff)));
  }
  let havePrev = false;
  for (let is = 1; is < steps.length; is++) {
    iscale = fr(steps[is]! / range);
    // levels of this step, and the first one that differs from the previous evaluated step
    let first = havePrev ? 32 : 0;
    for (let i = 0; i < 32; i++) {
      const s = fr(iscale * xm[i]!);
      let l = s <= 4194303 && s >= -4194303 ? s + DMAGIC - DMAGIC : nearestIntSlow(s);
      if (l > nmax) l = nmax;
      if (l < 0) l = 0;
      la[i] = l;
      if (l !== lp[i] && i < first) first = i;
    }
    if (first === 32) continue; // same levels, same min: same error as before, which did not win or already won
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    if (first > 0) {
      sumL = ps1[first - 1]!;
      sumL2 = ps2[first - 1]!;
      sumXL = ps3[first - 1]!;
    }
    for (let i = first; i < 32; i++) {
      const l = la[i]!;
      lp[i] = l;
      const wl = fr(w[i]! * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * x[i]!));
      ps1[i] = sumL;
      ps2[i] = sumL2;
      ps3[i] = sumXL;
    }
    havePrev = true;
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
    let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = fr(sumXL / sumL2);
    }
    // the error terms, and their sum in double precision (within 32·2^-53 of the exact sum; C's float32 sum in
    // order is within 31·2^-24 of it): when that sum exceeds the best error by 1e-5 (relative), C's cannot be
    // below it and this step cannot win
    const e = ERR;
    let approx = 0;
    for (let k = 0; k < 32; k++) {
      const diff = fr(fr(fr(thisScale * la[k]!) + thisMin) - x[k]!);
      const t = fr(w[k]! * fr(diff * diff));
      e[k] = t;
      approx += t;
    }
    if (approx > bestError * 1.00001 && approx < 1e30) continue;
    let curError = 0;
    let i = 0;
    for (; i < 32; i++) {
      curError = fr(curError + e[i]!);
      if (!(curError < bestError)) break;
    }
    if (i < 32) continue;
    for (let k = 0; k < 32; k++) L[lOff + k] = la[k]!;
    bestError = curError;
    scale = thisScale;
    // as in ggml, the following steps measure from the new min: (max - min) and (x - min) change with it
    if (thisMin !== min) {
      min = thisMin;
      range = fr(max - min);
      for (let k = 0; k < 32; k++) xm[k] = fr(x[k]! - min);
      havePrev = false;
    }
  }
  MINS[j] = -min;
  return scale;
}

/** Steps 1–2 of Q4_K/Q5_K: per-sub-block (scale, min), their 6-bit codes, and the f16 d and dmin. */
function kScalesMins(x: Float32Array, p: number, steps: Float64Array, out: Uint8Array, o: number): void {
  const xs = X64;
  const w = W64;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const q = p + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = x[q + l]!;
      xs[l] = v;
      sumX2 = fr(sumX2 + fr(v * v));
    }
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) w[l] = fr(avX + Math.abs(xs[l]!));
    const scale = makeQkx2(steps, 32 * j, j);
    SCALES[j] = scale;
    if (scale > maxScale) maxScale = scale;
    const min = MINS[j]!;
    if (min > maxMin) maxMin = min;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    let ls = nearestIntSlow(fr(invScale * SCALES[j]!)) & 0xff;
    let lm = nearestIntSlow(fr(invMin * MINS[j]!)) & 0xff;
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    LS[j] = ls;
    LM[j] = lm;
  }
  // 12-byte packing of the eight 6-bit (scale, min) pairs
  for (let j = 0; j < 4; j++) {
    out[o + 4 + j] = LS[j]! | ((LS[j + 4]! >> 4) << 6);
    out[o + 8 + j] = LM[j]! | ((LM[j + 4]! >> 4) << 6);
    out[o + 12 + j] = (LS[j + 4]! & 0xf) | ((LM[j + 4]! & 0xf) << 4);
  }
  const hd = f32ToF16(fr(maxScale / 63));
  const hm = f32ToF16(fr(maxMin / 63));
  out[o] = hd & 0xff;
  out[o + 1] = hd >>> 8;
  out[o + 2] = hm & 0xff;
  out[o + 3] = hm >>> 8;
}

/** Step 4 of Q4_K/Q5_K: re-quantize every sub-block with the rounded d·sc and dmin·m. */
function kRequantize(x: Float32Array, p: number, steps: Float64Array, out: Uint8Array, o: number): void {
  const nmax = steps[0]!;
  const f16 = f16ToF32Table();
  const d0 = f16[out[o]! | (out[o + 1]! << 8)]!;
  const m0 = f16[out[o + 2]! | (out[o + 3]! << 8)]!;
  for (let j = 0; j < 8; j++) {
    const d = fr(d0 * LS[j]!);
    if (d === 0) continue;
    const dm = fr(m0 * LM[j]!);
    const q = p + 32 * j;
    const lOff = 32 * j;
    for (let i = 0; i < 32; i++) {
      const s = fr(fr(x[q + i]! + dm) / d);
      let l = s <= 4194303 && s >= -4194303 ? fr(s + MAGIC) - MAGIC : nearestIntSlow(s);
      if (l > nmax) l = nmax;
      if (l < 0) l = 0;
      L[lOff + i] = l;
    }
  }
}

/** Q4_K: f16 d; f16 dmin; u8 scales[12]; u8 qs[128]. */
export function quantizeQ4_K(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 256, o += 144) {
    kScalesMins(x, p, Q4K_STEPS, out, o);
    kRequantize(x, p, Q4K_STEPS, out, o);
    let q = o + 16;
    for (let j = 0; j < 256; j += 64) {
      for (let l = 0; l < 32; l++) out[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
      q += 32;
    }
  }
}

/** Q5_K: f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]. */
export function quantizeQ5_K(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 256, o += 176) {
    kScalesMins(x, p, Q5K_STEPS, out, o);
    kRequantize(x, p, Q5K_STEPS, out, o);
    const qh = o + 16;
    let ql = o + 48;
    out.fill(0, qh, qh + 32);
    let m1 = 1;
    let m2 = 2;
    for (let n = 0; n < 256; n += 64) {
      for (let j = 0; j < 32; j++) {
        let l1 = L[n + j]!;
        if (l1 > 15) {
          l1 -= 16;
          out[qh + j] |= m1;
        }
        let l2 = L[n + j + 32]!;
        if (l2 > 15) {
          l2 -= 16;
          out[qh + j] |= m2;
        }
        out[ql + j] = l1 | (l2 << 4);
      }
      m1 <<= 2;
      m2 <<= 2;
      ql += 32;
    }
  }
}

const GROUP_MAX_EPS = fr(1e-15);
// -(nmax + 0.1f·is) for is = -9..9 (index is + 9), nmax = 32
const Q6K_STEPS = (() => {
  const t = new Float64Array(19);
  for (let is = -9; is <= 9; is++) t[is + 9] = -fr(32 + fr(fr(0.1) * is));
  return t;
})();
const QX = new Float64Array(16); // the sub-block's values
const WX = new Float64Array(16); // w·x with w = x²
const WQ = new Float64Array(16); // w = x²
const LC = new Float64Array(16); // levels of the current step
const LPQ = new Float64Array(16); // levels of the previous evaluated step
const PQ1 = new Float64Array(16); // its running sums after each element
const PQ2 = new Float64Array(16);

/**
 * make_qx_quants(n = 16, nmax = 32, x, L, rmse_type = 1, qw = NULL); levels (l + 32) go to L[lOff..].
 * Exact shortcuts as in makeQkx2: a step with the same levels as the step just before it gives the same sums and
 * the same decision (nothing changes), so it is skipped; a step that shares its first k levels with the previous
 * one starts from that step's running sums after k elements.
 */
function makeQx(x: Float32Array, p: number, lOff: number): number {
  const xs = QX;
  const wq = WQ;
  const wx = WX;
  const lc = LC;
  const lp = LPQ;
  const p1 = PQ1;
  const p2 = PQ2;
  let max = 0;
  let amax = 0;
  for (let i = 0; i < 16; i++) {
    const v = x[p + i]!;
    xs[i] = v;
    const a = Math.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lOff, lOff + 16);
    return 0;
  }
  let iscale = fr(-32 / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < 16; i++) {
    const v = xs[i]!;
    const w = fr(v * v);
    const t = fr(w * v);
    wq[i] = w;
    wx[i] = t;
    const s = fr(iscale * v);
    let l = s <= 4194303 && s >= -4194303 ? s + DMAGIC - DMAGIC : nearestIntSlow(s);
    if (l > 31) l = 31;
    if (l < -32) l = -32;
    L[lOff + i] = l + 32;
    lp[i] = l;
    sumlx = fr(sumlx + fr(t * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
    p1[i] = sumlx;
    p2[i] = suml2;
  }
  let scale = suml2 !== 0 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let k = 0; k < 19; k++) {
    if (k === 9) continue;
    iscale = fr(Q6K_STEPS[k]! / max);
    let first = 16;
    for (let i = 0; i < 16; i++) {
      const s = fr(iscale * xs[i]!);
      let l = s <= 4194303 && s >= -4194303 ? s + DMAGIC - DMAGIC : nearestIntSlow(s);
      if (l > 31) l = 31;
      if (l < -32) l = -32;
      lc[i] = l;
      if (l !== lp[i] && i < first) first = i;
    }
    if (first === 16) continue;
    sumlx = first > 0 ? p1[first - 1]! : 0;
    suml2 = first > 0 ? p2[first - 1]! : 0;
    for (let i = first; i < 16; i++) {
      const l = lc[i]!;
      lp[i] = l;
      sumlx = fr(sumlx + fr(wx[i]! * l));
      suml2 = fr(suml2 + fr(fr(wq[i]! * l) * l));
      p1[i] = sumlx;
      p2[i] = suml2;
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < 16; i++) L[lOff + i] = lc[i]! + 32;
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

/** Q6_K: u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d (last). */
export function quantizeQ6_K(x: Float32Array, xOff: number, nBlocks: number, out: Uint8Array, oOff: number): void {
  const f16 = f16ToF32Table();
  let p = xOff;
  let o = oOff;
  for (let b = 0; b < nBlocks; b++, p += 256, o += 210) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQx(x, p + 16 * ib, 16 * ib);
      SCALES[ib] = scale;
      const a = Math.abs(scale);
      if (a > maxAbsScale) {
        maxAbsScale = a;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      out.fill(0, o, o + 210);
      continue;
    }
    const iscale = fr(-128 / maxScale);
    const hd = f32ToF16(fr(1 / iscale));
    out[o + 208] = hd & 0xff;
    out[o + 209] = hd >>> 8;
    const d0 = f16[hd]!;
    for (let ib = 0; ib < 16; ib++) {
      let sc = nearestIntSlow(fr(iscale * SCALES[ib]!));
      if (sc > 127) sc = 127;
      sc = (sc << 24) >> 24; // stored as int8
      out[o + 192 + ib] = sc & 0xff;
      const d = fr(d0 * sc);
      if (d === 0) continue;
      const q = p + 16 * ib;
      const lOff = 16 * ib;
      for (let i = 0; i < 16; i++) {
        const s = fr(x[q + i]! / d);
        let l = s <= 4194303 && s >= -4194303 ? fr(s + MAGIC) - MAGIC : nearestIntSlow(s);
        if (l > 31) l = 31;
        if (l < -32) l = -32;
        L[lOff + i] = l + 32;
      }
    }
    let ql = o;
    let qh = o + 128;
    for (let j = 0; j < 256; j += 128) {
      for (let l = 0; l < 32; l++) {
        const a = L[j + l]!;
        const b2 = L[j + l + 32]!;
        const c = L[j + l + 64]!;
        const e = L[j + l + 96]!;
        out[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
        out[ql + l + 32] = (b2 & 0xf) | ((e & 0xf) << 4);
        out[qh + l] = (a >> 4) | ((b2 >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
      ql += 64;
      qh += 32;
    }
  }
}
