// The mix policy against llama.cpp's own quantizer: small GGUF models are written by hand (the oracle's mini
// writer), quantized with llama_model_quantize for every mix, and each tensor's type must equal planTensorTypes'
// choice; each tensor's bytes must equal quantizeRows of the F32 input with that type.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ggmlModelQuantize, ggmlRowSize, readMiniGguf, writeMiniGguf, type MiniGgufValue } from "@neural/llama";
import {
  GgmlType,
  MIX_FILE_TYPE,
  QUANT_MIXES,
  QuantizeError,
  TYPE_NAME,
  llamaTensorOrder,
  planTensorTypes,
  quantizeRows,
  tensorAllowsQuantization,
  tensorType,
  type ModelInfo,
  type QuantMix,
  type SupportedType,
  type TensorDesc,
} from "./index.js";
import { rng, sameBytes } from "./spec-data.js";

const dir = mkdtempSync(join(tmpdir(), "quantize-policy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Model {
  name: string;
  arch: string;
  nLayer: number;
  kv: Record<string, MiniGgufValue>;
  tensors: { name: string; shape: number[]; data: Float32Array }[];
}

function model(
  name: string,
  arch: string,
  nLayer: number,
  opts: { h: number; ff: number; tied?: boolean; fused?: boolean; biases?: boolean; vocab?: number },
): Model {
  const r = rng(nLayer * 7919 + opts.h);
  const tensors: Model["tensors"] = [];
  const add = (n: string, shape: number[]): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (r() - 0.5) * 0.1;
    tensors.push({ name: n, shape, data });
  };
  const { h, ff } = opts;
  const v = opts.vocab ?? 48;
  add("token_embd.weight", [h, v]);
  add("output_norm.weight", [h]);
  if (!opts.tied) add("output.weight", [h, v]);
  for (let l = 0; l < nLayer; l++) {
    const b = `blk.${l}.`;
    add(`${b}attn_norm.weight`, [h]);
    add(`${b}ffn_norm.weight`, [h]);
    if (opts.fused) {
      add(`${b}attn_qkv.weight`, [h, 24]);
      add(`${b}ffn_up.weight`, [h, 16]);
    } else {
      add(`${b}attn_q.weight`, [h, 16]);
      add(`${b}attn_k.weight`, [h, 8]);
      add(`${b}attn_v.weight`, [h, 8]);
      add(`${b}ffn_gate.weight`, [h, 8]);
      add(`${b}ffn_up.weight`, [h, 8]);
    }
    if (opts.biases) {
      add(`${b}attn_q.bias`, [16]);
      add(`${b}attn_k.bias`, [8]);
      add(`${b}attn_v.bias`, [8]);
    }
    add(`${b}attn_output.weight`, [h, 8]);
    add(`${b}ffn_down.weight`, [ff, 8]);
  }
  const kv: Record<string, MiniGgufValue> = {
    "general.architecture": { type: "str", value: arch },
    [`${arch}.context_length`]: { type: "u32", value: 256 },
    [`${arch}.embedding_length`]: { type: "u32", value: h },
    [`${arch}.block_count`]: { type: "u32", value: nLayer },
    [`${arch}.feed_forward_length`]: { type: "u32", value: ff },
    [`${arch}.attention.head_count`]: { type: "u32", value: 4 },
    [`${arch}.attention.head_count_kv`]: { type: "u32", value: 2 },
    [`${arch}.attention.layer_norm_rms_epsilon`]: { type: "f32", value: 1e-5 },
  };
  return { name, arch, nLayer, kv, tensors };
}

const MODELS: Model[] = [
  // K-quants for real (rows of 256 and 512), output.weight present, 10 layers: use_more_bits picks 0,3,6,8,9
  model("llama, 10 layers", "llama", 10, { h: 256, ff: 512 }),
  // tied embeddings (token_embd gets output's type); ffn_down rows of 288: K-quants fall back to Q5_0/Q5_1/Q8_0
  model("llama, tied, ffn 288, 8 layers", "llama", 8, { h: 256, ff: 288, tied: true }),
  // hidden 96 (not a multiple of 256): output.weight → Q8_0, the rest falls back; ffn rows of 264 (not even ×32) → F16
  model("llama, hidden 96, ffn 264, 16 layers", "llama", 16, { h: 96, ff: 264 }),
  // phi3: fused attn_qkv (counted with attn_v) and a fused ffn_up
  model("phi3, fused qkv, 6 layers", "phi3", 6, { h: 256, ff: 256, fused: true }),
  // qwen2: 1-D q/k/v biases stay F32; 9 layers
  model("qwen2, biases, tied, 9 layers", "qwen2", 9, { h: 256, ff: 512, biases: true, tied: true }),
];

function descs(m: Model): TensorDesc[] {
  return m.tensors.map((t) => ({ name: t.name, shape: t.shape }));
}

function info(m: Model): ModelInfo {
  return { arch: m.arch, nLayer: m.nLayer, nHead: 4, nHeadKv: 2 };
}

describe.each(MODELS.map((m) => [m.name, m] as const))("%s", (_n, m) => {
  const input = join(dir, `${m.name.replace(/\W+/g, "_")}.gguf`);
  writeFileSync(
    input,
    writeMiniGguf(
      m.kv,
      m.tensors.map((t) => ({ name: t.name, shape: t.shape, type: GgmlType.F32, data: new Uint8Array(t.data.buffer) })),
    ),
  );

  it.each(QUANT_MIXES.map((x) => [x]))("%s: every tensor gets llama_model_quantize's type and bytes", (mix: QuantMix) => {
    const output = `${input}.${mix}.gguf`;
    ggmlModelQuantize(input, output, MIX_FILE_TYPE[mix], 1);
    const file = readMiniGguf(readFileSync(output), ggmlRowSize);
    expect(file.kv.get("general.file_type")).toBe(MIX_FILE_TYPE[mix]);
    const planned = planTensorTypes(mix, descs(m), info(m));
    const theirs = new Map(file.tensors.map((t) => [t.name, t]));
    const names = (types: (number | undefined)[]): string[] =>
      m.tensors.map((t, i) => `${t.name}=${types[i] === undefined ? "?" : (TYPE_NAME[types[i] as SupportedType] ?? types[i])}`);
    expect(names(planned)).toEqual(names(m.tensors.map((t) => theirs.get(t.name)?.type)));
    m.tensors.forEach((t, i) => {
      const ours = quantizeRows(planned[i]!, t.data, t.shape[0]!, { name: t.name });
      expect({ tensor: t.name, ...sameBytes(ours, theirs.get(t.name)!.data) }).toEqual({
        tensor: t.name,
        equal: true,
        first: -1,
      });
    });
    rmSync(output);
  });
});

describe("policy rules", () => {
  const layers = (mix: QuantMix, n: number, kind: "attn_v" | "ffn_down"): number[] => {
    const tensors: TensorDesc[] = [];
    for (let l = 0; l < n; l++) {
      tensors.push({ name: `blk.${l}.attn_v.weight`, shape: [4096, 1024] });
      tensors.push({ name: `blk.${l}.ffn_down.weight`, shape: [14336, 4096] });
    }
    const types = planTensorTypes(mix, tensors, { arch: "llama", nLayer: n });
    return tensors.flatMap((t, i) => (t.name.endsWith(`${kind}.weight`) && types[i] === GgmlType.Q6_K ? [tensorLayer(t.name)] : []));
  };
  const tensorLayer = (name: string): number => Number(/blk\.(\d+)/.exec(name)![1]);

  it("use_more_bits: the Q6_K layers of Q4_K_M for 32 and 16 layers (llama.cpp's lists)", () => {
    const l32 = [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31];
    expect(layers("Q4_K_M", 32, "attn_v")).toEqual(l32);
    expect(layers("Q4_K_M", 32, "ffn_down")).toEqual(l32);
    expect(layers("Q5_K_M", 16, "attn_v")).toEqual([0, 1, 4, 7, 10, 13, 14, 15]);
    expect(layers("Q5_K_M", 16, "ffn_down")).toEqual([0, 1, 4, 7, 10, 13, 14, 15]);
    expect(layers("Q4_K_S", 16, "attn_v")).toEqual([]);
  });

  it("counts attn_v tensors in llama.cpp's visiting order (blk.10 after blk.9, not after blk.1)", () => {
    const names = llamaTensorOrder(
      ["blk.10.attn_v.weight", "output.weight", "blk.2.attn_v.weight", "blk.9.attn_v.weight", "token_embd.weight"].map((name) => ({
        name,
      })),
    ).map((t) => t.name);
    expect(names).toEqual(["output.weight", "token_embd.weight", "blk.2.attn_v.weight", "blk.9.attn_v.weight", "blk.10.attn_v.weight"]);
  });

  it("keeps 1-D tensors, norms and non-weights; tied embeddings take output's type", () => {
    expect(tensorAllowsQuantization("blk.0.attn_norm.weight", [4096, 1])).toBe(false);
    expect(tensorAllowsQuantization("blk.0.attn_q.bias", [4096, 4096])).toBe(false);
    expect(tensorAllowsQuantization("rope_freqs.weight", [64])).toBe(false);
    expect(tensorAllowsQuantization("blk.0.ffn_gate_inp.weight", [4096, 8])).toBe(false);
    expect(tensorAllowsQuantization("blk.0.attn_q.weight", [4096, 4096])).toBe(true);
    const ctx = { arch: "qwen2", nLayer: 28, tiedEmbeddings: true };
    expect(tensorType("Q4_K_M", { name: "token_embd.weight", shape: [1536, 151936] }, ctx)).toBe(GgmlType.Q6_K);
    expect(tensorType("Q4_K_M", { name: "token_embd.weight", shape: [1536, 151936] }, { ...ctx, tiedEmbeddings: false })).toBe(
      GgmlType.Q4_K,
    );
    expect(tensorType("Q8_0", { name: "token_embd.weight", shape: [1536, 151936] }, ctx)).toBe(GgmlType.Q8_0);
    expect(tensorType("F16", { name: "blk.0.ffn_norm.weight", shape: [1536] }, ctx)).toBe(GgmlType.F32);
    expect(tensorType("BF16", { name: "blk.0.ffn_up.weight", shape: [1536, 8960] }, ctx)).toBe(GgmlType.BF16);
    // a 70B llama (80 layers, GQA) bumps Q4_K attn_v to Q5_K
    const l70 = { arch: "llama", nLayer: 80, nHead: 64, nHeadKv: 8, tiedEmbeddings: false };
    expect(tensorType("Q4_K_M", { name: "blk.20.attn_v.weight", shape: [8192, 1024] }, l70)).toBe(GgmlType.Q5_K);
    expect(tensorType("Q4_K_M", { name: "blk.21.attn_v.weight", shape: [8192, 1024] }, l70)).toBe(GgmlType.Q6_K);
  });

  it("rejects unknown mixes and malformed tensor lists", () => {
    expect(() => planTensorTypes("Q3_K_M" as QuantMix, [], { arch: "llama", nLayer: 1 })).toThrow(QuantizeError);
    const t = { name: "a.weight", shape: [32, 32] };
    expect(() => planTensorTypes("Q8_0", [t, t], { arch: "llama", nLayer: 1 })).toThrow(/duplicate/);
    expect(() => planTensorTypes("Q8_0", [t], { arch: "llama", nLayer: 0 })).toThrow(/layer count/);
  });
});
