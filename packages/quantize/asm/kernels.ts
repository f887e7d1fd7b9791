// AssemblyScript source of the WebAssembly block quantizers (compiled by scripts/build-wasm.mjs into
// src/wasm-kernels.ts). The same algorithms as src/legacy.ts and src/kquants.ts — ggml-quants.c's *_ref routines —
// but in native f32 arithmetic, which is what ggml computes in (IEEE single precision, no FMA, no reassociation).
// Every kernel: (x: pointer to f32 values, nBlocks, y: pointer to the output blocks).

// ---------------------------------------------------------------------------------------------------------------
// helpers

const MAGIC: f32 = 12582912.0; // 1.5 · 2^23

// ggml's nearest_int: round to nearest even through the float32 bit pattern of f + 1.5·2^23
@inline function nearestInt(f: f32): i32 {
  return (reinterpret<i32>(f + MAGIC) & 0x007fffff) - 0x00400000;
}

// C's float → int conversion as x86 compiles it (cvttss2si): truncation; NaN and out of range give INT32_MIN
@inline function cvtt(v: f32): i32 {
  if (v >= <f32>-2147483648.0 && v < <f32>2147483648.0) return <i32>v;
  return i32.MIN_VALUE;
}

function f32ToF16(f: f32): u32 {
  const x = reinterpret<u32>(f);
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs >= 0x38800000) {
    let h = (abs - 0x38000000) >>> 13;
    const rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
    return sign | h;
  }
  if (abs <= 0x33000000) return sign;
  const e = abs >>> 23;
  const m = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let h = m >>> shift;
  const rem = m & ((<u32>1 << shift) - 1);
  const half = <u32>1 << (shift - 1);
  if (rem > half || (rem == half && (h & 1) != 0)) h++;
  return sign | h;
}

function f16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0x1f) return reinterpret<f32>(sign | 0x7f800000 | (mant << 13) | (mant != 0 ? 0x400000 : 0));
  if (exp != 0) return reinterpret<f32>(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return reinterpret<f32>(sign);
  let e: u32 = 113;
  let m = mant;
  while ((m & 0x400) == 0) {
    m <<= 1;
    e--;
  }
  return reinterpret<f32>(sign | (e << 23) | ((m & 0x3ff) << 13));
}

@inline function storeF16(p: usize, f: f32): u32 {
  const h = f32ToF16(f);
  store<u16>(p, <u16>h);
  return h;
}

const SCRATCH16 = memory.data(16, 16);

@inline function ld(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

// ---------------------------------------------------------------------------------------------------------------
// 32-value blocks

export function q8_0(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    // amax: the max of |x| (order does not matter for a max of non-NaN values)
    let m4 = f32x4.abs(v128.load(x));
    for (let k = 1; k < 8; k++) m4 = f32x4.max(m4, f32x4.abs(v128.load(x + (<usize>k << 4))));
    const ma = f32x4.extract_lane(m4, 0);
    const mb = f32x4.extract_lane(m4, 1);
    const mc = f32x4.extract_lane(m4, 2);
    const md = f32x4.extract_lane(m4, 3);
    const m01 = ma > mb ? ma : mb;
    const m23 = mc > md ? mc : md;
    const amax = m01 > m23 ? m01 : m23;
    const d: f32 = amax / 127;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    storeF16(y, d);
    if (id < Infinity) {
      // roundf(x·id), half away from zero, per lane: |x·id| ≤ 127, so trunc and the fraction are exact
      const id4 = f32x4.splat(id);
      const half = f32x4.splat(0.5);
      const mhalf = f32x4.splat(-0.5);
      for (let k = 0; k < 8; k += 2) {
        const v0 = f32x4.mul(v128.load(x + (<usize>k << 4)), id4);
        const v1 = f32x4.mul(v128.load(x + (<usize>(k + 1) << 4)), id4);
        const t0 = f32x4.trunc(v0);
        const t1 = f32x4.trunc(v1);
        const f0 = f32x4.sub(v0, t0);
        const f1 = f32x4.sub(v1, t1);
        // the masks are -1 (all ones) where true: t - mask(frac ≥ .5) + mask(frac ≤ -.5)
        const r0 = i32x4.add(
          i32x4.sub(i32x4.trunc_sat_f32x4_s(t0), f32x4.ge(f0, half)),
          f32x4.le(f0, mhalf),
        );
        const r1 = i32x4.add(
          i32x4.sub(i32x4.trunc_sat_f32x4_s(t1), f32x4.ge(f1, half)),
          f32x4.le(f1, mhalf),
        );
        const r16 = i16x8.narrow_i32x4_s(r0, r1);
        if (k == 0 || k == 4) v128.store(SCRATCH16, r16);
        else {
          const q = i8x16.narrow_i16x8_s(v128.load(SCRATCH16), r16);
          v128.store(y + 2 + (<usize>(k - 2) << 2), q);
        }
      }
    } else {
      // d is subnormal and 1/d overflowed: x·id is ±inf or NaN, which C's conversion turns into 0
      for (let j = 0; j < 32; j++) {
        const v = ld(x, j) * id;
        store<u8>(y + 2 + j, <u8>cvtt(Mathf.abs(v) < <f32>8388608.0 ? Mathf.trunc(v) : v));
      }
    }
    x += 128;
    y += 34;
  }
}

export function q4_0(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    let amax: f32 = 0;
    let max: f32 = 0;
    for (let j = 0; j < 32; j++) {
      const v = ld(x, j);
      const a = Mathf.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d: f32 = max / -8;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    storeF16(y, d);
    for (let j = 0; j < 16; j++) {
      let q0 = <i32>(<i8>cvtt(ld(x, j) * id + <f32>8.5));
      let q1 = <i32>(<i8>cvtt(ld(x, j + 16) * id + <f32>8.5));
      if (q0 > 15) q0 = 15;
      if (q1 > 15) q1 = 15;
      store<u8>(y + 2 + j, <u8>((q0 & 0xff) | ((q1 << 4) & 0xff)));
    }
    x += 128;
    y += 18;
  }
}

export function q5_0(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    let amax: f32 = 0;
    let max: f32 = 0;
    for (let j = 0; j < 32; j++) {
      const v = ld(x, j);
      const a = Mathf.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d: f32 = max / -16;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    storeF16(y, d);
    let qh: u32 = 0;
    for (let j = 0; j < 16; j++) {
      let q0 = <i32>(<i8>cvtt(ld(x, j) * id + <f32>16.5));
      let q1 = <i32>(<i8>cvtt(ld(x, j + 16) * id + <f32>16.5));
      if (q0 > 31) q0 = 31;
      if (q1 > 31) q1 = 31;
      q0 &= 0xff;
      q1 &= 0xff;
      store<u8>(y + 6 + j, <u8>((q0 & 0x0f) | ((q1 & 0x0f) << 4)));
      qh |= (<u32>(q0 & 0x10) >> 4) << j;
      qh |= (<u32>(q1 & 0x10) >> 4) << (j + 16);
    }
    store<u32>(y + 2, qh);
    x += 128;
    y += 22;
  }
}

export function q5_1(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    let min: f32 = f32.MAX_VALUE;
    let max: f32 = -f32.MAX_VALUE;
    for (let j = 0; j < 32; j++) {
      const v = ld(x, j);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const d: f32 = (max - min) / 31;
    const id: f32 = d != 0 ? <f32>1 / d : 0;
    storeF16(y, d);
    storeF16(y + 2, min);
    let qh: u32 = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = cvtt((ld(x, j) - min) * id + <f32>0.5) & 0xff;
      const q1 = cvtt((ld(x, j + 16) - min) * id + <f32>0.5) & 0xff;
      store<u8>(y + 8 + j, <u8>((q0 & 0x0f) | ((q1 & 0x0f) << 4)));
      qh |= (<u32>(q0 & 0x10) >> 4) << j;
      qh |= (<u32>(q1 & 0x10) >> 4) << (j + 16);
    }
    store<u32>(y + 4, qh);
    x += 128;
    y += 24;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Q4_K / Q5_K
//
// The search loops run in f32x4 lanes wherever the C code's operations are independent per element (the levels,
// the products that feed the sums, the error terms): each lane computes exactly what C computes for that element.
// Only the sums themselves, which C accumulates in order, stay scalar and in order.

const L = memory.data(256, 16); // levels of a super-block (u8)
const LA = memory.data(32 * 4, 16); // levels of the current step (i32)
const LP = memory.data(32 * 4, 16); // levels of the previous evaluated step (i32), or -1
const T1 = memory.data(32 * 4, 16); // per-element terms of the sums (f32)
const T2 = memory.data(32 * 4, 16);
const T3 = memory.data(32 * 4, 16);
const PS1 = memory.data(32 * 4, 16); // running sums of the previous evaluated step (f32)
const PS2 = memory.data(32 * 4, 16);
const PS3 = memory.data(32 * 4, 16);
const W = memory.data(32 * 4, 16); // weights (f32)
const XM = memory.data(32 * 4, 16); // x - min (f32)
const SCALES = memory.data(16 * 4, 16);
const MINS = memory.data(8 * 4, 16);
const LS = memory.data(8);
const LM = memory.data(8);

@inline function ldi(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize>i << 2));
}
@inline function stf(p: usize, i: i32, v: f32): void {
  store<f32>(p + (<usize>i << 2), v);
}

// 16 i32 levels at src (+ bias) as 16 bytes at dst
@inline function storeLevels16(dst: usize, src: usize, bias: i32): void {
  const b = i32x4.splat(bias);
  const a = i16x8.narrow_i32x4_s(i32x4.add(v128.load(src), b), i32x4.add(v128.load(src + 16), b));
  const c = i16x8.narrow_i32x4_s(i32x4.add(v128.load(src + 32), b), i32x4.add(v128.load(src + 48), b));
  v128.store(dst, i8x16.narrow_i16x8_u(a, c));
}

// levels clamp(nearest_int(iscale · v), lo, hi) of 4 lanes
@inline function levels4(iscale: v128, v: v128, lo: v128, hi: v128): v128 {
  const t = f32x4.add(f32x4.mul(iscale, v), f32x4.splat(MAGIC));
  const l = i32x4.sub(v128.and(t, i32x4.splat(0x007fffff)), i32x4.splat(0x00400000));
  return i32x4.max_s(i32x4.min_s(l, hi), lo);
}

// mask of the lanes of 16 levels at p that differ from those at q (bit i = element i)
function diffMask16(p: usize, q: usize): u32 {
  const a = <u32>i32x4.bitmask(v128.not(i32x4.eq(v128.load(p), v128.load(q))));
  const b = <u32>i32x4.bitmask(v128.not(i32x4.eq(v128.load(p, 16), v128.load(q, 16))));
  const c = <u32>i32x4.bitmask(v128.not(i32x4.eq(v128.load(p, 32), v128.load(q, 32))));
  const d = <u32>i32x4.bitmask(v128.not(i32x4.eq(v128.load(p, 48), v128.load(q, 48))));
  return a | (b << 4) | (c << 8) | (d << 12);
}

// 32 levels of XM at iscale into LA; returns the mask of lanes that differ from LP (0 when none)
@inline function levels32(iscale: f32, nmax: i32): u32 {
  const is4 = f32x4.splat(iscale);
  const lo = i32x4.splat(0);
  const hi = i32x4.splat(nmax);
  const l0 = levels4(is4, v128.load(XM), lo, hi);
  const l1 = levels4(is4, v128.load(XM, 16), lo, hi);
  const l2 = levels4(is4, v128.load(XM, 32), lo, hi);
  const l3 = levels4(is4, v128.load(XM, 48), lo, hi);
  const l4 = levels4(is4, v128.load(XM, 64), lo, hi);
  const l5 = levels4(is4, v128.load(XM, 80), lo, hi);
  const l6 = levels4(is4, v128.load(XM, 96), lo, hi);
  const l7 = levels4(is4, v128.load(XM, 112), lo, hi);
  v128.store(LA, l0);
  v128.store(LA, l1, 16);
  v128.store(LA, l2, 32);
  v128.store(LA, l3, 48);
  v128.store(LA, l4, 64);
  v128.store(LA, l5, 80);
  v128.store(LA, l6, 96);
  v128.store(LA, l7, 112);
  const d = v128.or(
    v128.or(
      v128.or(v128.xor(l0, v128.load(LP)), v128.xor(l1, v128.load(LP, 16))),
      v128.or(v128.xor(l2, v128.load(LP, 32)), v128.xor(l3, v128.load(LP, 48))),
    ),
    v128.or(
      v128.or(v128.xor(l4, v128.load(LP, 64)), v128.xor(l5, v128.load(LP, 80))),
      v128.or(v128.xor(l6, v128.load(LP, 96)), v128.xor(l7, v128.load(LP, 112))),
    ),
  );
  if (!v128.any_true(d)) return 0;
  return diffMask16(LA, LP) | (diffMask16(LA + 64, LP + 64) << 16);
}

// make_qkx2_quants(n = 32, nmax, x, W, L + lOff, &MINS[j], Laux, rmin, rdelta, nstep, use_mad = false), with the
// exact shortcuts of src/kquants.ts (skip a step equal to the previous one, reuse running-sum prefixes, stop an
// error sum once it reaches the best)
function makeQkx2(x: usize, nmax: i32, rmin: f32, rdelta: f32, nstep: i32, lOff: i32, j: i32): f32 {
  let min = ld(x, 0);
  let max = min;
  let sumW = ld(W, 0);
  let sumX = sumW * min;
  for (let i = 1; i < 32; i++) {
    const v = ld(x, i);
    if (v < min) min = v;
    if (v > max) max = v;
    const w = ld(W, i);
    sumW += w;
    sumX += w * v;
  }
  if (min > 0) min = 0;
  if (max == min) {
    memory.fill(L + lOff, 0, 32);
    stf(MINS, j, -min);
    return 0;
  }
  let iscale: f32 = <f32>nmax / (max - min);
  let scale: f32 = <f32>1 / iscale;
  // first guess: XM = x - min, its levels, and its error terms w·(scale·l + min - x)²
  {
    const m4 = f32x4.splat(min);
    const s4 = f32x4.splat(scale);
    for (let k = 0; k < 8; k++) {
      const off = <usize>k << 4;
      const xv = v128.load(x + off);
      v128.store(XM + off, f32x4.sub(xv, m4));
    }
    levels32(iscale, nmax);
    for (let k = 0; k < 8; k++) {
      const off = <usize>k << 4;
      const fl = f32x4.convert_i32x4_s(v128.load(LA + off));
      const diff = f32x4.sub(f32x4.add(f32x4.mul(s4, fl), m4), v128.load(x + off));
      v128.store(T1 + off, f32x4.mul(v128.load(W + off), f32x4.mul(diff, diff)));
    }
  }
  let bestError: f32 = 0;
  for (let i = 0; i < 32; i++) bestError += ld(T1, i);
  storeLevels16(L + lOff, LA, 0);
  storeLevels16(L + lOff + 16, LA + 64, 0);
  memory.fill(LP, 0xff, 128); // no previous step
  for (let is = 0; is <= nstep; is++) {
    iscale = (rmin + rdelta * <f32>is + <f32>nmax) / (max - min);
    const mask = levels32(iscale, nmax);
    if (mask == 0) continue; // same levels, same min: same error as before, which did not win or already won
    const first = <i32>ctz(mask);
    // terms w·l, w·l·l, w·l·x
    for (let k = first >> 2; k < 8; k++) {
      const off = <usize>k << 4;
      const la = v128.load(LA + off);
      v128.store(LP + off, la);
      const fl = f32x4.convert_i32x4_s(la);
      const wl = f32x4.mul(v128.load(W + off), fl);
      v128.store(T1 + off, wl);
      v128.store(T2 + off, f32x4.mul(wl, fl));
      v128.store(T3 + off, f32x4.mul(wl, v128.load(x + off)));
    }
    let sumL: f32 = 0;
    let sumL2: f32 = 0;
    let sumXL: f32 = 0;
    if (first > 0) {
      sumL = ld(PS1, first - 1);
      sumL2 = ld(PS2, first - 1);
      sumXL = ld(PS3, first - 1);
    }
    for (let i = first; i < 32; i++) {
      sumL += ld(T1, i);
      sumL2 += ld(T2, i);
      sumXL += ld(T3, i);
      stf(PS1, i, sumL);
      stf(PS2, i, sumL2);
      stf(PS3, i, sumXL);
    }
    const D = sumW * sumL2 - sumL * sumL;
    if (!(D > 0)) continue;
    let thisScale = (sumW * sumXL - sumX * sumL) / D;
    let thisMin = (sumL2 * sumX - sumL * sumXL) / D;
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = sumXL / sumL2;
    }
    const s4 = f32x4.splat(thisScale);
    const m4 = f32x4.splat(thisMin);
    let acc = f32x4.splat(0);
    for (let k = 0; k < 8; k++) {
      const off = <usize>k << 4;
      const fl = f32x4.convert_i32x4_s(v128.load(LA + off));
      const diff = f32x4.sub(f32x4.add(f32x4.mul(s4, fl), m4), v128.load(x + off));
      const t = f32x4.mul(v128.load(W + off), f32x4.mul(diff, diff));
      v128.store(T1 + off, t);
      acc = f32x4.add(acc, t);
    }
    // A lane-wise sum of the 32 non-negative error terms is within 8·2^-24 (relative) of their exact sum, and C's
    // in-order sum within 31·2^-24: when the lane-wise sum exceeds the best error by 1e-5 (relative), C's sum
    // cannot be below it and this step cannot win. (Only for normal magnitudes; otherwise the in-order sum decides.)
    const approx =
      f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    if (bestError > <f32>1e-30 && approx < <f32>1e30 && approx > bestError * <f32>1.00001) continue;
    let curError: f32 = 0;
    let i = 0;
    for (; i < 32; i++) {
      curError += ld(T1, i);
      if (!(curError < bestError)) break;
    }
    if (i < 32) continue;
    storeLevels16(L + lOff, LA, 0);
    storeLevels16(L + lOff + 16, LA + 64, 0);
    bestError = curError;
    scale = thisScale;
    if (thisMin != min) {
      // as in ggml, the following steps measure from the new min
      min = thisMin;
      const mv = f32x4.splat(min);
      for (let k = 0; k < 8; k++) {
        const off = <usize>k << 4;
        v128.store(XM + off, f32x4.sub(v128.load(x + off), mv));
      }
      memory.fill(LP, 0xff, 128);
    }
  }
  stf(MINS, j, -min);
  return scale;
}

function kBlock(x: usize, y: usize, nmax: i32, rmin: f32, rdelta: f32, nstep: i32): void {
  let maxScale: f32 = 0;
  let maxMin: f32 = 0;
  for (let j = 0; j < 8; j++) {
    const q = x + (<usize>j << 7);
    let sumX2: f32 = 0;
    for (let l = 0; l < 32; l++) {
      const v = ld(q, l);
      sumX2 += v * v;
    }
    const av4 = f32x4.splat(Mathf.sqrt(sumX2 / 32));
    for (let k = 0; k < 8; k++) {
      const off = <usize>k << 4;
      v128.store(W + off, f32x4.add(av4, f32x4.abs(v128.load(q + off))));
    }
    const scale = makeQkx2(q, nmax, rmin, rdelta, nstep, 32 * j, j);
    stf(SCALES, j, scale);
    if (scale > maxScale) maxScale = scale;
    const min = ld(MINS, j);
    if (min > maxMin) maxMin = min;
  }
  const invScale: f32 = maxScale > 0 ? <f32>63 / maxScale : 0;
  const invMin: f32 = maxMin > 0 ? <f32>63 / maxMin : 0;
  for (let j = 0; j < 8; j++) {
    let ls = nearestInt(invScale * ld(SCALES, j)) & 0xff;
    let lm = nearestInt(invMin * ld(MINS, j)) & 0xff;
    if (ls > 63) ls = 63;
    if (lm > 63) lm = 63;
    store<u8>(LS + j, <u8>ls);
    store<u8>(LM + j, <u8>lm);
  }
  for (let j = 0; j < 4; j++) {
    const s4 = <u32>load<u8>(LS + j + 4);
    const m4 = <u32>load<u8>(LM + j + 4);
    store<u8>(y + 4 + j, <u8>(<u32>load<u8>(LS + j) | ((s4 >> 4) << 6)));
    store<u8>(y + 8 + j, <u8>(<u32>load<u8>(LM + j) | ((m4 >> 4) << 6)));
    store<u8>(y + 12 + j, <u8>((s4 & 0xf) | ((m4 & 0xf) << 4)));
  }
  const d0 = f16ToF32(storeF16(y, maxScale / 63));
  const m0 = f16ToF32(storeF16(y + 2, maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const d = d0 * <f32>load<u8>(LS + j);
    if (d == 0) continue;
    const dm = f32x4.splat(m0 * <f32>load<u8>(LM + j));
    const d4 = f32x4.splat(d);
    const q = x + (<usize>j << 7);
    const one = f32x4.splat(1);
    const lo = i32x4.splat(0);
    const hi = i32x4.splat(nmax);
    for (let k = 0; k < 8; k++) {
      const off = <usize>k << 4;
      const l = levels4(one, f32x4.div(f32x4.add(v128.load(q + off), dm), d4), lo, hi);
      v128.store(LA + off, l);
    }
    storeLevels16(L + 32 * j, LA, 0);
    storeLevels16(L + 32 * j + 16, LA + 64, 0);
  }
}

export function q4_K(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    kBlock(x, y, 15, -1.0, 0.1, 20);
    let q = y + 16;
    for (let j = 0; j < 256; j += 64) {
      for (let l = 0; l < 32; l++) {
        store<u8>(q + l, load<u8>(L + j + l) | (load<u8>(L + j + l + 32) << 4));
      }
      q += 32;
    }
    x += 1024;
    y += 144;
  }
}

export function q5_K(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    kBlock(x, y, 31, -0.5, 0.1, 15);
    const qh = y + 16;
    let ql = y + 48;
    memory.fill(qh, 0, 32);
    let m1: u32 = 1;
    let m2: u32 = 2;
    for (let n = 0; n < 256; n += 64) {
      for (let j = 0; j < 32; j++) {
        let l1 = <u32>load<u8>(L + n + j);
        if (l1 > 15) {
          l1 -= 16;
          store<u8>(qh + j, <u8>(<u32>load<u8>(qh + j) | m1));
        }
        let l2 = <u32>load<u8>(L + n + j + 32);
        if (l2 > 15) {
          l2 -= 16;
          store<u8>(qh + j, <u8>(<u32>load<u8>(qh + j) | m2));
        }
        store<u8>(ql + j, <u8>(l1 | (l2 << 4)));
      }
      m1 <<= 2;
      m2 <<= 2;
      ql += 32;
    }
    x += 1024;
    y += 176;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Q6_K

const GROUP_MAX_EPS: f32 = 1e-15;
const WQ = memory.data(16 * 4, 16); // w = x² (f32)
const WX = memory.data(16 * 4, 16); // w·x (f32)
const NC = 20; // candidate slots: the first guess, is = -9..-1, 1..9, and one padding slot
const ISC = memory.data(NC * 4, 16); // iscale of each candidate (f32)
const LV = memory.data(16 * NC * 4, 16); // levels, element-major: LV[i·NC + c] (i32)
const SX = memory.data(NC * 4, 16); // sumlx of each candidate (f32)
const S2 = memory.data(NC * 4, 16); // suml2 of each candidate (f32)
const LC = memory.data(16 * 4, 16); // re-quantized levels of a sub-block (i32)

// the levels of candidate c (+ 32) as the 16 bytes of L at lOff
function takeLevels(c: i32, lOff: i32): void {
  for (let i = 0; i < 16; i++) store<u8>(L + lOff + i, <u8>(load<i32>(LV + (<usize>(i * NC + c) << 2)) + 32));
}

// make_qx_quants(n = 16, nmax = 32, x, L + lOff, rmse_type = 1, qw = NULL).
// Its 19 candidate scales do not depend on each other, only the choice among them does: the levels and the two
// sums of every candidate are computed first, in f32x4 lanes across candidates (each lane adds its candidate's
// terms in C's order, element 0 to 15, so each lane's sum is C's sum bit for bit); then the candidates are
// compared one after another exactly as C does.
function makeQx(x: usize, lOff: i32): f32 {
  const m4 = f32x4.max(
    f32x4.max(f32x4.abs(v128.load(x)), f32x4.abs(v128.load(x, 16))),
    f32x4.max(f32x4.abs(v128.load(x, 32)), f32x4.abs(v128.load(x, 48))),
  );
  const ma = f32x4.extract_lane(m4, 0);
  const mb = f32x4.extract_lane(m4, 1);
  const mc = f32x4.extract_lane(m4, 2);
  const md = f32x4.extract_lane(m4, 3);
  const m01 = ma > mb ? ma : mb;
  const m23 = mc > md ? mc : md;
  const amax = m01 > m23 ? m01 : m23;
  let max: f32 = 0;
  for (let i = 0; i < 16; i++) {
    const v = ld(x, i);
    if (Mathf.abs(v) == amax) {
      max = v;
      break;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    memory.fill(L + lOff, 0, 16);
    return 0;
  }
  for (let k = 0; k < 4; k++) {
    const off = <usize>k << 4;
    const v = v128.load(x + off);
    const w = f32x4.mul(v, v);
    v128.store(WQ + off, w);
    v128.store(WX + off, f32x4.mul(w, v));
  }
  // candidate 0: iscale = -nmax/max; then is = -9..-1, 1..9: iscale = -(nmax + 0.1f·is)/max
  const i0: f32 = <f32>-32 / max;
  stf(ISC, 0, i0);
  for (let k = 1; k < 19; k++) {
    const is = k <= 9 ? k - 10 : k - 9;
    stf(ISC, k, -(<f32>32 + <f32>0.1 * <f32>is) / max);
  }
  stf(ISC, 19, i0);
  const lo = i32x4.splat(-32);
  const hi = i32x4.splat(31);
  const c0 = v128.load(ISC);
  const c1 = v128.load(ISC, 16);
  const c2 = v128.load(ISC, 32);
  const c3 = v128.load(ISC, 48);
  const c4 = v128.load(ISC, 64);
  for (let i = 0; i < 16; i++) {
    const xv = f32x4.splat(ld(x, i));
    const row = LV + (<usize>(i * NC) << 2);
    v128.store(row, levels4(c0, xv, lo, hi));
    v128.store(row, levels4(c1, xv, lo, hi), 16);
    v128.store(row, levels4(c2, xv, lo, hi), 32);
    v128.store(row, levels4(c3, xv, lo, hi), 48);
    v128.store(row, levels4(c4, xv, lo, hi), 64);
  }
  for (let g = 0; g < 5; g++) {
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    const col = LV + (<usize>g << 4);
    for (let i = 0; i < 16; i++) {
      const fl = f32x4.convert_i32x4_s(v128.load(col + (<usize>(i * NC) << 2)));
      a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(ld(WX, i)), fl));
      a2 = f32x4.add(a2, f32x4.mul(f32x4.mul(f32x4.splat(ld(WQ, i)), fl), fl));
    }
    v128.store(SX + (<usize>g << 4), a1);
    v128.store(S2 + (<usize>g << 4), a2);
  }
  let sumlx = ld(SX, 0);
  let suml2 = ld(S2, 0);
  takeLevels(0, lOff);
  let scale: f32 = suml2 != 0 ? sumlx / suml2 : 0;
  let best: f32 = scale * sumlx;
  for (let k = 1; k < 19; k++) {
    sumlx = ld(SX, k);
    suml2 = ld(S2, k);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      takeLevels(k, lOff);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

export function q6_K(x: usize, nb: i32, y: usize): void {
  for (let b = 0; b < nb; b++) {
    let maxScale: f32 = 0;
    let maxAbsScale: f32 = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQx(x + (<usize>ib << 6), 16 * ib);
      stf(SCALES, ib, scale);
      const a = Mathf.abs(scale);
      if (a > maxAbsScale) {
        maxAbsScale = a;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      memory.fill(y, 0, 210);
      x += 1024;
      y += 210;
      continue;
    }
    const iscale: f32 = <f32>-128 / maxScale;
    const d0 = f16ToF32(storeF16(y + 208, <f32>1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      let sc = nearestInt(iscale * ld(SCALES, ib));
      if (sc > 127) sc = 127;
      sc = <i32>(<i8>sc);
      store<i8>(y + 192 + ib, <i8>sc);
      const d = d0 * <f32>sc;
      if (d == 0) continue;
      const q = x + (<usize>ib << 6);
      const d4 = f32x4.splat(d);
      const one = f32x4.splat(1);
      const lo = i32x4.splat(-32);
      const hi = i32x4.splat(31);
      for (let k = 0; k < 4; k++) {
        const off = <usize>k << 4;
        v128.store(LC + off, levels4(one, f32x4.div(v128.load(q + off), d4), lo, hi));
      }
      storeLevels16(L + 16 * ib, LC, 32);
    }
    let ql = y;
    let qh = y + 128;
    for (let j = 0; j < 256; j += 128) {
      for (let l = 0; l < 32; l++) {
        const a = <u32>load<u8>(L + j + l);
        const b2 = <u32>load<u8>(L + j + l + 32);
        const c = <u32>load<u8>(L + j + l + 64);
        const e = <u32>load<u8>(L + j + l + 96);
        store<u8>(ql + l, <u8>((a & 0xf) | ((c & 0xf) << 4)));
        store<u8>(ql + l + 32, <u8>((b2 & 0xf) | ((e & 0xf) << 4)));
        store<u8>(qh + l, <u8>((a >> 4) | ((b2 >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6)));
      }
      ql += 64;
      qh += 32;
    }
    x += 1024;
    y += 210;
  }
}

/** Index of the first NaN or ±inf among n f32 values at x, or -1. */
export function nonFinite(x: usize, n: i32): i32 {
  const expo = i32x4.splat(0x7f800000);
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = x + (<usize>i << 2);
    const a = i32x4.eq(v128.and(v128.load(p), expo), expo);
    const b = i32x4.eq(v128.and(v128.load(p + 16), expo), expo);
    const c = i32x4.eq(v128.and(v128.load(p + 32), expo), expo);
    const d = i32x4.eq(v128.and(v128.load(p + 48), expo), expo);
    acc = v128.or(acc, v128.or(v128.or(a, b), v128.or(c, d)));
  }
  let bad = v128.any_true(acc);
  for (let k = i; k < n && !bad; k++) bad = (load<u32>(x + (<usize>k << 2)) & 0x7f800000) == 0x7f800000;
  if (!bad) return -1;
  for (let k = 0; k < n; k++) if ((load<u32>(x + (<usize>k << 2)) & 0x7f800000) == 0x7f800000) return k;
  return -1;
}

/** First byte after the static data: callers place their buffers from here on. */
export function heapBase(): usize {
  return __heap_base;
}
