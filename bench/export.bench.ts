// `neural export` of a model with Qwen2.5-1.5B's shapes (random bf16 weights, written here as sharded safetensors)
// to Q4_K_M: wall time and peak RSS (goal: ≤ 1 GB). Anchor, in the same run: reading and decoding every tensor of the
// same checkpoint (what any exporter must do), in its own process. Each figure comes from its own child process under
// /usr/bin/time -v. The result is then loaded in llama.cpp (child process) to show it is a working file.
//   pnpm bench export [-- --threads 2,1 --layers 28]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { openCheckpoint, saveShardedSafetensors, type TensorToWrite } from "@neural/safetensors";
import { bpeTokenizer, hfTensorShapes, type HfConfig } from "@neural/testkit";
import { machine, writeSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};

/** Qwen2.5-1.5B's config.json shapes (Qwen/Qwen2.5-1.5B). */
function qwen15Config(layers: number, vocab: number): HfConfig {
  return {
    architectures: ["Qwen2ForCausalLM"], model_type: "qwen2", hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: layers,
    num_attention_heads: 12, num_key_value_heads: 2, vocab_size: vocab, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000, tie_word_embeddings: true, torch_dtype: "bfloat16", hidden_act: "silu", use_sliding_window: false,
    sliding_window: 32768, max_window_layers: 21, bos_token_id: 151643, eos_token_id: 151643,
  };
}

/** Random bf16 bits: weights ±[2^-8, 2^-4) with random mantissas; norm weights near 1. */
function randomBf16(n: number, seed: number, kind: "norm" | "other"): Uint8Array {
  const out = new Uint16Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = s >>> 0;
    out[i] = kind === "norm" ? 0x3f80 | (r & 0x0f) : (r & 0x8000) | ((0x77 + ((r >>> 8) & 3)) << 7) | (r & 0x7f);
  }
  return new Uint8Array(out.buffer);
}

async function writeModel(dir: string, layers: number): Promise<{ bytes: number; params: number }> {
  const marker = path.join(dir, ".complete");
  const vocab = 151936;
  const config = qwen15Config(layers, vocab);
  const shapes = hfTensorShapes(config, "qwen2");
  const params = shapes.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  if (existsSync(marker) && readFileSync(marker, "utf8") === JSON.stringify(config)) return { bytes: params * 2, params };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(`writing ${(params / 1e9).toFixed(2)} B random bf16 parameters to ${dir} ...`);
  const tensors: TensorToWrite[] = shapes.map((t, i) => ({
    name: t.name,
    dtype: "BF16",
    shape: t.shape,
    data: () => randomBf16(t.shape.reduce((a, b) => a * b, 1), 1000 + i, t.kind === "norm" ? "norm" : "other"),
  }));
  await saveShardedSafetensors(dir, tensors, { maxShardBytes: 1_000_000_000 });
  const tok = bpeTokenizer("qwen2");
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok.tokenizer));
  writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(tok.config, null, 2));
  writeFileSync(marker, JSON.stringify(config));
  return { bytes: params * 2, params };
}

/** Child mode: read and decode every tensor in 8 Mi-value row chunks (the anchor). */
async function readAll(dir: string): Promise<void> {
  const ck = await openCheckpoint(dir);
  let values = 0;
  for (const name of ck.names) {
    const shape = ck.info(name).shape;
    const rows = shape.length === 2 ? shape[0]! : 1;
    const cols = shape.length === 2 ? shape[1]! : shape[0]!;
    const per = Math.max(1, Math.floor((8 * 1024 * 1024) / cols));
    for (let r = 0; r < rows; r += per) values += (shape.length === 2 ? await ck.readFloat32(name, { start: r, count: Math.min(per, rows - r) }) : await ck.readFloat32(name)).length;
  }
  await ck.close();
  console.log(`read ${values} values`);
}

interface Timed {
  seconds: number;
  maxRssMiB: number;
  output: string;
}

function timed(command: string[]): Timed {
  const res = spawnSync("/usr/bin/time", ["-v", ...command], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  if (res.status !== 0) throw new Error(`${command.join(" ")} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  if (!rss || !wall) throw new Error(`cannot parse /usr/bin/time output:\n${res.stderr}`);
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  return { seconds, maxRssMiB: Number(rss[1]) / 1024, output: res.stdout + res.stderr };
}

async function main(): Promise<void> {
  if (args[0] === "--read-all") return readAll(args[1]!);
  const layers = Number(arg("layers", "28"));
  const threadsList = arg("threads", String(availableParallelism())).split(",").map(Number);
  const dir = path.join(here, "out", layers === 28 ? "qwen2.5-1.5b-shape" : `qwen2.5-1.5b-shape-${layers}l`);
  const t0 = Date.now();
  const { bytes, params } = await writeModel(dir, layers);
  console.log(`checkpoint ready (${((Date.now() - t0) / 1000).toFixed(0)} s): ${(bytes / 1e9).toFixed(2)} GB bf16, ${(params / 1e9).toFixed(3)} B params`);
  const tsx = path.join(root, "node_modules", ".bin", "tsx");
  const anchor = timed([tsx, "--conditions=source", path.join(here, "export.bench.ts"), "--read-all", dir]);
  console.log(`anchor (read + decode all tensors): ${anchor.seconds.toFixed(1)} s, peak RSS ${anchor.maxRssMiB.toFixed(0)} MiB`);
  const rows: string[] = [];
  let lastOut = "";
  for (const threads of threadsList) {
    const out = path.join(here, "out", `qwen2.5-1.5b-shape.Q4_K_M.t${threads}.gguf`);
    const run = timed([tsx, "--conditions=source", path.join(root, "apps/cli/src/main.ts"), "export", "--model_dir", dir, "--output", out, "--quantization", "Q4_K_M", "--threads", String(threads)]);
    const size = statSync(out).size;
    console.log(`neural export Q4_K_M, ${threads} thread(s): ${run.seconds.toFixed(1)} s, peak RSS ${run.maxRssMiB.toFixed(0)} MiB, ${(size / 1e6).toFixed(0)} MB`);
    rows.push(
      `| ${threads} | ${run.seconds.toFixed(1)} s | ${(run.seconds / anchor.seconds).toFixed(2)}× | ${((params * 4) / 1e6 / run.seconds).toFixed(0)} MB/s | ${run.maxRssMiB.toFixed(0)} MiB | ${run.maxRssMiB <= 1024 ? "yes" : "**no**"} | ${(size / 1e6).toFixed(0)} MB |`,
    );
    if (lastOut) rmSync(lastOut, { force: true });
    lastOut = out;
  }
  // The last file must be a working model: load it in llama.cpp and generate a few tokens.
  let loads = "not checked";
  try {
    const m = await LlamaModelProcess.load(lastOut, { contextSize: 256 });
    const g = await m.generate(chatmlPrompt([{ role: "user", content: "hi" }]), { maxTokens: 4 });
    await m.close();
    loads = `yes (generated ${g.tokens.length} tokens)`;
  } catch (error) {
    loads = `**no**: ${(error as Error).message.split("\n")[0]}`;
  }
  rmSync(lastOut, { force: true });
  console.log(`llama.cpp loads the result: ${loads}`);
  writeSection(
    "GGUF export",
    [
      `Machine: ${machine()}. Command: \`pnpm bench export\` (bench/export.bench.ts). Measured ${new Date().toISOString().slice(0, 10)}; load average ${loadavg()[1]!.toFixed(1)} (5 min) at the end of the run: other sessions shared the cores, so times are a ceiling.`,
      `Model: Qwen2.5-1.5B's shapes (hidden 1536, ffn 8960, ${layers} layers, 12 heads / 2 KV heads, vocab 151,936, tied embeddings, q/k/v biases), ${(params / 1e9).toFixed(3)} B random bf16 parameters written by the bench as ${Math.ceil(bytes / 1e9)} safetensors shards (${(bytes / 1e9).toFixed(2)} GB).`,
      `Export = \`neural export --quantization Q4_K_M --threads N\` (tsx on the sources): stream rows from the shards, rename/permute, quantize on @neural/quantize's worker pool (byte-identical to llama_model_quantize), write the GGUF through a temp file. Peak RSS from /usr/bin/time -v of the whole process tree's largest process.`,
      `Anchor = reading and decoding every tensor of the same checkpoint (bf16 → f32, 8 Mi-value chunks) in its own process: ${anchor.seconds.toFixed(1)} s, peak RSS ${anchor.maxRssMiB.toFixed(0)} MiB. llama.cpp loads the exported file: ${loads}.`,
      "",
      "| threads | wall time | ÷ anchor | f32 input MB/s | peak RSS | ≤ 1 GB | file |",
      "|---|---|---|---|---|---|---|",
      ...rows,
    ].join("\n"),
  );
}

await main();
