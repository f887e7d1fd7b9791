// The real job end to end (issue 20), one command: `pnpm bench job [-- options]`.
// Qwen2.5-0.5B's shapes (random bf16 weights, Qwen2.5's real tokenizer) and a generated dataset shaped like
// NornicDB's tasks (a long system prompt listing tools, raw graph data of varying length, a one-line JSON answer):
//   1. train: `train()` (what `neural train` runs) with LoRA r16 on every linear layer for a fixed number of steps,
//      in a child process with an empty graph cache, then again with the cache the first run filled (the second
//      run's start time is the cache's figure);
//   2. merge + export: `neural export --quantization Q4_K_M` of the adapter (merged into the base first);
//   3. load: llama.cpp (node-llama-cpp, child process) loads the GGUF and generates a few tokens.
// Wall time per stage and in total, tokens/s, padding share, peak RSS per process, and the FLOPs the answer-only loss
// saved. Then, in the same run, the PyTorch anchor (bench/anchors/torch_job_anchor.py on plain torch: the same job as
// users run it with transformers + PEFT, on the very examples our steps trained on, one per row, padded to the longest
// row of its batch, logits at every position, gradient checkpointing like ours; then merge and save): its wall time ÷
// ours per stage and in total, and both sides' share of this machine's FMA peak (bench/native/fma-peak.c) over the
// FLOPs the job really needs. Debian's python3-torch is installed when missing (as `pnpm bench train` does).
// Options: --steps N (3) --examples N (2000) --batch N (1) --max_length N (1536) --no-packing --layers N (24)
//          --threads N --anchor_batch N (4) --no-torch --no-write. The full size: --steps 50 --batch 4.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { batchesOf, openModel, prepareRun, resolveTrainConfig, train, type TrainEvent } from "@neural/lora-trainer";
import { readRecordsFromFile, readTokenizerFiles } from "@neural/dataset";
import { saveShardedSafetensors, type TensorToWrite } from "@neural/safetensors";
import { hfTensorShapes, realTokenizer, type HfConfig } from "@neural/testkit";
import { machine, writeSection } from "./results.js";
import { TORCH_PYTHON, ensureTorch, fmaPeak } from "./torch-anchor.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const out = path.join(here, "out", "job");
const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : def;
};
const tsx = path.join(root, "node_modules", ".bin", "tsx");

// ---------------------------------------------------------------------------------------------------------------
// the model and the data

function qwenConfig(layers: number): HfConfig {
  return {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: layers,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    vocab_size: 151936,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    torch_dtype: "bfloat16",
    hidden_act: "silu",
    use_sliding_window: false,
    sliding_window: 32768,
    max_window_layers: 21,
    bos_token_id: 151643,
    eos_token_id: 151645,
  };
}

/** Random bf16 bits: weights ±[2^-8, 2^-4) with random mantissas; norm weights near 1. */
function randomBf16(n: number, seed: number, norm: boolean): Uint8Array {
  const bits = new Uint16Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = s >>> 0;
    bits[i] = norm ? 0x3f80 | (r & 0x0f) : (r & 0x8000) | ((0x77 + ((r >>> 8) & 3)) << 7) | (r & 0x7f);
  }
  return new Uint8Array(bits.buffer);
}

async function writeModel(dir: string, layers: number): Promise<number> {
  const config = qwenConfig(layers);
  const shapes = hfTensorShapes(config, "qwen2");
  const params = shapes.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const marker = path.join(dir, ".complete");
  if (existsSync(marker) && readFileSync(marker, "utf8") === JSON.stringify(config)) return params;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tensors: TensorToWrite[] = shapes.map((t, i) => ({
    name: t.name,
    dtype: "BF16",
    shape: t.shape,
    data: () =>
      randomBf16(
        t.shape.reduce((a, b) => a * b, 1),
        1000 + i,
        t.kind === "norm",
      ),
  }));
  await saveShardedSafetensors(dir, tensors, { maxShardBytes: 2_000_000_000 });
  const tok = realTokenizer("qwen2.5");
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config, null, 2));
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok.tokenizer));
  writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(tok.config, null, 2));
  writeFileSync(marker, JSON.stringify(config));
  return params;
}

/**
 * NornicDB-shaped examples: the same long system prompt (the assistant's tools), a question with 0–30 rows of raw
 * graph data, and one line of JSON as the answer.
 */
function writeDataset(file: string, count: number): void {
  let s = 12345;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const tools = [
    "cypher_query",
    "vector_search",
    "get_node",
    "list_labels",
    "create_node",
    "create_edge",
    "delete_node",
    "update_property",
    "shortest_path",
    "neighbors",
    "count",
    "schema",
    "explain_query",
    "export_subgraph",
    "import_csv",
    "rank_nodes",
  ];
  const system =
    "You are Heimdall, the assistant of NornicDB, a graph database. Answer with exactly one JSON object on one line: " +
    '{"tool": <name>, "args": {...}}. Tools:\n' +
    tools
      .map(
        (t, i) =>
          `- ${t}(${["label", "id", "query", "limit", "property", "value", "from", "to"]
            .slice(i % 4, (i % 4) + 3 + (i % 3))
            .map((a) => `${a}: string`)
            .join(
              ", ",
            )}): ${t.replace(/_/g, " ")} on the graph; returns JSON rows; fails with an error object when the arguments do not match the schema, the label is unknown or the query does not parse.`,
      )
      .join("\n");
  const labels = ["Person", "Company", "Movie", "City", "Document", "Ticket", "Service"];
  const names = ["Ada", "Linus", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis", "Margaret", "Donald"];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const rows = Math.floor(rand() * rand() * 30);
    const data = Array.from(
      { length: rows },
      (_, r) => `{"id": ${1000 + r + i}, "label": "${pick(labels)}", "name": "${pick(names)}", "since": ${1990 + Math.floor(rand() * 35)}}`,
    ).join("\n");
    const tool = pick(tools);
    const label = pick(labels);
    const user = `${rows ? `Rows from the last query:\n${data}\n\n` : ""}Request ${i}: ${tool.replace(/_/g, " ")} for ${label} nodes named ${pick(names)}.`;
    const answer = JSON.stringify({ tool, args: { label, name: pick(names), limit: 1 + Math.floor(rand() * 50) } });
    lines.push(
      JSON.stringify({
        messages: [
          { role: "system", content: system },
          { role: "user", content: user },
          { role: "assistant", content: answer },
        ],
      }),
    );
  }
  writeFileSync(file, lines.join("\n") + "\n");
}

// ---------------------------------------------------------------------------------------------------------------
// child: training (the library call `neural train` makes), timed by its events

interface TrainChildArgs {
  modelDir: string;
  dataset: string;
  outputDir: string;
  steps: number;
  batch: number;
  maxLength: number;
  packing: boolean;
  threads?: number;
  /** Where to write the examples the steps trained on, one per row (the PyTorch anchor's input). */
  rowsFile?: string;
}

interface TrainChildResult {
  seconds: { prepare: number; graphs: number; steps: number; outputs: number; total: number };
  graphsBuilt: number;
  stepSeconds: number[];
  tokens: number;
  /** Examples the steps trained on. */
  examples: number;
  paddingShare: number;
  losses: number[];
  /**
   * headAll, headAnswers: the output projection at every position and at the answer slots; total: the steps as run
   * with logits at every position; needed: the FLOPs the job really needs (see neededFlops).
   */
  flops: { headAll: number; headAnswers: number; total: number; needed: number };
}

/**
 * The FLOPs training on these examples really needs, whoever runs it: per example (no padding, no packing across
 * examples), the frozen linear layers' forward and input gradient (4 per weight and token), the adapters' forward,
 * input and weight gradients (6 per LoRA value and token), causal attention's two products forward and backward
 * (6 · heads · head_dim per token pair, n²/2 pairs), and the output projection's forward and input gradient only
 * where a label is learned (4 · hidden · vocab). No recomputation: checkpointing is a choice of memory for time.
 */
function neededFlops(
  examples: readonly { length: number; learned: number }[],
  m: { linearParams: number; loraParams: number; layers: number; attentionWidth: number; hidden: number; vocab: number },
): number {
  let flops = 0;
  for (const e of examples) {
    flops += (4 * m.linearParams + 6 * m.loraParams) * e.length;
    flops += 6 * m.layers * m.attentionWidth * ((e.length * e.length) / 2);
    flops += 4 * m.hidden * m.vocab * e.learned;
  }
  return flops;
}

const flags = (a: TrainChildArgs) => ({
  base_model: a.modelDir,
  dataset: a.dataset,
  output_dir: a.outputDir,
  max_steps: a.steps,
  batch_size: a.batch,
  gradient_accumulation: 1,
  max_length: a.maxLength,
  packing: a.packing,
  lora_r: 16,
  lora_alpha: 32,
  lora_dropout: 0,
  validation_split: 0,
  warmup_steps: 0,
  logging_steps: 1,
  ...(a.threads ? { threads: a.threads } : {}),
});

async function trainChild(a: TrainChildArgs): Promise<TrainChildResult> {
  const { config } = resolveTrainConfig({ flags: flags(a) });
  const t0 = performance.now();
  let started = 0;
  let lastStep = 0;
  const stepSeconds: number[] = [];
  const losses: number[] = [];
  let tokens = 0;
  let slots = 0;
  const result = await train(config, {
    onEvent(e: TrainEvent) {
      const now = performance.now();
      if (e.type === "start") started = now;
      if (e.type === "step") {
        stepSeconds.push((now - (lastStep || started)) / 1000);
        lastStep = now;
        losses.push(e.loss);
      }
      if (e.type === "info" || e.type === "warning") console.error(`  ${e.type}: ${e.message}`);
    },
  });
  const end = performance.now();
  // the batches the steps ran, for the FLOP figures (the same prepared run the trainer made)
  const opened = await openModel(a.modelDir);
  const run = await prepareRun({
    config,
    dataset: { name: a.dataset, records: () => readRecordsFromFile(a.dataset) },
    base: { name: a.modelDir, config: opened.rawConfig, weights: opened.source, tokenizer: await readTokenizerFiles(a.modelDir) },
  });
  await opened.close();
  const used = batchesOf(run, 0).slice(0, a.steps);
  const { hiddenSize: H, vocabSize: V } = run.model;
  const linearWeights = run.source.names.filter((n) => n.includes(".layers.") && n.endsWith("proj.weight"));
  const linearParams = linearWeights.reduce((s, n) => s + run.source.shape(n).reduce((x, y) => x * y, 1), 0);
  const loraParams = linearWeights.reduce((s, n) => s + 16 * run.source.shape(n).reduce((x, y) => x + y, 0), 0);
  // the examples as the steps saw them (each packed segment), for the anchor and the FLOPs the job needs
  const trained: { ids: number[]; labels: number[] }[] = [];
  for (const b of used) {
    for (let row = 0; row < b.batchSize; row++) {
      const segments = new Map<number, { ids: number[]; labels: number[] }>();
      for (let i = row * b.seqLen; i < (row + 1) * b.seqLen; i++) {
        const segment = b.segmentIds[i]!;
        if (segment <= 0) continue;
        if (!segments.has(segment)) segments.set(segment, { ids: [], labels: [] });
        segments.get(segment)!.ids.push(b.inputIds[i]!);
        segments.get(segment)!.labels.push(b.labels[i]!);
      }
      trained.push(...segments.values());
    }
  }
  if (a.rowsFile) writeFileSync(a.rowsFile, JSON.stringify({ rows: trained }));
  const needed = neededFlops(
    trained.map((e) => ({ length: e.ids.length, learned: e.labels.slice(1).filter((l) => l >= 0).length })),
    {
      linearParams,
      loraParams,
      layers: run.model.numLayers,
      attentionWidth: run.model.numHeads * run.model.headDim,
      hidden: H,
      vocab: V,
    },
  );
  let examples = 0;
  let headAll = 0;
  let headAnswers = 0;
  let total = 0;
  for (const b of used) {
    const positions = b.batchSize * b.seqLen;
    tokens += b.tokens;
    slots += positions;
    for (let row = 0; row < b.batchSize; row++)
      examples += new Set(b.segmentIds.subarray(row * b.seqLen, (row + 1) * b.seqLen).filter((x) => x > 0)).size;
    // LoRA on a frozen base: the output projection's forward and its input gradient (2 + 2 FLOPs per weight)
    headAll += 4 * H * V * positions;
    headAnswers += 4 * H * V * (b.answers ?? positions);
    // the layers: forward, recomputed forward (checkpointing), input gradients: 6 FLOPs per weight and position
    total += 6 * linearParams * positions;
  }
  // graphs are built and their sessions opened when a step first needs a shape: the runner's own count of that time
  const graphs = result.graphs ? result.graphs.buildSeconds + result.graphs.openSeconds : 0;
  return {
    seconds: {
      prepare: (started - t0) / 1000,
      graphs,
      steps: (lastStep - started) / 1000 - graphs,
      outputs: (end - lastStep) / 1000,
      total: (end - t0) / 1000,
    },
    graphsBuilt: result.graphs?.built ?? 0,
    stepSeconds,
    tokens,
    examples,
    paddingShare: slots ? 1 - tokens / slots : 0,
    losses,
    flops: { headAll, headAnswers, total: total + headAll, needed },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// parent

interface Timed {
  seconds: number;
  /** User + system CPU time of the process and its children. */
  cpuSeconds: number;
  maxRssMiB: number;
  stdout: string;
  stderr: string;
}

function timed(command: string[], env: Record<string, string> = {}): Timed {
  const res = spawnSync("/usr/bin/time", ["-v", ...command], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: { ...process.env, ...env },
  });
  if (res.status !== 0) throw new Error(`${command.join(" ")} failed (${res.status}):\n${res.stdout}\n${res.stderr.slice(-4000)}`);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  if (!rss || !wall) throw new Error(`cannot parse /usr/bin/time output:\n${res.stderr}`);
  return {
    seconds: Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]),
    cpuSeconds:
      Number(/User time \(seconds\): ([\d.]+)/.exec(res.stderr)?.[1] ?? NaN) +
      Number(/System time \(seconds\): ([\d.]+)/.exec(res.stderr)?.[1] ?? NaN),
    maxRssMiB: Number(rss[1]) / 1024,
    stdout: res.stdout,
    stderr: res.stderr,
  };
}

function trainRun(a: TrainChildArgs, cache: string): { timed: Timed; result: TrainChildResult } {
  const t = timed([tsx, "--conditions=source", path.join(here, "job.bench.ts"), "--child-train", JSON.stringify(a)], {
    NEURAL_GRAPH_CACHE: cache,
  });
  const line = t.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`the training child printed no result:\n${t.stdout}\n${t.stderr.slice(-4000)}`);
  return { timed: t, result: JSON.parse(line.slice(7)) as TrainChildResult };
}

interface AnchorResult {
  engine: string;
  seconds: { prepare: number; train: number; merge: number; total: number };
  step_seconds: number[];
  tokens: number;
  slots: number;
  learned: number;
  tokens_per_second: number;
  padding_share: number;
  examples: number;
  steps: number;
  losses: number[];
  saved_bytes: number;
  checkpointing: boolean;
  threads: number;
}

async function main(): Promise<void> {
  const childAt = argv.indexOf("--child-train");
  if (childAt >= 0) {
    const result = await trainChild(JSON.parse(argv[childAt + 1]!) as TrainChildArgs);
    console.log(`RESULT ${JSON.stringify(result)}`);
    return;
  }
  const steps = Number(opt("steps", "3"));
  const examples = Number(opt("examples", "2000"));
  const batch = Number(opt("batch", "1"));
  const maxLength = Number(opt("max_length", "1536"));
  const layers = Number(opt("layers", "24"));
  const packing = !argv.includes("--no-packing");
  const threads = argv.includes("--threads") ? Number(opt("threads", "0")) : undefined;
  const anchorBatch = Number(opt("anchor_batch", "4"));
  mkdirSync(out, { recursive: true });
  const load0 = loadavg()[0]!;

  const modelDir = path.join(out, layers === 24 ? "qwen2.5-0.5b-shape" : `qwen2.5-0.5b-shape-${layers}l`);
  let t = Date.now();
  const params = await writeModel(modelDir, layers);
  console.log(
    `model ready (${((Date.now() - t) / 1000).toFixed(0)} s): ${(params / 1e6).toFixed(0)} M random bf16 parameters, Qwen2.5's tokenizer`,
  );
  const dataset = path.join(out, `nornicdb-shaped-${examples}.jsonl`);
  writeDataset(dataset, examples);

  const cache = path.join(out, "graph-cache");
  rmSync(cache, { recursive: true, force: true });
  const args: TrainChildArgs = {
    modelDir,
    dataset,
    outputDir: path.join(out, "trained"),
    steps,
    batch,
    maxLength,
    packing,
    ...(threads ? { threads } : {}),
  };
  console.log(
    `train: ${steps} steps of ${batch} × ≤${maxLength} tokens, ${packing ? "packing" : "no packing"}, LoRA r16 on every linear layer, empty graph cache ...`,
  );
  const rowsFile = path.join(out, "trained-rows.json");
  const cold = trainRun({ ...args, rowsFile }, cache);
  const r = cold.result;
  console.log(
    `  ${cold.timed.seconds.toFixed(1)} s (prepare ${r.seconds.prepare.toFixed(1)}, graphs + sessions ${r.seconds.graphs.toFixed(1)}, steps ${r.seconds.steps.toFixed(1)}, outputs ${r.seconds.outputs.toFixed(1)}), ` +
      `peak RSS ${cold.timed.maxRssMiB.toFixed(0)} MiB, padding ${(100 * r.paddingShare).toFixed(1)} %, losses ${r.losses.map((l) => l.toFixed(4)).join(", ")}`,
  );
  const warm = trainRun({ ...args, steps: Math.min(steps, 2), outputDir: path.join(out, "trained-again") }, cache);
  console.log(
    `  again with the graph cache: ${warm.timed.seconds.toFixed(1)} s, ${warm.result.graphsBuilt} graphs built, graphs + sessions ${warm.result.seconds.graphs.toFixed(1)} s (was ${r.seconds.graphs.toFixed(1)} s for ${r.graphsBuilt} graphs)`,
  );
  rmSync(path.join(out, "trained-again"), { recursive: true, force: true });

  const gguf = path.join(out, "job.Q4_K_M.gguf");
  t = Date.now();
  const exported = timed([
    tsx,
    "--conditions=source",
    path.join(root, "apps/cli/src/main.ts"),
    "export",
    "--model_dir",
    path.join(out, "trained"),
    "--base_model",
    modelDir,
    "--output",
    gguf,
    "--quantization",
    "Q4_K_M",
    ...(threads ? ["--threads", String(threads)] : []),
  ]);
  console.log(
    `merge + export Q4_K_M: ${exported.seconds.toFixed(1)} s, peak RSS ${exported.maxRssMiB.toFixed(0)} MiB, ${(statSync(gguf).size / 1e6).toFixed(0)} MB`,
  );

  t = Date.now();
  let loads: string;
  try {
    const m = await LlamaModelProcess.load(gguf, { contextSize: 256 });
    const g = await m.generate(chatmlPrompt([{ role: "user", content: "hi" }]), { maxTokens: 4 });
    await m.close();
    loads = `yes (generated ${g.tokens.length} tokens)`;
  } catch (error) {
    loads = `**no**: ${(error as Error).message.split("\n")[0]}`;
  }
  const loadSeconds = (Date.now() - t) / 1000;
  console.log(`llama.cpp load + 4 tokens: ${loadSeconds.toFixed(1)} s: ${loads}`);
  const total = cold.timed.seconds + exported.seconds + loadSeconds;
  const tokensPerSecond = r.tokens / r.seconds.steps;
  const saved = r.flops.headAll - r.flops.headAnswers;
  console.log(
    `job: ${total.toFixed(1)} s; ${tokensPerSecond.toFixed(1)} tokens/s in the steps; answer-only loss saved ${(saved / 1e12).toFixed(2)} TFLOP of ${(r.flops.total / 1e12).toFixed(2)} (${((100 * saved) / r.flops.total).toFixed(1)} %)`,
  );
  const torch = argv.includes("--no-torch") ? { ok: false, note: "--no-torch" } : ensureTorch();
  const peak = fmaPeak(out);
  const usedThreads = threads ?? availableParallelism();
  // the peak of as many cores as threads, per CPU-second (other sessions' load lowers the wall-clock figure)
  const peakFlops = peak ? (usedThreads === 1 ? peak.cpu1 : peak.cpu2) * 1e9 : NaN;
  const ofPeak = (seconds: number) => (peak ? `${((100 * r.flops.needed) / seconds / peakFlops).toFixed(1)} %` : "–");
  console.log(
    `fp32 FMA peak: ${peak ? `${JSON.stringify(peak)} GFLOP/s` : "not measured (no C compiler)"}; the job needs ${(r.flops.needed / 1e12).toFixed(2)} TFLOP; ours ${ofPeak(r.seconds.steps)} of the ${usedThreads}-thread peak in the steps`,
  );
  let anchor: { timed: Timed; result: AnchorResult } | undefined;
  let anchorFailure: string | undefined;
  if (torch.ok) {
    try {
      const run = timed([
        TORCH_PYTHON,
        path.join(here, "anchors", "torch_job_anchor.py"),
        "--model_dir",
        modelDir,
        "--rows",
        rowsFile,
        "--batch",
        String(anchorBatch),
        "--threads",
        String(usedThreads),
      ]);
      anchor = { timed: run, result: JSON.parse(run.stdout.trim().split("\n").at(-1)!) as AnchorResult };
    } catch (error) {
      // ours are measured: a failed anchor (out of memory on a shared machine) is reported, not fatal: its last words
      // (a traceback's last line) or the signal that ended it, not /usr/bin/time's figures
      const message = (error as Error).message;
      const signal = /Command terminated by signal \d+/.exec(message)?.[0];
      anchorFailure = signal ?? message.split("\tCommand being timed")[0]!.trim().split("\n").at(-1)!;
    }
  }
  rmSync(rowsFile, { force: true });
  const ours = { train: cold.timed.seconds, job: total };
  const a = anchor?.result;
  // the anchor's process up to the end of its steps (interpreter, torch, weights, rows, steps): our train stage's counterpart
  const theirsTrain = anchor && a ? anchor.timed.seconds - a.seconds.merge : NaN;
  let anchorLine: string;
  if (anchor && a) {
    anchorLine =
      `PyTorch (${a.engine}, bench/anchors/torch_job_anchor.py, ${a.threads} threads): the same ${a.examples} examples in ${a.steps} steps of ${anchorBatch} rows, ${(100 * a.padding_share).toFixed(1)} % padding, logits at every position, checkpointing ${a.checkpointing ? "on" : "off"}: ` +
      `${anchor.timed.seconds.toFixed(1)} s (prepare ${a.seconds.prepare.toFixed(1)}, steps ${a.seconds.train.toFixed(1)} at ${a.tokens_per_second.toFixed(1)} tokens/s = ${ofPeak(a.seconds.train)} of the peak over the needed FLOPs, merge + save ${a.seconds.merge.toFixed(1)}), peak RSS ${anchor.timed.maxRssMiB.toFixed(0)} MiB, losses ${a.losses.map((l) => l.toFixed(4)).join(", ")}; ` +
      `CPU time (user + system) of the whole process: ours ${cold.timed.cpuSeconds.toFixed(0)} s (train), PyTorch ${anchor.timed.cpuSeconds.toFixed(0)} s (${(anchor.timed.cpuSeconds / cold.timed.cpuSeconds).toFixed(2)}×); ` +
      `its wall ÷ ours: train ${(theirsTrain / ours.train).toFixed(2)}×, steps ${(a.seconds.train / r.seconds.steps).toFixed(2)}×, job ${(anchor.timed.seconds / ours.job).toFixed(2)}× (its job has no GGUF export or load; ours has)`;
  } else anchorLine = `PyTorch: not measured (${anchorFailure ? `the anchor failed: ${anchorFailure}` : torch.note})`;
  console.log(anchorLine);
  rmSync(gguf, { force: true });
  if (argv.includes("--no-write")) return;
  const command = `pnpm bench job${argv.length ? ` -- ${argv.join(" ")}` : ""}`;
  writeSection(
    "The real job: JSONL → LoRA → Q4_K_M → llama.cpp (issue 20)",
    [
      `Machine: ${machine()}. Command: \`${command}\` (bench/job.bench.ts). Measured ${new Date().toISOString().slice(0, 16)}Z; load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end${Math.max(load0, loadavg()[0]!) > availableParallelism() ? " (more runnable work than cores: other work shared them, so wall times are a ceiling)" : ""}.`,
      `Model: Qwen2.5-0.5B's shapes (${layers} layers, hidden 896, vocab 151,936, tied embeddings), ${(params / 1e6).toFixed(0)} M random bf16 parameters, Qwen2.5's tokenizer. Data: ${examples} generated NornicDB-shaped conversations (one long system prompt listing 16 tools, 0–30 rows of raw graph data, a one-line JSON answer). Training: LoRA r16 α32 on every linear layer, ${steps} optimizer steps of ${batch} × ≤${maxLength} tokens, ${packing ? "packing on (the default)" : "no packing"}, gradient checkpointing (the default), no eval split. Each stage in its own process under /usr/bin/time -v.`,
      "",
      "| stage | ours: wall time | ours: peak RSS | PyTorch: wall time | PyTorch: peak RSS | PyTorch ÷ ours | notes |",
      "|---|---|---|---|---|---|---|",
      `| train (empty graph cache) | ${cold.timed.seconds.toFixed(1)} s | ${cold.timed.maxRssMiB.toFixed(0)} MiB | ${a ? `${theirsTrain.toFixed(1)} s` : "–"} | ${a ? `${anchor!.timed.maxRssMiB.toFixed(0)} MiB` : "–"} | ${a ? `**${(theirsTrain / ours.train).toFixed(2)}×**` : "–"} | ours: prepare ${r.seconds.prepare.toFixed(1)} s, ${r.graphsBuilt} graphs built + their sessions ${r.seconds.graphs.toFixed(1)} s, ${steps} steps ${r.seconds.steps.toFixed(1)} s, outputs ${r.seconds.outputs.toFixed(1)} s; padding ${(100 * r.paddingShare).toFixed(1)} % of slots.${a ? ` PyTorch: interpreter + torch, weights and rows ${(theirsTrain - a.seconds.train).toFixed(1)} s, ${a.steps} steps ${a.seconds.train.toFixed(1)} s; padding ${(100 * a.padding_share).toFixed(1)} %` : ""} |`,
      `| the steps alone | ${r.seconds.steps.toFixed(1)} s | | ${a ? `${a.seconds.train.toFixed(1)} s` : "–"} | | ${a ? `${(a.seconds.train / r.seconds.steps).toFixed(2)}×` : "–"} | ${r.tokens} tokens: ours ${tokensPerSecond.toFixed(1)} tokens/s, ${ofPeak(r.seconds.steps)} of the FMA peak${a ? `; PyTorch ${a.tokens_per_second.toFixed(1)} tokens/s, ${ofPeak(a.seconds.train)}` : ""} (over the ${(r.flops.needed / 1e12).toFixed(2)} TFLOP the job needs) |`,
      `| train again (graph cache filled) | ${warm.timed.seconds.toFixed(1)} s | ${warm.timed.maxRssMiB.toFixed(0)} MiB | | | | ${warm.result.graphsBuilt} graphs built; graphs + sessions ${warm.result.seconds.graphs.toFixed(1)} s instead of ${r.seconds.graphs.toFixed(1)} s (${r.graphsBuilt} built); ${Math.min(steps, 2)} steps |`,
      `| merge + export Q4_K_M | ${exported.seconds.toFixed(1)} s | ${exported.maxRssMiB.toFixed(0)} MiB | ${a ? `${a.seconds.merge.toFixed(1)} s + llama.cpp's convert and quantize` : "–"} | | – | ours: \`neural export\` of the adapter with --base_model.${a ? ` PyTorch: the adapters merged and the model saved as float32 safetensors (${(a.saved_bytes / 1e9).toFixed(2)} GB); users then run llama.cpp's convert_hf_to_gguf.py and llama-quantize, not installed here: our quantizer against ggml's is in "GGUF export"` : ""} |`,
      `| llama.cpp load + 4 tokens | ${loadSeconds.toFixed(1)} s | — | | | | loads: ${loads} |`,
      `| **job** | **${total.toFixed(1)} s** | | ${a ? `${anchor!.timed.seconds.toFixed(1)} s` : "–"} | | ${a ? `**${(anchor!.timed.seconds / total).toFixed(2)}×**` : "–"} | ours: train, export, load; PyTorch: train, merge, save (no GGUF export or load: the ratio understates ours) |`,
      "",
      `Answer-only loss: the output projection and the loss ran at ${((100 * r.flops.headAnswers) / r.flops.headAll).toFixed(1)} % of the positions; it saved ${(saved / 1e12).toFixed(2)} TFLOP of the ${(r.flops.total / 1e12).toFixed(2)} TFLOP the same steps need with logits at every position (${((100 * saved) / r.flops.total).toFixed(1)} %; counted as 4·hidden·vocab per position for the projection's forward and input gradient, and 6 FLOPs per linear weight and position for the layers with checkpointing).`,
      `FMA peak (bench/native/fma-peak.c): ${peak ? `${peak.cpu1.toFixed(0)} GFLOP/s per CPU-second with 1 thread, ${peak.cpu2.toFixed(0)} with 2 (wall clock ${peak.wall1.toFixed(0)} and ${peak.wall2.toFixed(0)})` : "not measured (no C compiler)"}; both sides ran ${usedThreads} threads. The FLOPs the job really needs: per example, without padding or recomputation, the frozen linear layers' forward and input gradient, the adapters' three products, causal attention and the output projection at the learned positions only (neededFlops in bench/job.bench.ts): ${(r.flops.needed / 1e12).toFixed(2)} TFLOP. The fraction of the peak: those FLOPs over each side's step time and the peak of ${usedThreads} cores.`,
      anchorLine,
    ].join("\n"),
  );
}

await main();
