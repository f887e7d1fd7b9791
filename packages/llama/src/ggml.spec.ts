import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  GgmlError,
  ggmlDequantize,
  ggmlLibraryDir,
  ggmlModelQuantize,
  ggmlQuantize,
  ggmlQuantizeAsync,
  ggmlRowSize,
  ggmlTypeInfo,
  llamaModelQuantizeDefaultParams,
  readMiniGguf,
  writeMiniGguf,
  type MiniGgufTensor,
} from "./ggml.js";

const dir = mkdtempSync(join(tmpdir(), "ggml-oracle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function values(n: number, seed = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 0.2;
  }
  return a;
}

describe("ggml oracle (libggml-base.so of @node-llama-cpp/linux-x64)", () => {
  it("finds the shared libraries", () => {
    expect(ggmlLibraryDir()).toMatch(/@node-llama-cpp\/linux-x64\/bins\/linux-x64$/);
  });

  it("reports ggml's own type traits", () => {
    expect(ggmlTypeInfo(8)).toEqual({ type: 8, name: "q8_0", blockSize: 32, typeSize: 34, isQuantized: true });
    expect(ggmlTypeInfo(12)).toMatchObject({ name: "q4_K", blockSize: 256, typeSize: 144 });
    expect(ggmlTypeInfo(14)).toMatchObject({ name: "q6_K", blockSize: 256, typeSize: 210 });
    expect(ggmlTypeInfo(30)).toMatchObject({ name: "bf16", blockSize: 1, typeSize: 2, isQuantized: false });
    expect(ggmlRowSize(13, 512)).toBe(352);
    expect(() => ggmlTypeInfo(4)).toThrow(GgmlError); // Q4_2, removed
    expect(() => ggmlRowSize(12, 100)).toThrow(GgmlError);
  });

  it("quantizes and dequantizes (round trip within the type's error)", () => {
    const x = values(4096);
    for (const [type, tol] of [
      [8, 0.002],
      [12, 0.01],
      [14, 0.004],
      [1, 1e-4],
    ] as const) {
      const q = ggmlQuantize(type, x, 1024);
      expect(q.length).toBe(4 * ggmlRowSize(type, 1024));
      const y = ggmlDequantize(type, q, x.length);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      expect(worst).toBeLessThan(tol);
    }
  });

  it("refuses arguments ggml would abort on", () => {
    expect(() => ggmlQuantize(12, new Float32Array(300), 300)).toThrow(/block size 256/);
    expect(() => ggmlQuantize(8, new Float32Array(48), 32)).toThrow(/whole rows/);
    expect(() => ggmlDequantize(8, new Uint8Array(10), 32)).toThrow(GgmlError);
  });

  it("runs on koffi's worker threads with the same bytes", async () => {
    const x = values(8192, 7);
    const [a, b] = await Promise.all([ggmlQuantizeAsync(12, x.subarray(0, 4096), 256), ggmlQuantizeAsync(12, x.subarray(4096), 256)]);
    const whole = ggmlQuantize(12, x, 256);
    expect(Buffer.from(a!).equals(Buffer.from(whole.subarray(0, a!.length)))).toBe(true);
    expect(Buffer.from(b!).equals(Buffer.from(whole.subarray(a!.length)))).toBe(true);
  });

  it("binds llama_model_quantize_params field for field", () => {
    // the defaults of llama.cpp's llama_model_quantize_default_params(): each field lands where llama.h puts it
    expect(llamaModelQuantizeDefaultParams()).toEqual({
      nthread: 0,
      ftype: 7,
      output_tensor_type: 43,
      token_embedding_type: 43,
      allow_requantize: false,
      quantize_output_tensor: true,
      only_copy: false,
      pure: false,
      keep_split: false,
      dry_run: false,
      imatrix: null,
      kv_overrides: null,
      tt_overrides: null,
      prune_layers: null,
      max_buf_size: 8 * 1024 ** 3,
    });
  });

  it("quantizes a whole GGUF file with llama_model_quantize", () => {
    const H = 256;
    const FF = 512;
    const NL = 4;
    const V = 64;
    const f32 = (n: number, seed: number): Uint8Array => new Uint8Array(values(n, seed).buffer);
    const tensors: MiniGgufTensor[] = [
      { name: "token_embd.weight", shape: [H, V], type: 0, data: f32(H * V, 1) },
      { name: "output_norm.weight", shape: [H], type: 0, data: f32(H, 2) },
      { name: "output.weight", shape: [H, V], type: 0, data: f32(H * V, 3) },
    ];
    for (let l = 0; l < NL; l++) {
      tensors.push({ name: `blk.${l}.attn_norm.weight`, shape: [H], type: 0, data: f32(H, 10 + l) });
      tensors.push({ name: `blk.${l}.attn_v.weight`, shape: [H, H], type: 0, data: f32(H * H, 20 + l) });
      tensors.push({ name: `blk.${l}.ffn_down.weight`, shape: [FF, H], type: 0, data: f32(FF * H, 30 + l) });
    }
    const input = join(dir, "in.gguf");
    writeFileSync(
      input,
      writeMiniGguf(
        {
          "general.architecture": { type: "str", value: "llama" },
          "llama.context_length": { type: "u32", value: 256 },
          "llama.embedding_length": { type: "u32", value: H },
          "llama.block_count": { type: "u32", value: NL },
          "llama.feed_forward_length": { type: "u32", value: FF },
          "llama.attention.head_count": { type: "u32", value: 4 },
          "llama.attention.layer_norm_rms_epsilon": { type: "f32", value: 1e-5 },
        },
        tensors,
      ),
    );
    const output = join(dir, "q4km.gguf");
    const { log } = ggmlModelQuantize(input, output, 15, 1);
    expect(log.some((l) => l.includes("llama_model_loader"))).toBe(true);
    const file = readMiniGguf(readFileSync(output), ggmlRowSize);
    expect(file.kv.get("general.file_type")).toBe(15);
    expect(file.kv.get("general.quantization_version")).toBe(2);
    const types = Object.fromEntries(file.tensors.map((t) => [t.name, t.type]));
    expect(types["output_norm.weight"]).toBe(0);
    expect(types["output.weight"]).toBe(14); // Q6_K
    expect(types["token_embd.weight"]).toBe(12); // Q4_K
    // use_more_bits(i, 4): layers 2 and 3 get Q6_K
    expect([0, 1, 2, 3].map((l) => types[`blk.${l}.attn_v.weight`])).toEqual([12, 12, 14, 14]);
    expect([0, 1, 2, 3].map((l) => types[`blk.${l}.ffn_down.weight`])).toEqual([12, 12, 14, 14]);
    // the data are ggml_quantize_chunk's bytes for the F32 input
    const v0 = file.tensors.find((t) => t.name === "blk.0.attn_v.weight")!;
    expect(Buffer.from(v0.data).equals(Buffer.from(ggmlQuantize(12, values(H * H, 20), H)))).toBe(true);
  });

  it("reports llama.cpp's error as a GgmlError instead of printing it", () => {
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, new Uint8Array(64).fill(7));
    expect(() => ggmlModelQuantize(bad, join(dir, "never.gguf"), 7)).toThrow(/invalid magic/);
    expect(() => ggmlModelQuantize(join(dir, "missing.gguf"), join(dir, "x.gguf"), 7)).toThrow(GgmlError);
  });
});
