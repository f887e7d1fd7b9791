// Fuzz test of the safetensors reader (see fuzz.shared.ts): files with a damaged header (hostile dtypes, shapes and
// offsets), damaged bytes or random bytes are opened, every tensor read, and each either works or fails with a
// SafetensorsError, in bounded time and memory.
import fc from "fast-check";
import { describe, it } from "vitest";
import { damaged, fuzzCase, fuzzParameters, hostileInteger, hostileJson, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { memorySink, memorySource, SafetensorsError, SafetensorsFile, writeSafetensors } from "./browser.js";
import { isFloatDtype } from "./dtype.js";

async function validFile(): Promise<Uint8Array> {
  const sink = memorySink("fuzz.safetensors");
  await writeSafetensors(
    sink,
    [
      { name: "a", dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      { name: "b", dtype: "F16", shape: [4], data: new Float32Array([0.5, -1, 2, 0]) },
      { name: "c", dtype: "BF16", shape: [1, 2], data: new Float32Array([3, -4]) },
      { name: "d", dtype: "I64", shape: [2], data: new Uint8Array(16).fill(1) },
    ],
    { metadata: { format: "pt" } },
  );
  return sink.bytes();
}

async function readAll(bytes: Uint8Array): Promise<void> {
  const file = await SafetensorsFile.fromSource(memorySource(bytes, "fuzz.safetensors"));
  for (const name of file.names) {
    const info = file.info(name);
    await file.readBytes(name);
    if (isFloatDtype(info.dtype)) {
      await file.readFloat32(name);
      if (info.shape.length > 0) await file.readFloat32(name, { start: 0, count: Math.min(1, info.shape[0]!) });
    }
  }
}

/** A file whose JSON header has hostile values in random places (the data section kept). */
function damagedHeader(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const length = Number(new DataView(valid.buffer, valid.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(valid.subarray(8, 8 + length))) as Record<string, Record<string, unknown>>;
  const data = valid.subarray(8 + length);
  const field = fc.constantFrom("dtype", "shape", "data_offsets", "extra");
  const value = fc.oneof(
    hostileJson,
    fc.array(hostileInteger, { maxLength: 10 }),
    fc.tuple(hostileInteger, hostileInteger),
    fc.constantFrom("F32", "F16", "BF16", "F64", "I8", "U8", "BOOL", "F8_E4M3", "Q4"),
  );
  const edit = fc.tuple(fc.constantFrom(...Object.keys(header), "__metadata__", "new"), field, value);
  return fc
    .record({
      edits: fc.array(edit, { minLength: 1, maxLength: 4 }),
      declared: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileInteger }),
    })
    .map(({ edits, declared }) => {
      const h: Record<string, unknown> = structuredClone(header);
      for (const [tensor, key, v] of edits) {
        if (tensor === "__metadata__") h.__metadata__ = key === "extra" ? v : { [key]: v };
        else h[tensor] = { ...(typeof h[tensor] === "object" && h[tensor] !== null ? (h[tensor] as object) : {}), [key]: v };
      }
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(Math.trunc(declared ?? json.length))), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    });
}

const isSafetensorsError = (error: unknown) => error instanceof SafetensorsError;

describe("safetensors reader fuzz", () => {
  it("damaged headers, damaged bytes and random bytes: read, or a SafetensorsError", async () => {
    const valid = await validFile();
    await readAll(valid);
    const stats = newStats();
    const file = fc.oneof(
      { weight: 3, arbitrary: damagedHeader(valid) },
      { weight: 2, arbitrary: damaged(valid) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    );
    await fc.assert(
      fc.asyncProperty(file, (bytes) => fuzzCase(stats, isSafetensorsError, () => readAll(bytes))),
      fuzzParameters(1000),
    );
    reportFuzz("safetensors", stats);
  }, 600_000);
});
