import { afterAll, describe, expect, it } from "vitest";
import { GgmlType, NonFiniteWeightError, QuantizeError, quantizeRows, rowBytes } from "./index.js";
import { QuantizePool } from "./parallel.js";
import { randomValues, sameBytes } from "./spec-data.js";

const pool = new QuantizePool({ threads: 2 });
afterAll(() => pool.close());
const x = randomValues(7).subarray(0, 1 << 17);

describe("QuantizePool (worker threads)", () => {
  it("gives the single-thread bytes for every K-quant and Q8_0, whatever the split", async () => {
    for (const type of [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16] as const) {
      const single = quantizeRows(type, x, 1024);
      expect(sameBytes(await pool.quantizeRows(type, x, 1024), single).equal).toBe(true);
      expect(sameBytes(await pool.quantizeRows(type, x, 1024, { rowsPerJob: 3 }), single).equal).toBe(true);
    }
  });

  it("takes over a handed-over buffer instead of copying it, with the same bytes, and counts its busy time", async () => {
    const owned = x.slice(0, 64 * 1024);
    const single = quantizeRows(GgmlType.Q4_K, owned, 1024);
    const busy = pool.busyMs;
    const bytes = await pool.quantizeRows(GgmlType.Q4_K, owned, 1024, { rowsPerJob: 64, transfer: true });
    expect(sameBytes(bytes, single).equal).toBe(true);
    expect(owned.buffer.byteLength).toBe(0); // moved to the worker
    expect(pool.busyMs).toBeGreaterThan(busy);
    // a view into a larger buffer is copied, never detached
    const view = x.subarray(0, 1024);
    await pool.quantizeRows(GgmlType.Q4_K, view, 1024, { transfer: true });
    expect(x.buffer.byteLength).toBeGreaterThan(0);
  });

  it("streams chunks of rows in order", async () => {
    function* chunks(): Generator<Float32Array> {
      for (let r = 0; r < x.length; r += 5 * 512) yield x.subarray(r, Math.min(x.length, r + 5 * 512));
    }
    const parts: Uint8Array[] = [];
    for await (const b of pool.quantizeStream(GgmlType.Q6_K, chunks(), 512)) parts.push(b);
    expect(sameBytes(Buffer.concat(parts), quantizeRows(GgmlType.Q6_K, x, 512)).equal).toBe(true);
  });

  it("reports a NaN with the tensor's name and its index in the whole tensor", async () => {
    const bad = x.slice(0, 8192);
    bad[6000] = Number.NaN;
    const err = await pool.quantizeRows(GgmlType.Q4_K, bad, 256, { name: "blk.3.attn_q.weight", rowsPerJob: 4 }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteWeightError);
    expect(err).toMatchObject({ tensor: "blk.3.attn_q.weight", index: 6000 });
    await expect(pool.quantizeRows(GgmlType.Q4_K, x.subarray(0, 300), 300)).rejects.toThrow(QuantizeError);
    expect((await pool.quantizeRows(GgmlType.Q4_K, bad, 256, { rowsPerJob: 4, allowNonFinite: true })).length).toBe(
      rowBytes(GgmlType.Q4_K, 8192),
    );
  });

  it("reports a weight whose block scale overflows, from a worker", async () => {
    const huge = x.slice(0, 8192);
    huge[5000] = 1e30;
    const err = await pool.quantizeRows(GgmlType.Q8_0, huge, 256, { name: "blk.3.attn_q.weight", rowsPerJob: 4 }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteWeightError);
    expect(err).toMatchObject({ tensor: "blk.3.attn_q.weight", index: 5000, value: Math.fround(1e30), overflows: "q8_0" });
  });
});
