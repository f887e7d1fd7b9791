// A small seeded PRNG (sfc32, seeded through a 128-bit string hash) with the helpers generators need.
// Same seed, same sequence, on every platform: only 32-bit integer arithmetic.

export interface Rng {
  /** A float in [0, 1) with 53 random bits. */
  next(): number;
  /** An integer in [0, n). n may be up to 2^53. */
  int(n: number): number;
  /** An integer in [min, max], both included. */
  range(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
  /** A shuffled copy. */
  shuffle<T>(items: readonly T[]): T[];
  /** Up to k distinct items, in random order. */
  sample<T>(items: readonly T[], k: number): T[];
  /** An independent stream derived from this seed and a label (does not advance this one). */
  fork(label: string | number): Rng;
  readonly seed: string;
}

/** cyrb128: four 32-bit hashes of a string. */
export function hash128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A 128-bit hash as 32 hex digits (used for deduplication keys). */
export function hashHex(text: string): string {
  return hash128(text)
    .map((h) => h.toString(16).padStart(8, "0"))
    .join("");
}

export function createRng(seed: number | string): Rng {
  const seedText = String(seed);
  let [a, b, c, d] = hash128(seedText);
  const next32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  const rng: Rng = {
    seed: seedText,
    next: () => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53,
    int(n: number): number {
      if (!(n >= 1)) throw new RangeError(`rng.int needs n >= 1, got ${n}`);
      if (n <= 2 ** 32) {
        // Rejection sampling: no modulo bias.
        const limit = 2 ** 32 - (2 ** 32 % n);
        for (;;) {
          const x = next32();
          if (x < limit) return x % n;
        }
      }
      return Math.floor(rng.next() * n);
    },
    range: (min, max) => min + rng.int(max - min + 1),
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError("rng.pick on an empty list");
      return items[rng.int(items.length)]!;
    },
    chance: (p) => rng.next() < p,
    shuffle<T>(items: readonly T[]): T[] {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
    sample<T>(items: readonly T[], k: number): T[] {
      return rng.shuffle(items).slice(0, Math.max(0, k));
    },
    fork: (label) => createRng(`${seedText}\u0000${String(label)}`),
  };
  return rng;
}

/**
 * A random permutation of [0, size) drawn lazily (sparse Fisher-Yates): memory grows with the number of draws,
 * not with size, so spaces of billions of candidates are fine.
 */
export class LazyPermutation {
  private swapped = new Map<number, number>();
  private taken = 0;

  constructor(
    readonly size: number,
    private rng: Rng,
  ) {}

  get remaining(): number {
    return this.size - this.taken;
  }

  next(): number | undefined {
    if (this.taken >= this.size) return undefined;
    const i = this.taken++;
    const j = i + this.rng.int(this.size - i);
    const atI = this.swapped.get(i) ?? i;
    const atJ = this.swapped.get(j) ?? j;
    this.swapped.set(j, atI);
    this.swapped.delete(i);
    return atJ;
  }
}
