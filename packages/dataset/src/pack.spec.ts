import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { IGNORE_INDEX, type EncodedExample } from "./encode.js";
import { attentionMask, batches, pack, packingEfficiency, packStream, unpacked } from "./pack.js";

/** Example k is k+1000 repeated: every token says which example it came from. */
const examplesOf = (lengths: number[]): EncodedExample[] =>
  lengths.map((n, k) => ({ inputIds: new Int32Array(n).fill(k + 1000), labels: new Int32Array(n).fill(k + 1000) }));

describe("packing", () => {
  it("keeps every example whole, restarts positions, and no token can see another example", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        (maxLength, raw) => {
          const lengths = raw.map((n) => Math.min(n, maxLength));
          const sequences = pack(examplesOf(lengths), maxLength);
          const seen = new Map<number, number>();
          for (const s of sequences) {
            expect(s.inputIds.length).toBeLessThanOrEqual(maxLength);
            const mask = attentionMask(s.segmentIds);
            const n = s.inputIds.length;
            let wrong = 0;
            for (let i = 0; i < n; i++) {
              seen.set(s.inputIds[i]!, (seen.get(s.inputIds[i]!) ?? 0) + 1);
              for (let j = 0; j < n; j++) {
                const sameExample = s.inputIds[i] === s.inputIds[j];
                if (mask[i * n + j] !== (sameExample && j <= i ? 1 : 0)) wrong++;
              }
              const start = s.segmentIds.indexOf(s.segmentIds[i]!);
              if (s.positionIds[i] !== i - start) wrong++;
              if (i === start && s.labels[i] !== IGNORE_INDEX) wrong++; // never predicted from the previous example
            }
            expect(wrong).toBe(0);
          }
          expect([...seen.entries()].sort((a, b) => a[0] - b[0])).toEqual(lengths.map((n, k) => [k + 1000, n]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("fills sequences better than one example per row", () => {
    const examples = examplesOf([30, 10, 20, 25, 5, 12, 40, 8, 16, 3, 33, 7]);
    const packed = batches(pack(examples, 64), { batchSize: 2, padId: 0, buckets: [64] });
    const plain = batches(unpacked(examples), { batchSize: 2, padId: 0, buckets: [64] });
    expect(packingEfficiency(packed)).toBeGreaterThan(0.8);
    expect(packingEfficiency(plain)).toBeLessThan(0.35);
  });

  it("pads batches with id padId, label -100, segment 0 and picks the smallest bucket", () => {
    const [batch] = batches(unpacked(examplesOf([3, 5])), { batchSize: 3, padId: 7, buckets: [4, 8, 16] });
    expect(batch!.seqLen).toBe(8);
    expect(Array.from(batch!.inputIds.subarray(0, 8))).toEqual([1000, 1000, 1000, 7, 7, 7, 7, 7]);
    expect(Array.from(batch!.segmentIds.subarray(8, 16))).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(batch!.labels.subarray(16))).toEqual(new Array(8).fill(IGNORE_INDEX));
    expect(batch!.tokens).toBe(8);
    expect(batch!.learnedTokens).toBe(6);
  });
});

describe("packStream", () => {
  it("packs a stream window by window and loses nothing", async () => {
    const lengths = Array.from({ length: 100 }, (_, i) => 1 + ((i * 37) % 60));
    const sequences = [];
    for await (const s of packStream(examplesOf(lengths), 64, 16)) sequences.push(s);
    const total = sequences.reduce((n, s) => n + s.inputIds.length, 0);
    expect(total).toBe(lengths.reduce((a, b) => a + b, 0));
    expect(sequences.every((s) => s.inputIds.length <= 64)).toBe(true);
  });
});
