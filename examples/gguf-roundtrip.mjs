// Write a GGUF file whose tensors are quantized the way llama-quantize would (Q4_K_M), then read it back and measure
// what the quantization lost. Plain JavaScript on the built packages:
//
//   npm i @neural/gguf-writer @neural/quantize && node gguf-roundtrip.mjs out.gguf [--json]
//   (in this repository: npx -y pnpm@12.4.2 build, then node examples/gguf-roundtrip.mjs out.gguf)
import { GGML_TYPE_BY_ID, gv, openGguf, writeGgufFile } from "@neural/gguf-writer";
import { planTensorTypes, quantizeRows } from "@neural/quantize";

const output = process.argv[2] ?? "example.gguf";
const json = process.argv.includes("--json");

// One transformer block's worth of weights (ggml shapes: ne = [in, out], innermost first), seeded values.
const hidden = 256,
  ffn = 768,
  vocab = 512;
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
const weights = (ne, scale = 0.05) => Float32Array.from({ length: ne[0] * (ne[1] ?? 1) }, () => random() * scale);
const tensors = [
  { name: "token_embd.weight", ne: [hidden, vocab] },
  { name: "blk.0.attn_norm.weight", ne: [hidden] },
  { name: "blk.0.attn_q.weight", ne: [hidden, hidden] },
  { name: "blk.0.attn_v.weight", ne: [hidden, hidden] },
  { name: "blk.0.ffn_down.weight", ne: [ffn, hidden] },
  { name: "output.weight", ne: [hidden, vocab] },
].map((t) => ({ ...t, values: weights(t.ne) }));

// llama.cpp's per-tensor choice for a Q4_K_M file (norms stay F32, attn_v/ffn_down/output get more bits).
const types = planTensorTypes(
  "Q4_K_M",
  tensors.map((t) => ({ name: t.name, shape: t.ne })),
  { arch: "llama", nLayer: 1 },
);

await writeGgufFile(
  output,
  [
    ["general.architecture", gv.str("llama")],
    ["general.name", gv.str("gguf-roundtrip example")],
    ["general.file_type", gv.u32(15)], // LLAMA_FTYPE_MOSTLY_Q4_K_M
    ["general.quantization_version", gv.u32(2)],
  ],
  tensors.map((t, i) => ({
    name: t.name,
    type: GGML_TYPE_BY_ID.get(types[i]),
    ne: t.ne,
    data: quantizeRows(types[i], t.values, t.ne[0], { name: t.name }),
  })),
);

// Read it back (the reader checks every count, offset and size against the file) and compare.
const gguf = await openGguf(output);
const rows = [];
for (const t of tensors) {
  const info = gguf.tensor(t.name);
  const back = await gguf.readTensorF32(t.name);
  let err = 0,
    ref = 0;
  for (let i = 0; i < back.length; i++) {
    err += (back[i] - t.values[i]) ** 2;
    ref += t.values[i] ** 2;
  }
  rows.push({ name: t.name, type: info.type, ne: info.ne, bytes: info.bytes, relativeRmsError: Math.sqrt(err / ref) });
}
const summary = { file: output, size: gguf.gguf.size, name: gguf.get("general.name"), tensors: rows };
await gguf.close();

if (json) console.log(JSON.stringify(summary));
else {
  console.log(`${output}: ${summary.size} bytes, "${summary.name}"`);
  for (const r of rows)
    console.log(
      `  ${r.name.padEnd(24)} ${r.type.padEnd(5)} [${r.ne.join(", ")}]  ${r.bytes} bytes  rms error ${(100 * r.relativeRmsError).toFixed(2)}%`,
    );
}
