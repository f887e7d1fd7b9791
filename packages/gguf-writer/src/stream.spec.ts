// The export pipeline (several chunks in flight, quantized on worker threads, written in order) writes the same
// bytes as one chunk per tensor encoded on the calling thread, for every output type; the result loads in llama.cpp.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { QuantizePool } from "@neural/quantize/parallel";
import { memorySink, type TensorReader } from "@neural/safetensors";
import { writeTinyModel, type TinyModel } from "@neural/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NonFiniteTensorError, OUT_TYPES, convertHfToGguf, convertModel, hfModel, openHfModel, type StreamStats } from "./index.js";

const root = await mkdtemp(join(tmpdir(), "gguf-stream-"));
const pool = new QuantizePool({ threads: 2 });
afterAll(async () => {
  await pool.close();
  await rm(root, { recursive: true, force: true });
});

describe("export pipeline", () => {
  let model: TinyModel;
  beforeAll(async () => {
    // llama3: q/k permutation (rows in head groups) and rope_freqs; sharded, so chunks come from several files.
    model = await writeTinyModel(join(root, "llama3"), { family: "llama3", seed: 3, layers: 3, maxShardBytes: 400_000 });
  });

  it("writes the single-thread, one-chunk-per-tensor bytes for every output type, with many chunks on a pool", async () => {
    for (const outType of OUT_TYPES) {
      const plain = join(root, `plain.${outType}.gguf`);
      const piped = join(root, `piped.${outType}.gguf`);
      await convertHfToGguf({ modelDir: model.dir, output: plain, outType, chunkElements: 1 << 30 });
      const stats = {} as StreamStats;
      await convertHfToGguf({ modelDir: model.dir, output: piped, outType, pool, chunkElements: 3000, stats });
      expect(Buffer.compare(await readFile(plain), await readFile(piped)), outType).toBe(0);
      expect(stats.chunks).toBeGreaterThan(100);
      expect(stats.wallMs).toBeGreaterThan(0);
      if (outType !== "F32") expect(stats.encodeMs, outType).toBeGreaterThan(0);
      await rm(plain);
      if (outType !== "Q4_K_M") await rm(piped);
    }
    const lm = await LlamaModelProcess.load(join(root, "piped.Q4_K_M.gguf"));
    try {
      const g = await lm.generate(chatmlPrompt([{ role: "user", content: "hi" }]), { maxTokens: 3 });
      expect(g.tokens.length).toBeGreaterThan(0);
    } finally {
      await lm.close();
    }
  });

  /** The tiny model with `value` put at row 40, column 7 of `target` as it is read. */
  async function poisonedModel(target: string, value: number) {
    const opened = await openHfModel(model.dir);
    const cols = opened.checkpoint.info(target).shape[1]!;
    const poisoned: TensorReader = {
      names: opened.checkpoint.names,
      metadata: opened.checkpoint.metadata,
      has: (n) => opened.checkpoint.has(n),
      info: (n) => opened.checkpoint.info(n),
      readBytes: (n) => opened.checkpoint.readBytes(n),
      close: () => opened.checkpoint.close(),
      async readFloat32(name, rows) {
        const values = await opened.checkpoint.readFloat32(name, rows);
        if (name === target && rows && rows.start <= 40 && rows.start + rows.count > 40) values[(40 - rows.start) * cols + 7] = value;
        return values;
      },
    };
    const file = opened.checkpoint.info(target).file;
    return { model: hfModel({ ...opened, checkpoint: poisoned }), cols, file, close: () => poisoned.close() };
  }

  it("names a NaN weight by its file (the shard that holds it), its tensor and its index in the whole tensor, from a worker, and leaves no file", async () => {
    const target = "model.layers.1.mlp.down_proj.weight";
    const poisoned = await poisonedModel(target, Number.NaN);
    const sink = memorySink("poisoned.gguf");
    const error = await convertModel(poisoned.model, sink, { outType: "Q4_K_M", pool, chunkElements: 4 * poisoned.cols }).catch((e) => e);
    await poisoned.close();
    expect(error).toBeInstanceOf(NonFiniteTensorError);
    expect(error).toMatchObject({
      file: poisoned.file,
      tensor: target,
      ggufTensor: "blk.1.ffn_down.weight",
      reason: `value NaN at index ${40 * poisoned.cols + 7} is not finite`,
    });
    expect(error.message).toBe(
      `${poisoned.file} (${target}): value NaN at index ${40 * poisoned.cols + 7} is not finite (GGUF tensor blk.1.ffn_down.weight)`,
    );
    expect(poisoned.file).toMatch(/model-\d+-of-\d+\.safetensors$/);
    expect(sink.committed).toBe(false);
  });

  // A finite 1e30 (what a diverged step once left) is infinite as F16 and as any block scale: llama.cpp cannot load it.
  it.each(["F16", "Q8_0", "Q4_K_M"] as const)(
    "refuses a finite weight that becomes infinite as %s, on the calling thread",
    async (outType) => {
      const target = "model.layers.0.mlp.up_proj.weight";
      const poisoned = await poisonedModel(target, 1e30);
      const sink = memorySink("huge.gguf");
      const error = await convertModel(poisoned.model, sink, { outType, chunkElements: 4 * poisoned.cols }).catch((e) => e);
      await poisoned.close();
      expect(error).toBeInstanceOf(NonFiniteTensorError);
      expect(error.reason).toMatch(
        new RegExp(
          `^value 1e\\+30 at index ${40 * poisoned.cols + 7} is too large for (f16|q8_0|q4_K|q5_K|q6_K) \\(it becomes infinite\\)$`,
        ),
      );
      expect(sink.committed).toBe(false);
    },
  );

  it("allowNonFinite writes NaN and overflowing weights as they come", async () => {
    for (const [value, outType] of [
      [Number.NaN, "Q4_K_M"],
      [1e30, "F16"],
    ] as const) {
      const poisoned = await poisonedModel("model.layers.1.mlp.down_proj.weight", value);
      const sink = memorySink("allowed.gguf");
      await convertModel(poisoned.model, sink, { outType, pool, allowNonFinite: true });
      await poisoned.close();
      expect(sink.committed).toBe(true);
    }
  });
});
