// How many rows each category must deliver: the requested shares turned into exact integers that add up to
// --count (largest remainder), and the largest count a set of category capacities allows.
import { GeneratorOptionsError } from "./errors.js";
import type { Example } from "./rows.js";
import type { Rng } from "./rng.js";

/**
 * One category of a generator: a finite space of candidates, addressed by index. Index i always gives the same
 * content (the rng only varies the wording), and different indices give different rows, so `size` is the number of
 * unique rows the category can produce. `at` may return undefined for an index it rejects (say, a query that a
 * real parser refuses); the kit then draws another index.
 */
export interface CategorySpace {
  name: string;
  /** Number of candidate indices. */
  size: number;
  /** Relative weight in the default distribution (any positive scale). */
  weight: number;
  /** One line: what rows of this category teach. */
  description?: string;
  at(index: number, rng: Rng): Example | undefined;
}

export type Distribution = Record<string, number>;

/** Parses "generation=40,bug_fix=30" (or "generation:40") into weights. */
export function parseDistribution(text: string): Distribution {
  const out: Distribution = {};
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=:]+)[=:]\s*([0-9]*\.?[0-9]+)%?$/.exec(part);
    if (!m) throw new GeneratorOptionsError(`--distribution: "${part}" is not NAME=WEIGHT`);
    out[m[1]!.trim()] = Number(m[2]);
  }
  return out;
}

export interface Share {
  category: string;
  /** Fraction of the rows, summing to 1 over all categories. */
  share: number;
}

/** The shares to generate: the spaces' default weights, or the given distribution (other categories get 0). */
export function resolveShares(spaces: readonly CategorySpace[], distribution?: Distribution): Share[] {
  const names = spaces.map((s) => s.name);
  let weights: [string, number][];
  if (distribution && Object.keys(distribution).length > 0) {
    for (const [name, w] of Object.entries(distribution)) {
      if (!names.includes(name))
        throw new GeneratorOptionsError(`unknown category "${name}" in --distribution; categories: ${names.join(", ")}`);
      if (!(w >= 0) || !Number.isFinite(w)) throw new GeneratorOptionsError(`--distribution: weight of "${name}" must be a number >= 0`);
    }
    weights = names.map((n) => [n, distribution[n] ?? 0]);
  } else {
    weights = spaces.map((s) => [s.name, s.weight]);
  }
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  if (!(total > 0)) throw new GeneratorOptionsError("the distribution gives every category weight 0");
  return weights.map(([category, w]) => ({ category, share: w / total }));
}

/** Exact row counts per category that add up to count (largest remainder; ties go to the earlier category). */
export function allocate(count: number, shares: readonly Share[]): Map<string, number> {
  const raw = shares.map((s, i) => ({ ...s, i, exact: s.share * count }));
  const out = new Map(raw.map((r) => [r.category, Math.floor(r.exact)]));
  let left = count - [...out.values()].reduce((a, b) => a + b, 0);
  const order = raw.filter((r) => r.share > 0).sort((a, b) => b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || a.i - b.i);
  for (let k = 0; left > 0 && order.length > 0; k = (k + 1) % order.length, left--) {
    const r = order[k]!;
    out.set(r.category, out.get(r.category)! + 1);
  }
  return out;
}

/** The largest count whose allocation fits every category's capacity. */
export function maxCount(shares: readonly Share[], capacity: ReadonlyMap<string, number>): number {
  const fits = (n: number): boolean => {
    for (const [category, rows] of allocate(n, shares)) if (rows > (capacity.get(category) ?? 0)) return false;
    return true;
  };
  // A category's quota is always above share * n - 1, so no count above min((capacity + 1) / share) can fit;
  // rounding makes fits() non-monotonic just below that bound, so scan down from it.
  let bound = Infinity;
  for (const s of shares) if (s.share > 0) bound = Math.min(bound, Math.floor(((capacity.get(s.category) ?? 0) + 1) / s.share));
  if (!Number.isFinite(bound)) return 0;
  for (let n = bound; n > 0; n--) if (fits(n)) return n;
  return 0;
}
