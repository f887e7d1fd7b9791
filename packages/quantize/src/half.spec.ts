import { describe, expect, it } from "vitest";
import { ggmlDequantize, ggmlQuantize } from "@neural/llama";
import { f32BitsToBf16, f32BitsToF16 } from "./half.js";
import { GgmlType, dequantizeRows } from "./index.js";
import { sameFloats } from "./spec-data.js";

// float32 bit patterns: every exponent with many mantissas (NaNs, infinities, denormals, both signs), and every
// pattern around the f16 rounding and overflow boundaries
function patterns(): Uint32Array {
  const out: number[] = [];
  for (let p = 0; p < 2 ** 32; p += 4093) out.push(p);
  for (let e = 101; e <= 143; e++) {
    for (let m = 0; m < 4096; m++) {
      out.push(((e << 23) | (m << 11) | (m & 0x7ff)) >>> 0); // low 13 bits: ties, just above, just below
      out.push(((e << 23) | (m << 13) | 0x1000) >>> 0);
      out.push(((1 << 31) | (e << 23) | (m << 13) | 0xfff) >>> 0);
    }
  }
  for (const p of [0x477fe000, 0x477fefff, 0x477ff000, 0x477ff001, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001]) {
    out.push(p);
  }
  return Uint32Array.from(out);
}

describe("f32 → f16 / bf16 like ggml (round to nearest even, NaN handling)", () => {
  const bits = patterns();
  const floats = new Float32Array(bits.buffer);

  it(`f16 for ${bits.length} bit patterns`, () => {
    const theirs = new Uint16Array(ggmlQuantize(GgmlType.F16, floats, floats.length).buffer);
    let bad = -1;
    for (let i = 0; i < bits.length && bad < 0; i++) if (f32BitsToF16(bits[i]!) !== theirs[i]) bad = i;
    expect(bad === -1 ? "ok" : `0x${bits[bad]!.toString(16)} → 0x${theirs[bad]!.toString(16)}`).toBe("ok");
  });

  it(`bf16 for ${bits.length} bit patterns (NaNs forced quiet)`, () => {
    const theirs = new Uint16Array(ggmlQuantize(GgmlType.BF16, floats, floats.length).buffer);
    let bad = -1;
    for (let i = 0; i < bits.length && bad < 0; i++) if (f32BitsToBf16(bits[i]!) !== theirs[i]) bad = i;
    expect(bad === -1 ? "ok" : `0x${bits[bad]!.toString(16)} → 0x${theirs[bad]!.toString(16)}`).toBe("ok");
  });

  it("f16 and bf16 → f32 for all 65536 patterns", () => {
    const all = new Uint8Array(65536 * 2);
    for (let h = 0; h < 65536; h++) {
      all[2 * h] = h & 0xff;
      all[2 * h + 1] = h >> 8;
    }
    for (const type of [GgmlType.F16, GgmlType.BF16] as const) {
      expect(sameFloats(dequantizeRows(type, all, 65536), ggmlDequantize(type, all, 65536))).toEqual({
        equal: true,
        first: -1,
      });
    }
  });
});
