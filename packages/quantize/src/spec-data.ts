// Test data for the specs (not exported by the package): seeded distributions and edge-case blocks.

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-300)) * Math.cos(2 * Math.PI * r());
}

/** 2^18 values of each of four distributions (1,048,576 in all), in blocks of 256 so every type sees them all. */
export function randomValues(seed = 1): Float32Array {
  const r = rng(seed);
  const n = 1 << 18;
  const out = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) out[i] = gaussian(r) * 0.02; // weight-like
  for (let i = 0; i < n; i++) out[n + i] = (r() * 2 - 1) * 3; // uniform
  for (let i = 0; i < n; i++) {
    // heavy tails: Laplace with occasional 50× outliers
    const u = r() - 0.5;
    const v = -Math.sign(u) * Math.log(1 - 2 * Math.abs(u)) * 0.05;
    out[2 * n + i] = r() < 0.002 ? v * 50 : v;
  }
  for (let b = 0; b < n / 256; b++) {
    // every block at its own scale (1e-6 .. 1e3), some all-positive or all-negative
    const scale = 10 ** (r() * 9 - 6);
    const shift = r() < 0.2 ? scale * 3 : r() < 0.25 ? -scale * 3 : 0;
    for (let i = 0; i < 256; i++) out[3 * n + b * 256 + i] = gaussian(r) * scale + shift;
  }
  return out;
}

/** Edge-case blocks of 256 values each (as one array). */
export function edgeCases(): Float32Array {
  const blocks: number[][] = [];
  const fill = (f: (i: number) => number): void => {
    blocks.push(Array.from({ length: 256 }, (_, i) => f(i)));
  };
  const r = rng(99);
  fill(() => 0); // all zero
  fill((i) => (i % 2 ? -0 : 0)); // signed zeros
  fill(() => 0.5); // constant
  fill(() => -1.25);
  fill(() => 3e-3);
  fill((i) => (i === 77 ? 1e4 : gaussian(r) * 0.01)); // one huge outlier
  fill((i) => (i === 3 ? -3e6 : gaussian(r))); // one huge negative outlier
  fill((i) => (i === 200 ? 1e30 : gaussian(r) * 1e-3));
  fill((i) => (i % 32 === 5 ? 1e4 : 0)); // an outlier in every 32-block, zeros elsewhere
  fill(() => 1e-40 * (r() * 2 - 1)); // float32 denormals
  fill((i) => (i % 3 ? 1.4e-45 * Math.floor(r() * 1000) : 0)); // tiny denormals and zeros
  fill((i) => (i % 7 === 0 ? 2e-38 : 1e-39 * (r() - 0.5))); // around the smallest normal
  fill((i) => (i % 2 ? 65504 : -65504)); // ±f16 max
  fill((i) => 65504 + (i % 32)); // at and beyond the f16 limit
  fill((i) => (r() - 0.5) * 2 * 70000); // beyond f16 range
  fill((i) => (i % 5 ? 1e7 : -1e7)); // d itself overflows f16 in every type
  fill((i) => (r() - 0.5) * 1e-5); // tiny (f16 subnormal scales)
  fill((i) => (r() - 0.5) * 1e-8); // smaller than f16 can hold
  fill((i) => 6.1e-5 * (i - 128)); // around f16's smallest normal
  fill((i) => ((i % 32) - 16) / 16); // ramps
  fill((i) => ((i % 32) * 127) / 254 - (32 * 127) / 508); // rounding ties for Q8_0
  fill((i) => (i % 32) - 15.5); // half-integers
  fill((i) => (i % 2 ? 1 : -1) * (1 + (i % 11))); // integers
  fill((i) => (i < 128 ? 1e-3 : 1e3)); // two scales in one super-block
  fill((i) => (i % 16 === 0 ? 1 : 1e-20)); // one value per Q6_K sub-block
  fill((i) => 1 + i * 1e-7); // nearly constant
  fill((i) => (i % 2 ? 3.4e38 : -3.4e38)); // the float32 limits
  fill((i) => (i === 0 ? 3.4e38 : 1)); // one float32-limit outlier
  fill((i) => (r() < 0.5 ? 0 : r() * 100)); // sparse, all ≥ 0
  fill((i) => -(r() * 0.1 + 0.01)); // all negative
  const out = new Float32Array(blocks.length * 256);
  blocks.forEach((b, k) => out.set(b, k * 256));
  return out;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): { equal: boolean; first: number } {
  if (a.length !== b.length) return { equal: false, first: -2 };
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return { equal: false, first: i };
  return { equal: true, first: -1 };
}

/** Float arrays equal bit for bit, except that any NaN equals any NaN. */
export function sameFloats(a: Float32Array, b: Float32Array): { equal: boolean; first: number } {
  if (a.length !== b.length) return { equal: false, first: -2 };
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return { equal: false, first: i };
  }
  return { equal: true, first: -1 };
}
