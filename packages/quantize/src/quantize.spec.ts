// Byte-for-byte against ggml itself: ggml_quantize_chunk and type_traits.to_float of the libggml-base.so that
// node-llama-cpp 3.21.1 ships, called through koffi (@neural/llama's ggml oracle).
import { afterAll, describe, expect, it } from "vitest";
import { ggmlDequantize, ggmlQuantize, ggmlRowSize, ggmlTypeInfo } from "@neural/llama";
import {
  BLOCK_BYTES,
  BLOCK_SIZE,
  GgmlType,
  NonFiniteWeightError,
  QuantizeError,
  SUPPORTED_TYPES,
  TYPE_NAME,
  dequantizeRows,
  quantizeRows,
  loadWasmKernels,
  quantizeBackend,
  quantizeRowsInto,
  rowBytes,
  setQuantizeBackend,
  type SupportedType,
} from "./index.js";
import { edgeCases, randomValues, sameBytes, sameFloats } from "./spec-data.js";

const random = randomValues(2024);
const edges = edgeCases();

describe("the largest finite weights of the half types", () => {
  const below = (bits: number) => new Float32Array(new Uint32Array([bits - 1]).buffer)[0]!;
  const at = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;
  it.each([
    ["F16", GgmlType.F16, 0x477ff000],
    ["BF16", GgmlType.BF16, 0x7f7f8000],
  ] as const)("%s: the largest value that stays finite passes, the next one up is refused", (_name, type, bits) => {
    expect(at(0x477ff000)).toBe(65520);
    const x = new Float32Array(4).fill(0.5);
    x[2] = -below(bits);
    expect(dequantizeRows(type, quantizeRows(type, x, 4), 4).every(Number.isFinite)).toBe(true);
    x[2] = -at(bits);
    expect(() => quantizeRows(type, x, 4, { name: "w" })).toThrow(
      new RegExp(`^tensor w: value -[\\d.e+]+ at index 2 is too large for ${TYPE_NAME[type]} \\(it becomes infinite\\)$`),
    );
    expect(dequantizeRows(type, quantizeRows(type, x, 4, { allowNonFinite: true }), 4)[2]).toBe(-Infinity);
  });
});

describe.each(SUPPORTED_TYPES.map((t) => [TYPE_NAME[t], t] as const))("%s", (_name, type: SupportedType) => {
  it("has ggml's block size and bytes per block", () => {
    const info = ggmlTypeInfo(type);
    expect(BLOCK_SIZE[type]).toBe(info.blockSize);
    expect(BLOCK_BYTES[type]).toBe(info.typeSize);
    expect(rowBytes(type, 4096)).toBe(ggmlRowSize(type, 4096));
  });

  // both kernels: WebAssembly (the default where it compiles) and the JavaScript fallback
  describe.each([["wasm"], ["js"]] as const)("%s kernels", (backend) => {
    afterAll(() => setQuantizeBackend("auto"));

    it("quantizes 1,048,576 random values (4 distributions) byte for byte like ggml_quantize_chunk", () => {
      setQuantizeBackend(backend);
      const ours = quantizeRows(type, random, 4096);
      setQuantizeBackend("auto");
      const theirs = ggmlQuantize(type, random, 4096);
      expect(sameBytes(ours, theirs)).toEqual({ equal: true, first: -1 });
    });

    it("quantizes the edge cases like ggml (zeros, constants, outliers, denormals, f16 and f32 limits)", () => {
      setQuantizeBackend(backend);
      // values past F16's range are infinite as F16 or as a block scale, as ggml writes them when told to
      const ours = quantizeRows(type, edges, 256, { allowNonFinite: true });
      setQuantizeBackend("auto");
      const theirs = ggmlQuantize(type, edges, 256);
      const cmp = sameBytes(ours, theirs);
      const block = Math.floor(cmp.first / rowBytes(type, 256));
      expect({ ...cmp, block }).toEqual({ equal: true, first: -1, block: -1 });
    });

    it("rejects NaN and infinite weights, naming the tensor", () => {
      setQuantizeBackend(backend);
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const x = new Float32Array(512).fill(0.1);
        x[300] = bad;
        let err: unknown;
        try {
          quantizeRows(type, x, 256, { name: "blk.7.ffn_down.weight" });
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(NonFiniteWeightError);
        const e = err as NonFiniteWeightError;
        expect(e.name).toBe("NonFiniteWeightError");
        expect(e.tensor).toBe("blk.7.ffn_down.weight");
        expect(e.index).toBe(300);
        expect(e.message).toContain("blk.7.ffn_down.weight");
        expect(() => quantizeRows(type, x, 256, { allowNonFinite: true })).not.toThrow();
      }
      setQuantizeBackend("auto");
    });

    it("rejects a finite weight that becomes infinite as the type or as its block scale, unless allowNonFinite", () => {
      setQuantizeBackend(backend);
      const x = new Float32Array(512).fill(0.1);
      // (far larger values, 1e30, break the K-quant kernels' sums before the scale: ggml writes a zero block then)
      x[300] = 1e10;
      x[301] = -3e9;
      const quantize = () => quantizeRows(type, x, 256, { name: "blk.7.ffn_down.weight", indexBase: 1000 });
      if (type === GgmlType.F32 || type === GgmlType.BF16) expect(quantize).not.toThrow();
      else {
        expect(quantize).toThrow(NonFiniteWeightError);
        expect(quantize).toThrow(
          `tensor blk.7.ffn_down.weight: value 10000000000 at index 1300 is too large for ${TYPE_NAME[type]} (it becomes infinite)`,
        );
        expect(ggmlDequantize(type, quantizeRows(type, x, 256, { allowNonFinite: true }), 512).some((v) => !Number.isFinite(v))).toBe(true);
      }
      setQuantizeBackend("auto");
    });
  });

  it("dequantizes like ggml's to_float, bit for bit", () => {
    for (const x of [random, edges]) {
      const q = ggmlQuantize(type, x, 256);
      expect(sameFloats(dequantizeRows(type, q, x.length), ggmlDequantize(type, q, x.length))).toEqual({
        equal: true,
        first: -1,
      });
    }
  });

  it("dequantizes arbitrary bytes like ggml (any block bit pattern)", () => {
    if (BLOCK_SIZE[type] === 1 && type !== GgmlType.F32) return; // every pattern is covered by half.spec.ts
    const bytes = new Uint8Array(BLOCK_BYTES[type] * 512);
    let s = 12345;
    for (let i = 0; i < bytes.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      bytes[i] = s >>> 24;
    }
    const count = BLOCK_SIZE[type] * 512;
    expect(sameFloats(dequantizeRows(type, bytes, count), ggmlDequantize(type, bytes, count))).toEqual({
      equal: true,
      first: -1,
    });
  });

  it("writes into a buffer at an offset, and rows split anywhere give the same bytes", () => {
    const x = random.subarray(0, 2048);
    const whole = quantizeRows(type, x, 256);
    const buf = new Uint8Array(whole.length + 7);
    expect(quantizeRowsInto(type, x.subarray(0, 1024), 256, buf, 7)).toBe(whole.length / 2);
    quantizeRowsInto(type, x.subarray(1024), 256, buf, 7 + whole.length / 2);
    expect(sameBytes(buf.subarray(7), whole).equal).toBe(true);
  });
});

describe("argument checks", () => {
  it("runs the WebAssembly kernels by default here", async () => {
    expect(quantizeBackend()).toBe("wasm");
    expect(await loadWasmKernels()).toBe(true);
  });

  it("rejects rows that are not whole blocks, partial rows, unknown types", () => {
    expect(() => quantizeRows(GgmlType.Q4_K, new Float32Array(288), 288)).toThrow(QuantizeError);
    expect(() => quantizeRows(GgmlType.Q8_0, new Float32Array(40), 32)).toThrow(/whole rows/);
    expect(() => quantizeRows(3 as SupportedType, new Float32Array(32), 32)).toThrow(/unsupported/);
    expect(() => dequantizeRows(GgmlType.Q6_K, new Uint8Array(209), 256)).toThrow(QuantizeError);
    expect(() => quantizeRowsInto(GgmlType.Q8_0, new Float32Array(64), 32, new Uint8Array(67), 0)).toThrow(/too small/);
    expect(quantizeRows(GgmlType.Q8_0, new Float32Array(0), 32)).toHaveLength(0);
  });
});
