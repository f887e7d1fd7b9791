import { hash53, Random } from "./random.js";

export interface SplitOptions {
  /** Fraction of examples held out for evaluation. Default 0.1; 0 means no eval split. */
  validationSplit?: number;
  seed?: number;
}

/**
 * A seeded, deterministic train/eval partition. Each example is placed by a keyed hash of its content, so the split
 * does not depend on the file's order, identical examples land on the same side (no leakage), and the same seed
 * always gives the same split. Returns indices in their original order.
 */
export function splitIndices(keys: readonly string[], options: SplitOptions = {}): { train: number[]; eval: number[] } {
  const fraction = options.validationSplit ?? 0.1;
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`validationSplit must be in [0, 1), got ${fraction}`);
  const n = keys.length;
  const evalCount = fraction === 0 || n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const seed = options.seed ?? 42;
  const order = keys.map((key, index) => ({ index, hash: hash53(key, seed) }));
  order.sort((a, b) => a.hash - b.hash || a.index - b.index);
  const isEval = new Uint8Array(n);
  for (let k = 0; k < evalCount; k++) isEval[order[k]!.index] = 1;
  const train: number[] = [];
  const evalSet: number[] = [];
  for (let i = 0; i < n; i++) (isEval[i] ? evalSet : train).push(i);
  return { train, eval: evalSet };
}

/** The order in which an epoch visits `n` examples: a pure function of (seed, epoch), so resuming needs only the position. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return new Random(hash53(`epoch:${epoch}`, seed)).shuffle(order);
}
