import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { epochOrder, splitIndices } from "./split.js";

describe("train/eval split", () => {
  it("is a partition, holds out the requested share, and is stable for a seed", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string(), { minLength: 2, maxLength: 300 }),
        fc.integer(),
        fc.double({ min: 0.01, max: 0.5, noNaN: true }),
        (keys, seed, fraction) => {
          const a = splitIndices(keys, { seed, validationSplit: fraction });
          const all = [...a.train, ...a.eval].sort((x, y) => x - y);
          expect(all).toEqual(keys.map((_, i) => i));
          expect(a.eval.length).toBe(Math.min(keys.length - 1, Math.max(1, Math.round(keys.length * fraction))));
          expect(splitIndices(keys, { seed, validationSplit: fraction })).toEqual(a);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("does not depend on file order, and another seed gives another split", () => {
    const keys = Array.from({ length: 200 }, (_, i) => `example ${i}`);
    const evalKeys = (ks: string[], seed: number) =>
      splitIndices(ks, { seed })
        .eval.map((i) => ks[i])
        .sort();
    expect(evalKeys([...keys].reverse(), 1)).toEqual(evalKeys(keys, 1));
    expect(evalKeys(keys, 2)).not.toEqual(evalKeys(keys, 1));
    expect(splitIndices(keys, { validationSplit: 0 }).eval).toEqual([]);
  });

  it("shuffles each epoch differently and reproducibly", () => {
    expect(epochOrder(50, 7, 0)).toEqual(epochOrder(50, 7, 0));
    expect(epochOrder(50, 7, 1)).not.toEqual(epochOrder(50, 7, 0));
    expect([...epochOrder(50, 7, 3)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
