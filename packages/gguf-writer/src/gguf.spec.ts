import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { memorySink, memorySource, type ByteSource } from "@neural/safetensors";
import { afterAll, describe, expect, it } from "vitest";
import {
  GgufError,
  GgufReader,
  GgufStreamWriter,
  GgufWriteError,
  gv,
  openGguf,
  writeGguf,
  writeGgufFile,
  type GgufValue,
} from "./index.js";

const dir = await mkdtemp(join(tmpdir(), "gguf-spec-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const allTypes: Array<[string, GgufValue]> = [
  ["t.u8", gv.u8(200)],
  ["t.i8", gv.i8(-100)],
  ["t.u16", gv.u16(60000)],
  ["t.i16", gv.i16(-30000)],
  ["t.u32", gv.u32(4000000000)],
  ["t.i32", gv.i32(-2000000000)],
  ["t.f32", gv.f32(1e-5)],
  ["t.bool", gv.bool(true)],
  ["t.str", gv.str("héllo ✓")],
  ["t.u64", gv.u64(2n ** 63n + 5n)],
  ["t.i64", gv.i64(-(2n ** 62n))],
  ["t.f64", gv.f64(Math.PI)],
  ["t.arr.str", gv.arr("STRING", ["a", "", "ü"])],
  ["t.arr.i32", gv.arr("I32", [1, -2, 3])],
  ["t.arr.f32", gv.arr("F32", new Float32Array([0.5, -1]))],
  ["t.arr.bool", gv.arr("BOOL", [true, false])],
  ["t.arr.empty", gv.arr("U32", [])],
];

async function sample(): Promise<Uint8Array> {
  const sink = memorySink("sample.gguf");
  await writeGguf(
    sink,
    [["general.architecture", gv.str("llama")], ...allTypes],
    [
      { name: "a", type: "F32", ne: [3], data: new Uint8Array(new Float32Array([1, 2, 3]).buffer) },
      { name: "b", type: "F16", ne: [2, 2], data: [new Uint8Array(4), new Uint8Array(4).fill(1)] },
      { name: "c", type: "Q8_0", ne: [32], data: async () => new Uint8Array(34).fill(7) },
    ],
  );
  return sink.bytes();
}

describe("writer", () => {
  it("lays out bytes as the GGUF v3 spec says (checked by hand-decoding)", async () => {
    const sink = memorySink();
    await writeGguf(sink, [["k", gv.u32(7)]], [{ name: "w", type: "F32", ne: [2, 1], data: new Uint8Array(8).fill(0xab) }]);
    const b = sink.bytes();
    const dv = new DataView(b.buffer, b.byteOffset);
    expect(new TextDecoder().decode(b.subarray(0, 4))).toBe("GGUF");
    expect(dv.getUint32(4, true)).toBe(3);
    expect(dv.getBigUint64(8, true)).toBe(1n); // tensors
    expect(dv.getBigUint64(16, true)).toBe(1n); // kvs
    expect(dv.getBigUint64(24, true)).toBe(1n); // key length
    expect(b[32]).toBe("k".charCodeAt(0));
    expect(dv.getUint32(33, true)).toBe(4); // U32
    expect(dv.getUint32(37, true)).toBe(7);
    expect(dv.getBigUint64(41, true)).toBe(1n); // name length
    expect(b[49]).toBe("w".charCodeAt(0));
    expect(dv.getUint32(50, true)).toBe(2); // n_dims
    expect(dv.getBigUint64(54, true)).toBe(2n);
    expect(dv.getBigUint64(62, true)).toBe(1n);
    expect(dv.getUint32(70, true)).toBe(0); // F32
    expect(dv.getBigUint64(74, true)).toBe(0n); // offset
    // header ends at 82, padded to 96; data 8 bytes padded to 32
    expect([...b.subarray(82, 96)].every((x) => x === 0)).toBe(true);
    expect(b[96]).toBe(0xab);
    expect(b.byteLength).toBe(128);
  });

  it("round-trips every value type with its exact type, and tensor data with alignment", async () => {
    const bytes = await sample();
    const r = await GgufReader.open(memorySource(bytes, "sample.gguf"));
    for (const [k, v] of allTypes) {
      const got = r.metadata.get(k)!;
      expect(got.type).toBe(v.type);
      if (v.type === "ARRAY") {
        expect(got.type === "ARRAY" && got.itemType).toBe(v.itemType);
        expect([...(got.value as ArrayLike<unknown> as unknown[])]).toEqual(
          Array.from(v.value as ArrayLike<unknown>).map((x) => (v.itemType === "F32" ? Math.fround(x as number) : x)),
        );
      } else {
        expect(got.value).toEqual(v.type === "F32" ? Math.fround(v.value) : v.value);
      }
    }
    expect(r.tensors.map((t) => [t.name, t.type, t.ne, t.relativeOffset])).toEqual([
      ["a", "F32", [3], 0],
      ["b", "F16", [2, 2], 32],
      ["c", "Q8_0", [32], 64],
    ]);
    expect([...(await r.readTensorF32("a"))]).toEqual([1, 2, 3]);
    expect([...(await r.readTensorBytes("b"))]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect((await r.readTensorBytes("c")).every((x) => x === 7)).toBe(true);
    expect(r.gguf.dataOffset % 32).toBe(0);
    expect(bytes.byteLength).toBe(r.gguf.dataOffset + 64 + 64);
  });

  it("honours general.alignment (u32 power of two only)", async () => {
    const sink = memorySink();
    await writeGguf(
      sink,
      [["general.alignment", gv.u32(64)]],
      [
        { name: "a", type: "F32", ne: [1], data: new Uint8Array(4) },
        { name: "b", type: "F32", ne: [1], data: new Uint8Array(4) },
      ],
    );
    const r = await GgufReader.open(memorySource(sink.bytes()));
    expect(r.gguf.dataOffset % 64).toBe(0);
    expect(r.tensors[1]!.relativeOffset).toBe(64);
    await expect(writeGguf(memorySink(), [["general.alignment", gv.u64(64)]], [])).rejects.toThrow(GgufWriteError);
    await expect(writeGguf(memorySink(), [["general.alignment", gv.u32(48)]], [])).rejects.toThrow(/power of two/);
  });

  it("rejects wrong values, duplicates, bad shapes and wrong byte counts", async () => {
    await expect(writeGguf(memorySink(), [["x", gv.u32(-1)]], [])).rejects.toThrow(/not a valid U32/);
    await expect(writeGguf(memorySink(), [["x", gv.i8(128)]], [])).rejects.toThrow(/I8/);
    await expect(writeGguf(memorySink(), [["types", gv.arr("I32", [1, 2, 2 ** 31])]], [])).rejects.toThrow(
      /2147483648 is not a valid I32.*types|types.*2147483648 is not a valid I32/,
    );
    await expect(writeGguf(memorySink(), [["types", gv.arr("U8", [1, 2.5])]], [])).rejects.toThrow(/2.5 is not a valid U8/);
    await expect(writeGguf(memorySink(), [["tokens", gv.arr("STRING", ["a", 7 as unknown as string])]], [])).rejects.toThrow(
      /7 is not a valid STRING/,
    );
    await expect(
      writeGguf(
        memorySink(),
        [
          ["x", gv.u8(1)],
          ["x", gv.u8(1)],
        ],
        [],
      ),
    ).rejects.toThrow(/duplicate/);
    await expect(writeGguf(memorySink(), [], [{ name: "q", type: "Q4_K", ne: [100], data: new Uint8Array(0) }])).rejects.toThrow(
      /divisible by 256/,
    );
    await expect(writeGguf(memorySink(), [], [{ name: "q", type: "F32", ne: [2], data: new Uint8Array(4) }])).rejects.toThrow(/incomplete/);
    await expect(writeGguf(memorySink(), [], [{ name: "q", type: "F32", ne: [1], data: new Uint8Array(8) }])).rejects.toThrow(/has 4/);
    const w = new GgufStreamWriter(
      memorySink(),
      [],
      [
        { name: "a", type: "F32", ne: [1] },
        { name: "b", type: "F32", ne: [1] },
      ],
    );
    await expect(w.writeTensor("b", new Uint8Array(4))).rejects.toThrow(/declaration order/);
  });

  it("writes through a temp file: a failed write leaves nothing behind", async () => {
    const path = join(dir, "fail.gguf");
    await expect(
      writeGgufFile(
        path,
        [["a", gv.u8(1)]],
        [
          {
            name: "t",
            type: "F32",
            ne: [1],
            data: async () => {
              throw new Error("producer died");
            },
          },
        ],
      ),
    ).rejects.toThrow("producer died");
    expect(await readdir(dir)).toEqual([]);
    const ok = join(dir, "ok.gguf");
    await writeGgufFile(ok, [["a", gv.u8(1)]], [{ name: "t", type: "F32", ne: [1], data: new Uint8Array(4) }]);
    expect(await readdir(dir)).toEqual(["ok.gguf"]);
    const r = await openGguf(ok);
    expect(r.get("a")).toBe(1);
    await r.close();
    expect((await readFile(ok)).byteLength).toBe(r.gguf.size);
  });
});

/** Wraps a source to record the largest read, so the fuzz test can check no read exceeds the file. */
function tracking(src: ByteSource): ByteSource & { maxRead: number } {
  const t = {
    ...src,
    maxRead: 0,
    name: src.name,
    size: src.size,
    read: async (o: number, n: number) => {
      t.maxRead = Math.max(t.maxRead, n);
      return src.read(o, n);
    },
  };
  return t;
}

describe("reader on hostile files", () => {
  it("every truncation gives a GgufError", async () => {
    const bytes = await sample();
    for (let cut = 0; cut < bytes.byteLength; cut += cut < 600 ? 1 : 7) {
      await expect(GgufReader.open(memorySource(bytes.slice(0, cut), "trunc.gguf"))).rejects.toSatisfy(
        (e: unknown) => e instanceof GgufError && e.file === "trunc.gguf",
      );
    }
  });

  it("random bit flips give a GgufError or a file whose tensors all lie inside it", async () => {
    const bytes = await sample();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(bytes.byteLength * 8 - 1), { minLength: 1, maxLength: 8 }), async (flips) => {
        const b = bytes.slice();
        for (const f of flips) b[f >> 3]! ^= 1 << (f & 7);
        const src = tracking(memorySource(b, "flip.gguf"));
        try {
          const r = await GgufReader.open(src);
          for (const t of r.tensors) {
            expect(t.offset + t.bytes).toBeLessThanOrEqual(b.byteLength);
            await r.readTensorBytes(t.name);
          }
        } catch (e) {
          if (!(e instanceof GgufError)) throw e;
        }
        expect(src.maxRead).toBeLessThanOrEqual(b.byteLength);
      }),
      { numRuns: 400 },
    );
  });

  it("hostile counts and lengths are rejected before allocating", async () => {
    const header = (nTensors: bigint, nKv: bigint, rest: number[] = []) => {
      const b = new Uint8Array(24 + rest.length);
      const dv = new DataView(b.buffer);
      dv.setUint32(0, 0x46554747, true);
      dv.setUint32(4, 3, true);
      dv.setBigUint64(8, nTensors, true);
      dv.setBigUint64(16, nKv, true);
      b.set(rest, 24);
      return memorySource(b, "hostile.gguf");
    };
    const u64 = (v: bigint) => [...new Uint8Array(new BigUint64Array([v]).buffer)];
    const u32 = (v: number) => [...new Uint8Array(new Uint32Array([v]).buffer)];
    const cases: Array<[ByteSource, RegExp]> = [
      [header(2n ** 62n, 0n), /tensor_count/],
      [header(0n, 2n ** 60n), /kv_count/],
      [header(0n, 1n, [...u64(2n ** 40n), 0x61]), /cannot fit/], // key length past the end
      [header(0n, 1n, [...u64(1n), 0x61, ...u32(9), ...u32(8), ...u64(2n ** 50n)]), /cannot fit/], // string array count
      [header(0n, 1n, [...u64(1n), 0x61, ...u32(9), ...u32(9), ...u64(1n)]), /array item type/], // nested array
      [header(0n, 1n, [...u64(1n), 0x61, ...u32(99)]), /unknown value type/],
      [
        header(1n, 0n, [...u64(1n), 0x74, ...u32(5), ...u64(1n), ...u64(1n), ...u64(1n), ...u64(1n), ...u64(1n), ...u32(0), ...u64(0n)]),
        /n_dims/,
      ],
      [header(1n, 0n, [...u64(1n), 0x74, ...u32(1), ...u64(2n ** 63n + 1n), ...u32(0), ...u64(0n)]), /negative/],
      [header(1n, 0n, [...u64(1n), 0x74, ...u32(1), ...u64(4n), ...u32(77), ...u64(0n)]), /unknown ggml type/],
      [header(1n, 0n, [...u64(1n), 0x74, ...u32(1), ...u64(4n), ...u32(0), ...u64(2n ** 40n)]), /past the end/],
      [header(1n, 0n, [...u64(1n), 0x74, ...u32(1), ...u64(4n), ...u32(0), ...u64(0n)]), /past the end/],
      [header(1n, 0n, [...u64(1n), 0x74, ...u32(1), ...u64(100n), ...u32(12), ...u64(0n)]), /block size/],
      [
        header(2n, 0n, [
          ...u64(1n),
          0x74,
          ...u32(1),
          ...u64(1n),
          ...u32(0),
          ...u64(0n),
          ...u64(1n),
          0x74,
          ...u32(1),
          ...u64(1n),
          ...u32(0),
          ...u64(32n),
          ...new Array(200).fill(0),
        ]),
        /duplicate tensor/,
      ],
      [
        header(2n, 0n, [
          ...u64(1n),
          0x74,
          ...u32(1),
          ...u64(1n),
          ...u32(0),
          ...u64(0n),
          ...u64(1n),
          0x75,
          ...u32(1),
          ...u64(1n),
          ...u32(0),
          ...u64(64n),
          ...new Array(200).fill(0),
        ]),
        /expected 32/,
      ],
      [memorySource(new TextEncoder().encode("PK\x03\x04 this is a zip file, not gguf........"), "hostile.gguf"), /not a GGUF/],
    ];
    for (const [src, re] of cases) {
      const t = tracking(src);
      await expect(GgufReader.open(t)).rejects.toSatisfy(
        (e: unknown) => e instanceof GgufError && re.test(e.message) && e.file === "hostile.gguf",
      );
      expect(t.maxRead).toBeLessThanOrEqual(t.size);
    }
  });
});
