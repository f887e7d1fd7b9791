import { mkdtemp, readdir, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  SafetensorsError,
  SafetensorsFile,
  memorySource,
  openCheckpoint,
  openSafetensors,
  saveSafetensors,
  saveShardedSafetensors,
} from "./index.js";
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "./dtype.js";

const dir = await mkdtemp(join(tmpdir(), "st-spec-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A file laid out by hand from the format description (not by our writer). */
function handMade(): Uint8Array {
  const header =
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[2],"data_offsets":[12,16]},"__metadata__":{"format":"pt"}}';
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + 16);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  const d = 8 + h.length;
  dv.setFloat32(d, 1.5, true);
  dv.setFloat32(d + 4, -2.25, true);
  dv.setUint16(d + 8, 0x3fc0, true); // bf16 1.5
  dv.setUint16(d + 10, 0xc010, true); // bf16 -2.25
  dv.setUint16(d + 12, 0x3c00, true); // f16 1
  dv.setUint16(d + 14, 0x7bff, true); // f16 65504
  return out;
}

describe("reader", () => {
  it("reads a hand-made file: f32, bf16, f16, metadata", async () => {
    const f = await SafetensorsFile.fromSource(memorySource(handMade(), "hand.safetensors"));
    expect(f.names).toEqual(["a", "b", "c"]);
    expect(f.metadata).toEqual({ format: "pt" });
    expect([...(await f.readFloat32("a"))]).toEqual([1.5, -2.25]);
    expect([...(await f.readFloat32("b"))]).toEqual([1.5, -2.25]);
    expect([...(await f.readFloat32("c"))]).toEqual([1, 65504]);
    expect(f.info("b").shape).toEqual([1, 2]);
    await expect(f.readFloat32("zz")).rejects.toThrow(SafetensorsError);
  });

  it("reads row ranges", async () => {
    const path = join(dir, "rows.safetensors");
    const values = Float32Array.from({ length: 12 }, (_, i) => i);
    await saveSafetensors(path, [{ name: "w", dtype: "BF16", shape: [4, 3], data: values }]);
    const f = await openSafetensors(path);
    expect([...(await f.readFloat32("w", { start: 1, count: 2 }))]).toEqual([3, 4, 5, 6, 7, 8]);
    await expect(f.readFloat32("w", { start: 3, count: 2 })).rejects.toThrow(/outside/);
    await f.close();
  });

  it("f16/bf16 conversions round to nearest even", () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up to infinity
    expect(f32ToF16Bits(2 ** -24)).toBe(1);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie to even (0)
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(2); // tie to even (2)
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie to even
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (h) => {
        const v = f16BitsToF32(h);
        if (Number.isNaN(v)) return true;
        return f32ToF16Bits(v) === h;
      }),
    );
  });

  const hostile: Array<[string, (b: Uint8Array) => Uint8Array]> = [
    ["too short", (b) => b.slice(0, 5)],
    [
      "header length past the end",
      (b) => {
        const c = b.slice();
        new DataView(c.buffer).setBigUint64(0, 1n << 60n, true);
        return c;
      },
    ],
    [
      "header length huge but inside u64",
      (b) => {
        const c = b.slice();
        new DataView(c.buffer).setBigUint64(0, BigInt(c.length), true);
        return c;
      },
    ],
    ["truncated data", (b) => b.slice(0, b.length - 3)],
    [
      "not JSON",
      (b) => {
        const c = b.slice();
        c[8] = 0x41;
        return c;
      },
    ],
  ];
  for (const [label, mutate] of hostile) {
    it(`rejects a hostile file: ${label}`, async () => {
      await expect(SafetensorsFile.fromSource(memorySource(mutate(handMade()), "bad.safetensors"))).rejects.toSatisfy(
        (e: unknown) => e instanceof SafetensorsError && e.file === "bad.safetensors",
      );
    });
  }

  it("rejects bad entries: offsets past the end, wrong size, overlap, bad dtype", async () => {
    const mk = (header: object, dataBytes: number) => {
      const h = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + h.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return memorySource(out, "x.safetensors");
    };
    const cases: Array<[object, number, RegExp]> = [
      [{ t: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8, /past the end/],
      [{ t: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8, /needs 12/],
      [{ t: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, u: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8, /overlaps/],
      [{ t: { dtype: "Q4", shape: [2], data_offsets: [0, 8] } }, 8, /dtype/],
      [{ t: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, 8, /dimension/],
      [{ t: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, 8, /too large/],
      [{ t: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, 8, /reversed/],
      [{ __metadata__: { a: 1 } }, 0, /not a string/],
    ];
    for (const [header, n, re] of cases) {
      await expect(SafetensorsFile.fromSource(mk(header, n))).rejects.toThrow(re);
    }
  });

  it("fuzz: random bit flips and truncations give SafetensorsError or a valid file, never another error", async () => {
    const base = handMade();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(base.length * 8 - 1), { maxLength: 6 }), fc.nat(base.length), async (flips, cut) => {
        const b = base.slice(0, Math.max(cut, 1));
        for (const f of flips) if (f >> 3 < b.length) b[f >> 3]! ^= 1 << (f & 7);
        try {
          const file = await SafetensorsFile.fromSource(memorySource(b, "fuzz"));
          for (const n of file.names) {
            try {
              await file.readBytes(n);
            } catch (e) {
              if (!(e instanceof SafetensorsError)) throw e;
            }
          }
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("writer and checkpoints", () => {
  it("round-trips every float dtype and lazy data, and leaves no temp file", async () => {
    const path = join(dir, "rt.safetensors");
    const v = Float32Array.from([0, 1, -1, 0.5, 3.140625, -2048]);
    await saveSafetensors(
      path,
      [
        { name: "f32", dtype: "F32", shape: [2, 3], data: v },
        { name: "f16", dtype: "F16", shape: [6], data: async () => v },
        { name: "bf16", dtype: "BF16", shape: [3, 2], data: () => v },
        { name: "i8", dtype: "I8", shape: [2], data: Uint8Array.from([1, 255]) },
      ],
      { metadata: { format: "pt" } },
    );
    const f = await openSafetensors(path);
    for (const n of ["f32", "f16", "bf16"]) expect([...(await f.readFloat32(n))]).toEqual([...v]);
    expect([...(await f.readBytes("i8"))]).toEqual([1, 255]);
    expect(f.metadata).toEqual({ format: "pt" });
    const raw = await readFile(path);
    expect(Number(raw.readBigUInt64LE(0)) % 8).toBe(0);
    await f.close();
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("a failing producer leaves neither the file nor a temp file", async () => {
    const path = join(dir, "fail.safetensors");
    await expect(
      saveSafetensors(path, [
        {
          name: "x",
          dtype: "F32",
          shape: [1],
          data: () => {
            throw new Error("boom");
          },
        },
      ]),
    ).rejects.toThrow("boom");
    expect((await readdir(dir)).filter((n) => n.startsWith("fail") || n.includes("fail.safetensors"))).toEqual([]);
  });

  it("writes and reads sharded checkpoints through the index", async () => {
    const d = join(dir, "sharded");
    const tensors = Array.from({ length: 5 }, (_, i) => ({
      name: `t${i}`,
      dtype: "BF16" as const,
      shape: [4, 4],
      data: new Float32Array(16).fill(i),
    }));
    const shards = await saveShardedSafetensors(d, tensors, { maxShardBytes: 70 });
    expect(shards.length).toBe(3);
    const ck = await openCheckpoint(d);
    expect([...ck.names].sort()).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect((await ck.readFloat32("t3"))[5]).toBe(3);
    await ck.close();
    const index = JSON.parse(await readFile(join(d, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata.total_size).toBe(5 * 32);
    index.weight_map.t0 = "../../etc/passwd.safetensors";
    await writeFile(join(d, "model.safetensors.index.json"), JSON.stringify(index));
    await expect(openCheckpoint(d)).rejects.toThrow(/plain/);
    index.weight_map.t0 = shards[2];
    await writeFile(join(d, "model.safetensors.index.json"), JSON.stringify(index));
    await expect(openCheckpoint(d)).rejects.toThrow(/weight_map/);
  });
});
