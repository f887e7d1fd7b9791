// GGUF export against ggml's own quantizer, in the same run on the same F32 input and thread count:
//   ours  = convertHfToGguf (what `neural export` runs) from an F32 safetensors checkpoint with Qwen2.5's shapes
//           (random weights), quantized on a QuantizePool of N threads, with its per-stage times;
//   ggml  = llama_model_quantize (llama.cpp of node-llama-cpp's bundle, through @neural/llama) with nthread N, on the
//           F32 GGUF of the same checkpoint (written by us; the values are the same F32 numbers).
// Each side runs in its own child process under /usr/bin/time -v (wall time, peak RSS). Per mix the two outputs are
// compared tensor for tensor, and our Q4_K_M file is loaded in llama.cpp. Files live in a temp folder, deleted after.
//   pnpm bench export [-- --model 0.5b|1.5b --layers N --threads N --mixes Q4_K_M,Q8_0 --dtype f32|bf16 --dir /tmp/x --keep --no-write]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { convertHfToGguf, type OutType } from "@neural/gguf-writer";
import { LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { saveShardedSafetensors, type TensorToWrite } from "@neural/safetensors";
import { bpeTokenizer, hfTensorShapes, type HfConfig } from "@neural/testkit";
import { exportVsGgml } from "./export-compare.js";
import { machine, writeSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

/** Qwen2.5-0.5B's and Qwen2.5-1.5B's config.json shapes (Qwen/Qwen2.5-0.5B, Qwen/Qwen2.5-1.5B). */
const SHAPES = {
  "0.5b": {
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    max_window_layers: 21,
  },
  "1.5b": {
    hidden_size: 1536,
    intermediate_size: 8960,
    num_hidden_layers: 28,
    num_attention_heads: 12,
    num_key_value_heads: 2,
    max_window_layers: 21,
  },
} as const;

function qwenConfig(size: keyof typeof SHAPES, layers: number): HfConfig {
  return {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    ...SHAPES[size],
    num_hidden_layers: layers,
    vocab_size: 151936,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    torch_dtype: "float32",
    hidden_act: "silu",
    use_sliding_window: false,
    sliding_window: 32768,
    bos_token_id: 151643,
    eos_token_id: 151643,
  } as HfConfig;
}

/** Weights like a trained model's: roughly normal (sum of four uniforms), std ~0.02; norm weights near 1. */
function randomWeights(n: number, seed: number, kind: "norm" | "other"): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  for (let i = 0; i < n; i++) {
    const u = next() + next() + next() + next() - 2;
    out[i] = kind === "norm" ? 1 + 0.05 * u : 0.035 * u;
  }
  return out;
}

async function writeCheckpoint(dir: string, config: HfConfig, dtype: "F32" | "BF16"): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const shapes = hfTensorShapes(config, "qwen2");
  const tensors: TensorToWrite[] = shapes.map((t, i) => ({
    name: t.name,
    dtype,
    shape: t.shape,
    data: () =>
      randomWeights(
        t.shape.reduce((a, b) => a * b, 1),
        1000 + i,
        t.kind === "norm" ? "norm" : "other",
      ),
  }));
  await saveShardedSafetensors(dir, tensors, { maxShardBytes: 2_000_000_000 });
  const tok = bpeTokenizer("qwen2");
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok.tokenizer));
  writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(tok.config, null, 2));
  return shapes.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
}

const uptime = () => spawnSync("uptime", { encoding: "utf8" }).stdout.trim();
const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const size = arg("model", "0.5b") as keyof typeof SHAPES;
  if (!(size in SHAPES)) throw new Error(`--model must be one of ${Object.keys(SHAPES).join(", ")}`);
  const layers = Number(arg("layers", String(SHAPES[size].num_hidden_layers)));
  const threads = Number(arg("threads", String(availableParallelism())));
  const mixes = arg("mixes", "Q4_K_M,Q8_0").split(",") as OutType[];
  const work = arg("dir", path.join(tmpdir(), `neural-bench-export-${process.pid}`));
  // The checkpoint's dtype: F32 (the same bytes ggml reads), or BF16 as real checkpoints (ggml still reads F32).
  const dtype = arg("dtype", "f32").toUpperCase() as "F32" | "BF16";
  if (dtype !== "F32" && dtype !== "BF16") throw new Error("--dtype must be f32 or bf16");
  const write = !args.includes("--no-write");
  const loadBefore = uptime();
  rmSync(work, { recursive: true, force: true });
  const ckpt = path.join(work, "model");
  const f32 = path.join(work, "model.f32.gguf");
  try {
    let t0 = Date.now();
    const params = await writeCheckpoint(ckpt, qwenConfig(size, layers), dtype);
    console.log(
      `checkpoint: ${(params / 1e9).toFixed(3)} B ${dtype} parameters (${((params * (dtype === "F32" ? 4 : 2)) / 1e9).toFixed(2)} GB) in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    t0 = Date.now();
    await convertHfToGguf({ modelDir: ckpt, output: f32, outType: "F32" });
    console.log(`F32 GGUF for llama_model_quantize: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const rows: string[] = [];
    const stageRows: string[] = [];
    let loads = "not checked";
    for (const mix of mixes) {
      const theirs = path.join(work, `ggml.${mix}.gguf`);
      const ours = path.join(work, `ours.${mix}.gguf`);
      const { ggml: g, ours: o, stats, same } = await exportVsGgml({ modelDir: ckpt, f32Gguf: f32, mix, threads, ours, theirs });
      const ratio = o.seconds / g.seconds;
      console.log(
        `${mix}: ggml ${g.seconds.toFixed(1)} s (${g.maxRssMiB.toFixed(0)} MiB), ours ${o.seconds.toFixed(1)} s (${o.maxRssMiB.toFixed(0)} MiB): ours/ggml ${ratio.toFixed(2)}×; same tensors: ${same}`,
      );
      console.log(
        `  ours by stage: stream ${s1(stats.wallMs)}, read+convert ${s1(stats.readMs)}, quantize ${s1(stats.encodeMs)} over ${threads} thread(s) (${s1(stats.encodeMs / threads)} each), write ${s1(stats.writeMs)}, writer waiting ${s1(stats.waitMs)}, ${stats.chunks} chunks`,
      );
      rows.push(
        `| ${mix} | ${g.seconds.toFixed(1)} s | ${o.seconds.toFixed(1)} s | **${ratio.toFixed(2)}×** | ${g.maxRssMiB.toFixed(0)} MiB | ${o.maxRssMiB.toFixed(0)} MiB | ${(statSync(ours).size / 1e6).toFixed(0)} MB | ${same} |`,
      );
      stageRows.push(
        `| ${mix} | ${o.seconds.toFixed(1)} s | ${(o.seconds - stats.wallMs / 1000).toFixed(1)} s | ${s1(stats.wallMs)} | ${s1(stats.readMs)} | ${s1(stats.encodeMs)} (${s1(stats.encodeMs / threads)} per thread) | ${s1(stats.writeMs)} | ${s1(stats.waitMs)} | ${stats.chunks} |`,
      );
      if (mix === "Q4_K_M" || mix === mixes[mixes.length - 1]) {
        try {
          const m = await LlamaModelProcess.load(ours, { contextSize: 256 });
          const gen = await m.generate(chatmlPrompt([{ role: "user", content: "hi" }]), { maxTokens: 4 });
          await m.close();
          loads = `yes (${mix}, generated ${gen.tokens.length} tokens)`;
        } catch (error) {
          loads = `**no** (${mix}): ${(error as Error).message.split("\n")[0]}`;
        }
        console.log(`llama.cpp loads ours: ${loads}`);
      }
      rmSync(theirs, { force: true });
      rmSync(ours, { force: true });
    }
    const loadAfter = uptime();
    console.log(`uptime before: ${loadBefore}\nuptime after: ${loadAfter}`);
    const cmd = `pnpm bench export${args.length ? ` -- ${args.join(" ")}` : ""}`;
    if (write)
      writeSection(
        "GGUF export",
        [
          `Machine: ${machine()}. Command: \`${cmd}\` (bench/export.bench.ts). Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. \`uptime\` before: \`${loadBefore}\`; after: \`${loadAfter}\` (other sessions shared the cores: absolute times are a ceiling, the ratio is what counts, both sides measured one after the other per mix).`,
          `Model: Qwen2.5-${size.toUpperCase()}'s shapes (hidden ${SHAPES[size].hidden_size}, ffn ${SHAPES[size].intermediate_size}, ${layers} layers, ${SHAPES[size].num_attention_heads} heads / ${SHAPES[size].num_key_value_heads} KV heads, vocab 151,936, tied embeddings, q/k/v biases), ${(params / 1e9).toFixed(3)} B random F32 parameters (normal-like, std ≈ 0.035), ${((params * 4) / 1e9).toFixed(2)} GB.`,
          `ggml = llama_model_quantize (node-llama-cpp 3.21.1's bundled llama.cpp, via @neural/llama's koffi binding; default params, no imatrix) of the F32 GGUF of that checkpoint, nthread = ${threads}. Ours = convertHfToGguf from the F32 safetensors checkpoint (what \`neural export\` runs) on a QuantizePool of ${threads} threads. Each in its own child process under /usr/bin/time -v (tsx on the sources; wall time includes start-up). Target: ours ≤ 1.5× ggml's time. llama.cpp loads ours: ${loads}.`,
          "",
          `| mix | ggml | ours | ours ÷ ggml | ggml peak RSS | our peak RSS | file | same tensors as ggml's |`,
          "|---|---|---|---|---|---|---|---|",
          ...rows,
          "",
          "Where our time goes (StreamStats; the stages overlap, so they add up to more than the stream's wall time). Outside the stream = process start-up (tsx compiling the sources, worker threads starting), config and tokenizer, the vocabulary and header, and the final flush, fsync and rename. read+convert = reading, decoding and permuting rows on the main thread (I/O included); quantize = the workers' busy time; write = writing to the temp file; waiting = the writer waiting for the next chunk in order or for its previous write.",
          "",
          "| mix | process wall | outside the stream | stream wall | read+convert | quantize | write | writer waiting | chunks |",
          "|---|---|---|---|---|---|---|---|---|",
          ...stageRows,
        ].join("\n"),
      );
  } finally {
    if (!args.includes("--keep")) rmSync(work, { recursive: true, force: true });
  }
}

await main();
