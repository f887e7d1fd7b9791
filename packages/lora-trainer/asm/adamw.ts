// AssemblyScript source of the in-place AdamW pass (compiled by the repository's scripts/build-wasm.mjs into
// src/adamw-wasm.ts). Four float32 lanes at a time: native f32 arithmetic, where JavaScript computes each value in
// float64 one at a time; the same formula as src/adamw.ts.

export function heapBase(): usize {
  return __heap_base;
}

// m = β1·m + c1·g, v = β2·v + c2·g², p = p·decayed − stepSize · m / (√(v·invBc2) + ε) over n values (a multiple of
// 4) at p, g, m, v, in place.
export function adamw(p: usize, g: usize, m: usize, v: usize, n: i32, beta1: f32, beta2: f32, c1: f32, c2: f32, stepSize: f32, invBc2: f32, epsilon: f32, decayed: f32): void {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const k1 = f32x4.splat(c1);
  const k2 = f32x4.splat(c2);
  const lr = f32x4.splat(stepSize);
  const ib = f32x4.splat(invBc2);
  const eps = f32x4.splat(epsilon);
  const d = f32x4.splat(decayed);
  for (let i = 0; i < n; i += 4) {
    const o = (<usize>i) << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(gi, k1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(f32x4.mul(gi, k2), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    const update = f32x4.mul(f32x4.div(mi, f32x4.add(f32x4.sqrt(f32x4.mul(vi, ib)), eps)), lr);
    v128.store(p + o, f32x4.sub(f32x4.mul(v128.load(p + o), d), update));
  }
}

// The moments' half of adamw above, with the same operations: m = β1·m + c1·g, v = β2·v + c2·g², in place.
export function fold(g: usize, m: usize, v: usize, n: i32, beta1: f32, beta2: f32, c1: f32, c2: f32): void {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const k1 = f32x4.splat(c1);
  const k2 = f32x4.splat(c2);
  for (let i = 0; i < n; i += 4) {
    const o = (<usize>i) << 2;
    const gi = v128.load(g + o);
    v128.store(m + o, f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(gi, k1)));
    v128.store(v + o, f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(f32x4.mul(gi, k2), gi)));
  }
}

// adamw above, writing only p: the new moments are computed, checked and dropped (fold recomputes them). Returns 1
// when a new moment or weight is a NaN or an infinity (x·0 is 0 for every finite x, NaN otherwise).
export function update(p: usize, g: usize, m: usize, v: usize, n: i32, beta1: f32, beta2: f32, c1: f32, c2: f32, stepSize: f32, invBc2: f32, epsilon: f32, decayed: f32): i32 {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const k1 = f32x4.splat(c1);
  const k2 = f32x4.splat(c2);
  const lr = f32x4.splat(stepSize);
  const ib = f32x4.splat(invBc2);
  const eps = f32x4.splat(epsilon);
  const d = f32x4.splat(decayed);
  const zero = f32x4.splat(0);
  let check = zero;
  for (let i = 0; i < n; i += 4) {
    const o = (<usize>i) << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(v128.load(m + o), b1), f32x4.mul(gi, k1));
    const vi = f32x4.add(f32x4.mul(v128.load(v + o), b2), f32x4.mul(f32x4.mul(gi, k2), gi));
    const update = f32x4.mul(f32x4.div(mi, f32x4.add(f32x4.sqrt(f32x4.mul(vi, ib)), eps)), lr);
    const pi = f32x4.sub(f32x4.mul(v128.load(p + o), d), update);
    v128.store(p + o, pi);
    check = f32x4.add(check, f32x4.add(f32x4.add(f32x4.mul(mi, zero), f32x4.mul(vi, zero)), f32x4.mul(pi, zero)));
  }
  return i32(!v128.all_true<i32>(f32x4.eq(check, zero)));
}
