// Fuzz test of the GGUF reader (see fuzz.shared.ts): damaged and random files are parsed, every tensor read, and
// each either works or fails with a GgufError, in bounded time and memory.
import fc from "fast-check";
import { memorySink, memorySource } from "@neural/safetensors";
import { describe, it } from "vitest";
import { damaged, fuzzCase, fuzzParameters, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { GgufError, GgufReader, gv, writeGguf } from "./index.js";

async function validFile(): Promise<Uint8Array> {
  const sink = memorySink("fuzz.gguf");
  await writeGguf(
    sink,
    [
      ["general.architecture", gv.str("llama")],
      ["llama.block_count", gv.u32(1)],
      ["tokenizer.ggml.tokens", gv.arr("STRING", ["<s>", "a", "bc"])],
      ["t.f32", gv.arr("F32", new Float32Array([0.5, -1]))],
      ["t.u64", gv.u64(7n)],
      ["t.bool", gv.bool(true)],
    ],
    [
      { name: "a", type: "F32", ne: [3], data: new Uint8Array(new Float32Array([1, 2, 3]).buffer) },
      { name: "b", type: "F16", ne: [2, 2], data: new Uint8Array(8).fill(1) },
      { name: "c", type: "Q8_0", ne: [32], data: new Uint8Array(34).fill(7) },
      { name: "d", type: "Q4_K", ne: [256], data: new Uint8Array(144).fill(3) },
    ],
  );
  return sink.bytes();
}

async function readAll(bytes: Uint8Array): Promise<void> {
  const reader = await GgufReader.open(memorySource(bytes, "fuzz.gguf"));
  for (const tensor of reader.tensors) await reader.readTensorF32(tensor.name);
}

const isGgufError = (error: unknown) => error instanceof GgufError;

describe("GGUF reader fuzz", () => {
  it("damaged and random files: parsed, or a GgufError", async () => {
    const valid = await validFile();
    await readAll(valid);
    const stats = newStats();
    const file = fc.oneof({ weight: 4, arbitrary: damaged(valid) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) });
    await fc.assert(
      fc.asyncProperty(file, (bytes) => fuzzCase(stats, isGgufError, () => readAll(bytes))),
      fuzzParameters(1000),
    );
    reportFuzz("GGUF", stats);
  }, 600_000);
});
