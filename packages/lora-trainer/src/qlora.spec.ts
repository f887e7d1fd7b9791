// QLoRA against oracles: ONNX Runtime's DequantizeLinear reads our int4 packing; the QLoRA forward equals the float32
// model whose weights are the dequantized 4-bit ones; the LoRA gradients match that model's up to the quantization
// of the backward's copy; ORT runs the 4-bit weights through its fused MatMulNBits kernel.
import { Graph, dequantizeLinear, grad, type Tensor } from "@neural/graph";
import { SharedWeights, createSession, toOrt } from "@neural/graph/node";
import { readModelNodes } from "@neural/graph/testing";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "./models/config.js";
import { buildForward, linearModules, nextTokenLoss } from "./models/transformer.js";
import { graphWeights, memorySource } from "./models/weights.js";
import { dequantizeInt4, qloraLinear, quantizeInt4 } from "./qlora.js";
import { sessionOptions } from "./runtime.js";
import { packedBatch, randomModel, uniform } from "./test-fixtures.js";

const dir = () => mkdtempSync(path.join(tmpdir(), "qlora-"));

describe("int4 blocks", () => {
  it("ONNX Runtime's DequantizeLinear reads our packing and scales as dequantizeInt4 does; each value is within half a step", async () => {
    const r = uniform(3);
    const rows = 40; // blocks of 16: 16, 16 and a partial 8
    const cols = 5;
    const values = Float32Array.from({ length: rows * cols }, () => r() * 3);
    for (const transpose of [false, true]) {
      const source = transpose
        ? Float32Array.from({ length: rows * cols }, (_, i) => values[(i % rows) * cols + Math.floor(i / rows)]!)
        : values;
      const m = quantizeInt4(source, rows, cols, 16, transpose);
      const g = new Graph();
      g.output(
        "y",
        dequantizeLinear(g.initializer("q", "int4", [rows, cols], m.data), g.initializer("s", "float32", [3, cols], m.scales), {
          axis: 0,
          blockSize: 16,
        }),
      );
      const file = await new SharedWeights(dir()).save(g, "dq.onnx");
      const { session } = await createSession(file, { intraOpNumThreads: 1 });
      const ort = (await session.run({})).y!.data as Float32Array;
      const ours = dequantizeInt4(m);
      expect(Array.from(ort)).toEqual(Array.from(ours));
      for (let i = 0; i < values.length; i++) {
        const scale = m.scales[Math.floor(Math.floor(i / cols) / 16) * cols + (i % cols)]!;
        expect(Math.abs(ours[i]! - values[i]!)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
  });
});

const SHAPE = {
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 40,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
};
/** Each family's quirks at QLoRA's test size (the 4-bit blocks are 32 wide). */
const FAMILY_CONFIGS: Record<string, Record<string, unknown>> = {
  qwen2: { ...SHAPE, architectures: ["Qwen2ForCausalLM"], rope_theta: 10000, tie_word_embeddings: true },
  qwen3: { ...SHAPE, architectures: ["Qwen3ForCausalLM"], head_dim: 32, rope_theta: 1e6, tie_word_embeddings: true },
  gemma3: {
    ...SHAPE,
    architectures: ["Gemma3ForCausalLM"],
    num_key_value_heads: 1,
    head_dim: 32,
    query_pre_attn_scalar: 32,
    sliding_window: 3,
    layer_types: ["sliding_attention", "full_attention"],
    rope_theta: 1e6,
    rope_local_base_freq: 10000,
  },
  smollm2: { ...SHAPE, architectures: ["LlamaForCausalLM"], rope_theta: 100000, tie_word_embeddings: true },
  smollm3: { ...SHAPE, architectures: ["SmolLM3ForCausalLM"], no_rope_layers: [1, 0], rope_theta: 5e6, tie_word_embeddings: true },
};

describe("QLoRA model", () => {
  it.each(Object.keys(FAMILY_CONFIGS))(
    "%s: forward = the float32 model on the dequantized weights; LoRA gradients within the backward copy's quantization error (exact with backward: exact); fused into MatMulNBits",
    async (family) => {
      const config = parseConfig(FAMILY_CONFIGS[family]);
      const { tensors } = randomModel(config, 5);
      const block = 32;
      // The reference: every linear weight replaced by the dequantized forward copy (Wᵀ quantized along `in`).
      const reference = new Map(tensors);
      const modules: string[] = [];
      for (let l = 0; l < config.numLayers; l++) {
        for (const m of linearModules(config)) {
          const name = `model.layers.${l}.${m}`;
          modules.push(name);
          const w = tensors.get(`${name}.weight`)!;
          const [out, inp] = w.shape as [number, number];
          const dq = dequantizeInt4(quantizeInt4(w.data, inp, out, block, true)); // [in, out]
          reference.set(`${name}.weight`, {
            shape: w.shape,
            data: Float32Array.from({ length: out * inp }, (_, i) => dq[(i % inp) * out + Math.floor(i / inp)]!),
          });
        }
      }
      const S = 8;
      const batch = packedBatch(config.vocabSize, S, 9);
      const r = uniform(17);
      const rank = 4;
      const loraFeeds: Record<string, Float32Array> = {};

      const run = async (quantized: boolean, backward: "transposed" | "exact") => {
        const g = new Graph({ dims: { batch: 2, seq: S } });
        const ids = (n: string) => g.input(n, "int64", ["batch", "seq"]);
        const [inputIds, positionIds, segmentIds, targets] = [ids("input_ids"), ids("position_ids"), ids("segment_ids"), ids("targets")];
        const lora: Tensor[] = [];
        const source = memorySource(quantized ? tensors : reference);
        const { logits } = buildForward(
          g,
          config,
          graphWeights(g, source),
          { inputIds, positionIds, segmentIds },
          {
            ...(quantized ? { linear: qloraLinear(source, { blockSize: block, backward }) } : {}),
            lora: {
              targets: linearModules(config).map((m) => m.split(".")[1]!),
              rank,
              alpha: 8,
              weights: (module, shape) => {
                const a = g.input(`${module}.lora_A`, "float32", [rank, shape.in]);
                const b = g.input(`${module}.lora_B`, "float32", [shape.out, rank]);
                loraFeeds[`${module}.lora_A`] ??= Float32Array.from({ length: rank * shape.in }, () => r() * 0.5);
                loraFeeds[`${module}.lora_B`] ??= Float32Array.from({ length: shape.out * rank }, () => r() * 0.5);
                lora.push(a, b);
                return { a, b };
              },
            },
          },
        );
        const loss = nextTokenLoss(logits!, targets);
        g.output("loss", loss);
        grad(loss, lora).forEach((d, i) => g.output(`d${i}`, d));
        const work = dir();
        const file = await new SharedWeights(work).save(g, "model.onnx");
        const optimized = path.join(work, "optimized.onnx");
        const { session } = await createSession(file, { ...sessionOptions(["cpu"], 1), optimizedModelFilePath: optimized });
        const feeds: Record<string, ReturnType<typeof toOrt>> = {
          input_ids: toOrt("int64", [2, S], batch.inputIds),
          position_ids: toOrt("int64", [2, S], batch.positionIds),
          segment_ids: toOrt("int64", [2, S], batch.segmentIds),
          targets: toOrt("int64", [2, S], batch.targets),
        };
        for (const t of lora) {
          const name = t.name;
          feeds[name] = toOrt("float32", t.shape, loraFeeds[name]!);
        }
        const out = await session.run(feeds);
        await session.release();
        const ops = readModelNodes(new Uint8Array(readFileSync(optimized))).map((n) => n.opType);
        return { loss: (out.loss!.data as Float32Array)[0]!, grads: lora.map((_, i) => out[`d${i}`]!.data as Float32Array), ops };
      };

      const q = await run(true, "transposed");
      const f = await run(false, "exact");
      const e = await run(true, "exact");
      expect(Math.abs(q.loss - f.loss)).toBeLessThan(1e-5 * Math.abs(f.loss));
      // forward and backward of every quantized linear layer run in ORT's 4-bit kernel, none dequantizes a float32 weight
      // (layer 0's q/k/v need no backward: their input comes from the frozen embedding)
      expect(q.ops.filter((o) => o === "MatMulNBits").length).toBe(2 * modules.length - 3);
      expect(q.ops).not.toContain("DequantizeLinear");
      // gradients: relative L2 error and cosine of all LoRA gradients together against the dequantized float32 model's
      const compare = (a: Float32Array[]) => {
        let num = 0;
        let den = 0;
        let dot = 0;
        let na = 0;
        a.forEach((ga, i) =>
          ga.forEach((v, k) => {
            const w = f.grads[i]![k]!;
            num += (v - w) ** 2;
            den += w * w;
            dot += v * w;
            na += v * v;
          }),
        );
        return { relError: Math.sqrt(num / den), cosine: dot / Math.sqrt(na * den) };
      };
      const transposed = compare(q.grads);
      // the transposed copy is another quantization of the same weights: ~10 % noise, same direction
      expect(transposed.relError).toBeLessThan(0.2);
      expect(transposed.cosine).toBeGreaterThan(0.98);
      // the exact backward reads the forward's codes: the gradients are the dequantized model's
      expect(Math.abs(e.loss - q.loss)).toBe(0);
      expect(compare(e.grads).relError).toBeLessThan(1e-5);
      expect(e.ops.filter((o) => o === "MatMulNBits").length).toBe(modules.length); // forward fused, backward dequantizes
      if (process.env.NEURAL_REPORT) {
        console.log(
          `QLoRA ${family}: loss ${q.loss} vs ${f.loss} (dequantized float32); LoRA gradients vs the dequantized model: transposed copy ${JSON.stringify(transposed)}, exact ${JSON.stringify(compare(e.grads))}`,
        );
      }
    },
  );
});
