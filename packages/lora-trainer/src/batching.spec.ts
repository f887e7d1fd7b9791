// Length-aware batching: the planned length buckets are the least-padding choice (against trying every choice),
// every example lands in exactly one batch of an epoch, the same epoch gives the same batches and another epoch
// another order, and on a dataset shaped like NornicDB's (long prompts of spread-out lengths, short answers) the
// padding stays under a few per cent of the slots where plain power-of-two buckets in seeded order waste a quarter.
import { batches, epochOrder, IGNORE_INDEX, Random, unpacked, type Batch, type PreparedExample } from "@neural/dataset";
import { describe, expect, it } from "vitest";
import { answerPlan, epochBatches, lengthBuckets, paddingShare, shapeBuckets, withAnswerSlots, type BatchSettings } from "./batching.js";

function examples(count: number, seed: number): PreparedExample[] {
  const random = new Random(seed);
  return Array.from({ length: count }, (_, i) => {
    // a tool list of 450 tokens and data of up to 700 (most short), answers of 8 to 40
    const prompt = 450 + Math.round(random.next() * random.next() * 700);
    const answer = 8 + Math.floor(random.next() * 33);
    const n = prompt + answer;
    const inputIds = Int32Array.from({ length: n }, (_, k) => (i * 7 + k) % 1000);
    const labels = Int32Array.from(inputIds, (id, k) => (k < prompt ? IGNORE_INDEX : id));
    return { line: i + 1, example: { kind: "text", text: "" } as never, encoded: { inputIds, labels } };
  });
}

const settings = (buckets?: number[]): BatchSettings => ({
  batchSize: 4,
  maxLength: 1600,
  packing: false,
  padId: 0,
  seed: 3,
  ...(buckets ? { buckets } : {}),
});

describe("length-aware batching", () => {
  it("plans the buckets that leave the least padding (every choice of 3 tried)", () => {
    const random = new Random(5);
    const lengths = Array.from({ length: 300 }, () => 8 + Math.floor(random.next() * random.next() * 200));
    const cost = (buckets: number[]) => lengths.reduce((s, n) => s + buckets.find((b) => b >= n)! - n, 0);
    const planned = lengthBuckets(lengths, 256, 3, 0);
    expect(planned).toHaveLength(3);
    expect(planned.every((b) => b % 8 === 0)).toBe(true);
    expect(planned.at(-1)).toBeGreaterThanOrEqual(Math.max(...lengths));
    const candidates = [...new Set(lengths.map((n) => Math.ceil(n / 8) * 8))].sort((a, b) => a - b);
    const top = candidates.at(-1)!;
    let best = Infinity;
    for (const a of candidates) for (const b of candidates) if (a < b && b < top) best = Math.min(best, cost([a, b, top]));
    expect(cost(planned)).toBe(best);
    expect(lengthBuckets([3, 30, 1000], 512, 8).at(-1)).toBe(512); // never past max_length
    expect(lengthBuckets([104, 103, 102, 208, 207], 512)).toEqual([104, 208]); // no more buckets than the target needs
  });

  it("each example once per epoch; the same epoch the same batches, another epoch another order", () => {
    const data = examples(203, 1);
    const s = settings(
      lengthBuckets(
        data.map((e) => e.encoded.inputIds.length),
        1600,
      ),
    );
    const e0 = epochBatches(data, 0, s);
    const rows = (bs: Batch[]) =>
      bs.flatMap((b) =>
        Array.from({ length: b.batchSize }, (_, r) => b.inputIds[r * b.seqLen]!).filter((_, r) => b.segmentIds[r * b.seqLen] !== 0),
      );
    expect(rows(e0).length).toBe(203);
    expect(e0.reduce((n, b) => n + b.tokens, 0)).toBe(data.reduce((n, e) => n + e.encoded.inputIds.length, 0));
    const again = epochBatches(data, 0, s);
    expect(again.map((b) => b.inputIds.join())).toEqual(e0.map((b) => b.inputIds.join()));
    expect(rows(epochBatches(data, 1, s))).not.toEqual(rows(e0));
  });

  it("keeps padding under a few per cent with planned buckets (a quarter with powers of two in seeded order)", () => {
    const data = examples(2000, 2);
    const planned = lengthBuckets(
      data.map((e) => e.encoded.inputIds.length),
      1600,
    );
    const aware = paddingShare(epochBatches(data, 0, settings(planned)));
    expect(planned.length).toBeLessThanOrEqual(16);
    expect(aware).toBeLessThan(0.04);
    // the same examples in plain seeded order, rows padded to the next power of two
    const order = epochOrder(data.length, 3, 0).map((i) => data[i]!.encoded);
    const plain = paddingShare(batches(unpacked(order), { batchSize: 4, padId: 0, buckets: shapeBuckets(1600) }));
    expect(plain).toBeGreaterThan(0.25);
    if (process.env.NEURAL_REPORT)
      console.log(`padding: ${(aware * 100).toFixed(2)} % with buckets ${planned.join(", ")}; ${(plain * 100).toFixed(1)} % before`);
  });

  it("answer slots: one count per shape from the plan, doubled for a batch that learns more", () => {
    const data = examples(64, 4);
    const s = settings(
      lengthBuckets(
        data.map((e) => e.encoded.inputIds.length),
        1600,
      ),
    );
    const epoch = epochBatches(data, 0, s);
    const plan = answerPlan(epoch);
    for (const b of withAnswerSlots(epoch, plan)) {
      expect(b.answers).toBe(plan.get(`${b.batchSize}x${b.seqLen}`));
      expect(b.answers!).toBeGreaterThanOrEqual(b.learnedTokens);
      expect(b.answers! % 16).toBe(0);
      expect(b.answers!).toBeLessThan((b.batchSize * b.seqLen) / 4); // short answers: a fraction of the positions
    }
    const [first] = withAnswerSlots([{ ...epoch[0]!, learnedTokens: plan.get(`4x${epoch[0]!.seqLen}`)! + 1 }], plan);
    expect(first!.answers).toBe(Math.min(4 * first!.seqLen, 2 * plan.get(`4x${epoch[0]!.seqLen}`)!));
  });
});
