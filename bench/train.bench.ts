// Training speed and memory (issue 9), one command: `pnpm bench train [-- options]`.
//  1. bench-small (DESIGN.md) LoRA r16 on q,k,v,o and full fine-tuning: our training step (the trainer's loop, graphs
//     and session options) against the PyTorch anchor ../shared/anchors/torch_lora_bench.py on the same shapes, in
//     alternating child processes, each side at 1 and 2 threads: tokens/s (median step), CPU seconds per step,
//     the fraction of this machine's measured fp32 FMA peak, peak RSS. Each side is judged at its best setting.
//  2. Gradient checkpointing on bench-small: peak RSS and step time with and without, the same loss.
//  3. Qwen2.5-0.5B's shapes (random weights), seq 512, LoRA r16 on every linear layer: tokens/s and peak RSS with
//     and without gradient checkpointing (same loss), QLoRA (4-bit base), and a float16 base for comparison.
//  4. The memory estimator (--estimate_memory) against the measured peaks of real `neural train` runs (fitted and held out).
//  5. Qwen3-0.6B's shapes (NornicDB's default model; random weights), seq 512, LoRA r16 on every linear layer, checkpointing.
//  6. Full fine-tuning's peak RSS on bench-small against PyTorch's (--only full-memory), with and without gradient
//     checkpointing, and the same child from another checkout (--before DIR: e.g. a `git worktree` of an older
//     commit) in the same run.
// Options: --rounds N (speed rounds, default 3) --steps N (timed steps, default 4)
//          --only speed,profile,small-memory,qwen,estimate,qwen3,full-memory --no-torch --no-write --threads 1,2 --before DIR
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { saveSafetensors } from "@neural/safetensors";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Graph, type Tensor, add, cast, linear as gemmLinear } from "@neural/graph";
import * as ort from "onnxruntime-node";
import {
  buildStepGraph,
  PUBLISHED_CONFIGS,
  estimateMemory,
  estimateTrainingMemory,
  fileStore,
  formatMemoryEstimate,
  GraphRunner,
  initialLoopState,
  nodeGarbageCollector,
  OptimizerState,
  qloraLinear,
  resolveTrainConfig,
  sessionOptions,
  setMallocForRun,
  trainableParams,
  trainLoop,
  type GraphStore,
  type ForwardOptions,
  type LoraSpec,
  type TrainConfig,
  undoStoreFor,
} from "@neural/lora-trainer";
import { TORCH_PYTHON, ensureTorch, fmaPeak } from "./torch-anchor.js";
import { machine, resultsFile, writeSection } from "./results.js";
import { benchTargets, modelConfig, random, randomSource, tokenBatch, type ModelName } from "./train-models.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "out", "train");
// ../shared beside the checkout; a git worktree one folder deeper finds it one level up
const ANCHOR =
  [path.resolve(here, "..", "..", "shared"), path.resolve(here, "..", "..", "..", "shared")]
    .map((shared) => path.join(shared, "anchors", "torch_lora_bench.py"))
    .find((file) => existsSync(file)) ?? path.resolve(here, "..", "..", "shared", "anchors", "torch_lora_bench.py");
const argv = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : def;
};
let maxLoad = 0;
const noteLoad = () => (maxLoad = Math.max(maxLoad, os.loadavg()[0]!));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (kib: number) => kib / 1024;

// ---------------------------------------------------------------------------------------------------------------
// child: our training step

interface StepChildArgs {
  model: ModelName;
  layers?: number;
  mode: "lora" | "full";
  base: "fp32" | "fp16" | "int4";
  recompute: boolean;
  threads: number;
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  /** Profile the last step with ORT's profiler and return op-type totals instead. */
  profile?: boolean;
}

interface StepResult {
  stepSeconds: number[];
  cpuSeconds: number[];
  losses: number[];
  rss: { start: number; built: number; session: number };
  maxRssMiB: number;
  buildSeconds: number;
  createSeconds: number;
}

/** A float16 base: every linear weight stored as float16 and cast to float32 in the graph (what ORT makes of it). */
function fp16Linear(source: ReturnType<typeof randomSource>): NonNullable<ForwardOptions["linear"]> {
  const made = new WeakMap<Graph, Map<string, Tensor>>();
  return (x, module, _dense, base) => {
    let m = made.get(x.graph);
    if (!m) made.set(x.graph, (m = new Map()));
    let w = m.get(module);
    if (!w) {
      const name = `${module}.weight`;
      w = x.graph.initializer(`${name}.f16`, "float16", base.weight.shape, async () => toFloat16(await source.read(name)));
      m.set(module, w);
    }
    const y = gemmLinear(x, cast(w, "float32"));
    return base.bias ? add(y, base.bias) : y;
  };
}
function toFloat16(v: Float32Array): Uint16Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  return Uint16Array.from(v, (x) => {
    f[0] = x;
    const b = u[0]!;
    const sign = (b >>> 16) & 0x8000;
    const exp = ((b >>> 23) & 0xff) - 127 + 15;
    if (exp <= 0) return sign;
    if (exp >= 31) return sign | 0x7c00;
    return sign | (exp << 10) | ((b >>> 13) & 0x3ff);
  });
}

async function stepChild(a: StepChildArgs): Promise<StepResult> {
  const rssNow = () => process.memoryUsage().rss / 2 ** 20;
  const start = rssNow();
  setMallocForRun({ fullFineTuning: a.mode === "full", gradientCheckpointing: a.recompute }); // as train() does
  const c = modelConfig(a.model, a.layers);
  const source = randomSource(c);
  const lora: LoraSpec | undefined =
    a.mode === "lora" ? { rank: 16, alpha: 32, rsLora: false, targets: benchTargets(a.model), dropout: 0 } : undefined;
  const linear = a.base === "int4" ? qloraLinear(source) : a.base === "fp16" ? fp16Linear(source) : undefined;
  const dir = path.join(out, `child-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  // The trainer's code: its runner (graphs in one shared weights file, its session options), its optimizer state
  // and its loop, over one batch of random tokens; only the graphs' base weights differ (fp16 / int4 bases).
  const times = { t0: 0, t1: 0, built: 0 };
  const files = fileStore(dir);
  const store: GraphStore = {
    reopens: true,
    async save(graph, name) {
      const stored = await files.save(graph, name);
      times.built = rssNow();
      times.t1 = performance.now();
      return stored;
    },
  };
  const runner = await GraphRunner.open({
    ort,
    store,
    session: {
      ...sessionOptions(["cpu"], a.threads),
      ...(a.profile ? { enableProfiling: true, profileFilePrefix: path.join(dir, "profile") } : {}),
    },
    precision: "float32",
    collectGarbage: nodeGarbageCollector(),
    build: (key) => {
      times.t0 = performance.now();
      return buildStepGraph({
        config: c,
        source,
        batch: key.batch,
        seq: key.seq,
        ...(lora ? { lora } : {}),
        recompute: a.recompute,
        ...(linear ? { linear } : {}),
        kind: "step",
      }).graph;
    },
  });
  await runner.prepare({ kind: "step", batch: a.batch, seq: a.seq });
  const t2 = performance.now();
  const session0 = rssNow();
  const params = trainableParams(c, source, lora);
  const r = random(3);
  const values = new Map(
    params.map((p) => {
      const n = p.shape.reduce((x, y) => x * y, 1);
      return [
        p.name,
        lora
          ? Float32Array.from({ length: n }, () => (p.name.endsWith("lora_A") ? r() * 0.1 : 0))
          : Float32Array.from(source.read(p.name) as Float32Array),
      ];
    }),
  );
  const optimizer = new OptimizerState(
    params,
    values,
    { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 },
    undoStoreFor(params, dir).store,
  );
  let adamwMs = 0;
  const apply = optimizer.apply.bind(optimizer);
  optimizer.apply = (outputs, step) => {
    const a0 = performance.now();
    const broken = apply(outputs, step);
    adamwMs = performance.now() - a0;
    return broken;
  };
  const batch = tokenBatch(c.vocabSize, a.batch, a.seq);
  const stepSeconds: number[] = [];
  const cpuSeconds: number[] = [];
  const losses: number[] = [];
  let c0 = process.cpuUsage();
  await trainLoop(
    {
      settings: {
        gradient_accumulation: 1,
        learning_rate: 1e-4,
        warmup_steps: 0,
        lr_scheduler: "constant",
        eval_steps: Infinity,
        save_steps: Infinity,
        seed: 0,
      },
      totalSteps: a.warmup + a.steps,
      batches: () => [batch],
      optimizer,
      state: initialLoopState(""),
    },
    runner,
    {
      onStep(s) {
        const cu = process.cpuUsage(c0);
        c0 = process.cpuUsage();
        losses.push(s.loss);
        if (s.step > a.warmup) {
          stepSeconds.push(s.seconds);
          cpuSeconds.push((cu.user + cu.system) / 1e6);
        }
      },
      onEval: () => {},
      onNote: (n) => console.error(n.message),
      shouldStop: () => false,
    },
  );
  optimizer.close();
  await runner.release();
  if (a.profile) {
    // the session wrote its profile when the runner released it
    const events = JSON.parse(
      readFileSync(
        path.join(
          dir,
          readdirSync(dir).find((f) => f.startsWith("profile"))!,
        ),
        "utf8",
      ),
    ) as {
      cat?: string;
      name: string;
      ts: number;
      dur: number;
      args?: Record<string, unknown>;
    }[];
    const runs = events.filter((e) => e.name === "model_run");
    const last = runs[runs.length - 1]!;
    const byOp = new Map<string, [number, number]>();
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < last.ts || e.ts > last.ts + last.dur) continue;
      const op = String(e.args?.op_name);
      const [ms, n] = byOp.get(op) ?? [0, 0];
      byOp.set(op, [ms + e.dur / 1000, n + 1]);
    }
    rmSync(dir, { recursive: true, force: true });
    const ops = [...byOp].map(([op, [ms, n]]) => [op, ms, n] as [string, number, number]).sort((x, y) => y[1] - x[1]);
    const total = ops.reduce((t, o) => t + o[1], 0);
    const gemmMs = ops.filter(([op]) => /MatMul|Gemm/.test(op)).reduce((t, o) => t + o[1], 0);
    return {
      total,
      ops,
      adamwMs,
      matmulGflops: stepFlops(a.model, a.mode, a.batch, a.seq) / (gemmMs / 1000) / 1e9,
    } as unknown as StepResult;
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    stepSeconds,
    cpuSeconds,
    losses,
    rss: { start, built: times.built, session: session0 },
    maxRssMiB: mib(process.resourceUsage().maxRSS),
    buildSeconds: (times.t1 - times.t0) / 1000,
    createSeconds: (t2 - times.t1) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// parent helpers

const TSX = path.join(here, "..", "node_modules", ".bin", "tsx");

/** A child process of this script, or of the same script in another checkout (`script`: its path). */
function child<T>(kind: "step", args: object, script = fileURLToPath(import.meta.url)): T {
  noteLoad();
  const res = spawnSync(TSX, ["--conditions=source", script, "--child", kind, JSON.stringify(args)], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (res.status !== 0) throw new Error(`child ${kind} ${JSON.stringify(args)} failed:\n${res.stderr.slice(-4000)}`);
  return JSON.parse(res.stdout.trim().split("\n").pop()!) as T;
}

interface TorchResult {
  step_s_median: number;
  tokens_per_s: number;
  peak_rss_mb: number;
  final_loss: number;
  cpu_s_median?: number;
}

/** The anchor as shipped (wall-clock medians), and the same script with its clock read as process CPU time. */
function torchRun(full: boolean, threads: number, steps: number, cpuClock = false): TorchResult {
  noteLoad();
  const args = ["--threads", String(threads), "--steps", String(steps), "--warmup", "1", ...(full ? ["--full"] : [])];
  const res = cpuClock
    ? spawnSync(
        TORCH_PYTHON,
        [
          "-c",
          "import sys,time; time.perf_counter=time.process_time; sys.argv=[sys.argv[1]]+sys.argv[2:]; exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'))",
          ANCHOR,
          ...args,
        ],
        { encoding: "utf8" },
      )
    : spawnSync(TORCH_PYTHON, [ANCHOR, ...args], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`PyTorch anchor failed: ${res.stderr.slice(-2000)}`);
  return JSON.parse(res.stdout.trim().split("\n").pop()!) as TorchResult;
}

/** FLOPs of one step: every MatMul and Gemm of the step graph without recomputation (the work PyTorch does too). */
function stepFlops(model: ModelName, mode: "lora" | "full", batch: number, seq: number): number {
  const c = modelConfig(model);
  const source = randomSource(c);
  const lora = mode === "lora" ? { rank: 16, alpha: 32, rsLora: false, targets: benchTargets(model), dropout: 0 } : undefined;
  const { graph } = buildStepGraph({ config: c, source, batch, seq, ...(lora ? { lora } : {}), recompute: false, kind: "step" });
  let flops = 0;
  for (const n of graph.nodes) {
    if (n.op.name === "MatMul" || n.op.name === "QMatMul") {
      const [a] = n.inputs;
      const y = n.outputs[0]!;
      flops += 2 * y.size * a!.shape[a!.rank - 1]!;
    } else if (n.op.name === "Gemm") {
      const [a] = n.inputs;
      const k = (n.attrs as { transA: boolean }).transA ? a!.shape[0]! : a!.shape[1]!;
      flops += 2 * n.outputs[0]!.size * k;
    }
  }
  return flops;
}

/** A Hugging Face model directory with random bf16 weights of a bench model and a tokenizer (once). */
async function writeModelDir(name: ModelName, dir: string, tokenizerJson: string): Promise<void> {
  if (existsSync(path.join(dir, "model.safetensors"))) return;
  mkdirSync(dir, { recursive: true });
  const c = modelConfig(name);
  const source = randomSource(c);
  const raw =
    name === "qwen3-0.6b"
      ? PUBLISHED_CONFIGS["Qwen/Qwen3-0.6B"]
      : name === "bench-small"
        ? {}
        : {
            architectures: ["Qwen2ForCausalLM"],
            model_type: "qwen2",
            vocab_size: c.vocabSize,
            hidden_size: c.hiddenSize,
            intermediate_size: c.intermediateSize,
            num_hidden_layers: c.numLayers,
            num_attention_heads: c.numHeads,
            num_key_value_heads: c.numKvHeads,
            max_position_embeddings: c.maxPositions,
            rms_norm_eps: c.rmsNormEps,
            rope_theta: c.ropeTheta,
            tie_word_embeddings: true,
            torch_dtype: "bfloat16",
          };
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(raw, null, 2));
  await saveSafetensors(
    path.join(dir, "model.safetensors"),
    source.names.map((n) => ({ name: n, dtype: "BF16" as const, shape: [...source.shape(n)], data: () => source.read(n) as Float32Array })),
  );
  copyFileSync(tokenizerJson, path.join(dir, "tokenizer.json"));
  const cfg = path.join(path.dirname(tokenizerJson), "tokenizer_config.json");
  if (existsSync(cfg)) copyFileSync(cfg, path.join(dir, "tokenizer_config.json"));
}

const fmt = (x: number, d = 0) => x.toFixed(d);
const range = (xs: number[], d = 0) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;

// ---------------------------------------------------------------------------------------------------------------
// parent

async function main(): Promise<void> {
  const i = argv.indexOf("--child");
  if (i >= 0) {
    const args = JSON.parse(argv[i + 2]!);
    const res = await stepChild(args as StepChildArgs);
    console.log(JSON.stringify(res));
    return;
  }
  mkdirSync(out, { recursive: true });
  const only = opt("only", "speed,profile,small-memory,full-memory,qwen,estimate,qwen3").split(",");
  const rounds = Number(opt("rounds", "3"));
  const steps = Number(opt("steps", "4"));
  const threadsList = opt("threads", "1,2").split(",").map(Number);
  const loadStart = os.loadavg()[0]!;
  const date = new Date().toISOString().slice(0, 10);
  const sections: string[] = [];
  const B = 4;
  const S = 256;
  const tokens = B * S;

  const torch = argv.includes("--no-torch") ? { ok: false, note: "--no-torch" } : ensureTorch();
  console.log(`PyTorch anchor: ${torch.note}`);
  const peak = fmaPeak(out);
  console.log(peak ? `fp32 FMA peak: ${JSON.stringify(peak)} GFLOP/s` : "fp32 FMA peak: no C compiler, not measured");

  // 1. speed ------------------------------------------------------------------------------------------------------
  const measured: { label: string; estimate: () => ReturnType<typeof estimateMemory>; rssMiB: number }[] = [];
  if (only.includes("speed")) {
    const rows: string[] = [];
    const cpuRows: string[] = [];
    for (const mode of ["lora", "full"] as const) {
      const flops = stepFlops("bench-small", mode, B, S);
      const ours = new Map<number, StepResult[]>();
      const theirs = new Map<number, TorchResult[]>();
      for (let r = 0; r < rounds; r++) {
        for (const t of threadsList) {
          const runOurs = () => {
            const res = child<StepResult>("step", {
              model: "bench-small",
              mode,
              base: "fp32",
              recompute: false,
              threads: t,
              batch: B,
              seq: S,
              steps,
              warmup: 1,
            } satisfies StepChildArgs);
            ours.set(t, [...(ours.get(t) ?? []), res]);
            console.log(
              `${mode} ours ${t}T: ${fmt(tokens / median(res.stepSeconds))} tokens/s (steps ${res.stepSeconds.map((s) => fmt(s, 2)).join(" ")} s), ${fmt(res.maxRssMiB)} MiB, load ${fmt(os.loadavg()[0]!, 1)}`,
            );
          };
          const runTheirs = () => {
            if (!torch.ok) return;
            const res = torchRun(mode === "full", t, steps);
            theirs.set(t, [...(theirs.get(t) ?? []), res]);
            console.log(
              `${mode} torch ${t}T: ${fmt(res.tokens_per_s)} tokens/s, ${fmt(res.peak_rss_mb)} MB, load ${fmt(os.loadavg()[0]!, 1)}`,
            );
          };
          if ((r + t) % 2 === 0) {
            runOurs();
            runTheirs();
          } else {
            runTheirs();
            runOurs();
          }
        }
      }
      // CPU time per step at 1 thread (robust to other processes sharing the cores), one run each
      const oursCpu = median(ours.get(1)?.flatMap((x) => x.cpuSeconds) ?? [NaN]);
      const theirsCpu = torch.ok ? torchRun(mode === "full", 1, steps, true).step_s_median : NaN;
      const perThread = (t: number) => {
        const o = ours.get(t)!.map((x) => tokens / median(x.stepSeconds));
        const p = theirs.get(t)?.map((x) => x.tokens_per_s) ?? [];
        return { t, o, p, oMed: median(o), pMed: p.length ? median(p) : NaN };
      };
      const all = threadsList.map(perThread);
      const bestO = all.reduce((a, b) => (b.oMed > a.oMed ? b : a));
      const bestP = all.reduce((a, b) => (b.pMed > a.pMed ? b : a));
      // the peak of t free cores: per CPU-second (the wall-clock figure for 2 threads suffers from other sessions)
      const peakFor = (t: number) => (peak ? (t === 1 ? peak.cpu1 : peak.cpu2) : NaN);
      for (const x of all) {
        const oRss = median(ours.get(x.t)!.map((y) => y.maxRssMiB));
        const pRss = theirs.get(x.t) ? median(theirs.get(x.t)!.map((y) => y.peak_rss_mb)) : NaN;
        rows.push(
          `| ${mode} | ${x.t} | **${fmt(x.oMed)}** (${range(x.o)}) | ${fmt(x.pMed)} (${x.p.length ? range(x.p) : "–"}) | ${fmt(x.oMed / x.pMed, 2)} | ${fmt((100 * flops * x.oMed) / tokens / 1e9 / peakFor(x.t))} % / ${fmt((100 * flops * x.pMed) / tokens / 1e9 / peakFor(x.t))} % | ${fmt(oRss)} / ${fmt(pRss)} MiB (${fmt(oRss / pRss, 2)}) |`,
        );
      }
      rows.push(
        `| **${mode}, each at its best** | ours ${bestO.t}, PyTorch ${bestP.t} | **${fmt(bestO.oMed)}** | **${fmt(bestP.pMed)}** | **${fmt(bestO.oMed / bestP.pMed, 2)}** | | |`,
      );
      cpuRows.push(
        `| ${mode} | ${fmt(flops / 1e9, 1)} | ${fmt(oursCpu, 2)} s | ${fmt(theirsCpu, 2)} s | ${fmt(theirsCpu / oursCpu, 2)} | ${peak ? `${fmt((100 * flops) / oursCpu / 1e9 / peak.cpu1)} % / ${fmt((100 * flops) / theirsCpu / 1e9 / peak.cpu1)} %` : "–"} |`,
      );
      const lossO = ours.get(threadsList[0]!)![0]!.losses[0]!;
      console.log(`${mode}: first loss ours ${lossO}, PyTorch ${theirs.get(threadsList[0]!)?.[0]?.final_loss ?? "–"} (final)`);
    }
    sections.push(`### bench-small: our training step against PyTorch

Command: \`pnpm bench train\` (bench/train.bench.ts). bench-small: vocab 8192, hidden 512, 8 layers, 8 heads, ffn 1408, batch ${B} × seq ${S} = ${tokens} tokens per step, LoRA r16 on q,k,v,o or full fine-tuning, AdamW with clipping, float32, no gradient checkpointing on either side (PyTorch's anchor has none). Ours: the trainer's own loop (trainLoop), runner, session options and in-place AdamW (onnxruntime-node 1.30 CPU) over one batch of random tokens, every token after a row's first learned. PyTorch: ${"`"}../shared/anchors/torch_lora_bench.py${"`"} (Debian python3-torch 1.13 with libopenblas0-openmp). ${rounds} rounds; in each round the two engines alternate (the order flips), each at 1 and 2 threads; per run the median of ${steps} steps after 1 warm-up step; the table gives the median over rounds and the range. ${torch.note}.
FMA peak (bench/native/fma-peak.c: independent AVX-512 FMA chains in registers): ${peak ? `${fmt(peak.cpu1)} GFLOP/s per CPU-second with 1 thread, ${fmt(peak.cpu2)} with 2 (wall clock: ${fmt(peak.wall1)} and ${fmt(peak.wall2)}, lower when other sessions held a core)` : "not measured (no C compiler)"}. The fraction of the peak: the step's MatMul/Gemm FLOPs (the same for both engines) per second of wall clock over the CPU-time peak of as many cores as threads.

| mode | threads | ours tokens/s | PyTorch tokens/s | ours ÷ PyTorch | fraction of FMA peak (ours / PyTorch) | peak RSS ours / PyTorch |
|---|---|---|---|---|---|---|
${rows.join("\n")}

CPU seconds per step at 1 thread (the process's user+system time; other sessions on the same cores slow wall-clock times far more than CPU times, so this is the steadier comparison of the work each engine does):

| mode | GFLOP per step | ours | PyTorch | PyTorch ÷ ours (speed-up) | of the 1-thread FMA peak per CPU-second (ours / PyTorch) |
|---|---|---|---|---|---|
${cpuRows.join("\n")}`);
  }

  // 1b. where the time goes: ORT's profiler on one step of each mode, 1 thread ------------------------------------
  if (only.includes("profile")) {
    const rows: string[] = [];
    for (const mode of ["lora", "full"] as const) {
      const p = child<{ total: number; ops: [string, number, number][]; adamwMs: number; matmulGflops: number }>("step", {
        model: "bench-small",
        mode,
        base: "fp32",
        recompute: false,
        threads: 1,
        batch: B,
        seq: S,
        steps: 1,
        warmup: 1,
        profile: true,
      } satisfies StepChildArgs);
      // AdamW runs in place after the graph (adamw.ts): the profiler does not see it, so it joins the table here
      const ops: [string, number, number][] = [...p.ops, ["AdamW in place (WebAssembly)", p.adamwMs, 1] as [string, number, number]].sort(
        (x, y) => y[1] - x[1],
      );
      const total = p.total + p.adamwMs;
      const top = ops
        .slice(0, 8)
        .map(([op, ms, n]) => `${op} ${fmt((100 * ms) / total)} % (${n})`)
        .join(", ");
      const gemm = p.ops.filter(([op]) => /MatMul|Gemm/.test(op)).reduce((a, [, ms]) => a + ms, 0);
      rows.push(`| ${mode} | ${fmt(total)} ms | ${fmt((100 * gemm) / total)} % at ${fmt(p.matmulGflops)} GFLOP/s | ${top} |`);
    }
    sections.push(`### Where the time goes

ONNX Runtime's profiler (\`enableProfiling\`) on one bench-small step after a warm-up step, 1 thread, kernels summed by op type (count in parentheses), plus the AdamW pass that runs in place after the graph (adamw.ts, timed around the call). The matrix products' achieved rate compares with one core's FMA peak (${peak ? `${fmt(peak.cpu1)} GFLOP/s per CPU-second` : "not measured"}); everything else (the backward's elementwise ops, AdamW, softmax, transposes) is the rest.

| mode | kernel time | MatMul/Gemm share, achieved rate | largest op types |
|---|---|---|---|
${rows.join("\n")}`);
  }

  // 2. gradient checkpointing on bench-small ------------------------------------------------------------------
  if (only.includes("small-memory")) {
    const rows: string[] = [];
    for (const mode of ["lora", "full"] as const) {
      const res: Record<string, StepResult> = {};
      for (const recompute of [false, true]) {
        const args = {
          model: "bench-small",
          mode,
          base: "fp32",
          recompute,
          threads: 1,
          batch: B,
          seq: S,
          steps: 2,
          warmup: 1,
        } satisfies StepChildArgs;
        const r = child<StepResult>("step", args);
        res[String(recompute)] = r;
        console.log(
          `bench-small ${mode} recompute ${recompute}: ${fmt(r.maxRssMiB)} MiB, step ${fmt(median(r.stepSeconds), 2)} s, losses ${r.losses.join(" ")}`,
        );
      }
      const [off, on] = [res.false!, res.true!];
      rows.push(
        `| ${mode} | ${fmt(off.maxRssMiB)} MiB | ${fmt(on.maxRssMiB)} MiB | ${fmt(off.maxRssMiB - on.maxRssMiB)} MiB (${fmt(100 * (1 - on.maxRssMiB / off.maxRssMiB))} %) | ${fmt(median(off.stepSeconds), 2)} s / ${fmt(median(on.stepSeconds), 2)} s | ${off.losses.join(", ")} | ${on.losses.join(", ")} |`,
      );
    }
    sections.push(`### Gradient checkpointing on bench-small

1 thread, batch ${B} × seq ${S}, 1 warm-up + 2 steps per run, each in its own process. Peak RSS is the process's maximum (Node.js, graph building and ONNX Runtime included).

| mode | peak RSS, activations kept | with checkpointing | saved | step time kept / checkpointed | losses kept | losses checkpointed |
|---|---|---|---|---|---|---|
${rows.join("\n")}`);
  }

  // 6. full fine-tuning's peak RSS against PyTorch's, 1 thread ------------------------------------------------------
  if (only.includes("full-memory")) {
    const before = argv.includes("--before") ? path.resolve(opt("before", "")) : undefined;
    const beforeScript = before ? path.join(before, "bench", "train.bench.ts") : undefined;
    const beforeCommit = before
      ? spawnSync("git", ["-C", before, "log", "-1", "--format=%h %s"], { encoding: "utf8" }).stdout.trim().slice(0, 90)
      : "";
    const memRounds = Number(opt("rounds", "2"));
    type Row = { label: string; rss: number[]; step: number[]; cpu: number[]; losses: number[] };
    const rows: Row[] = [];
    const row = (label: string) => {
      let r = rows.find((x) => x.label === label);
      if (!r) rows.push((r = { label, rss: [], step: [], cpu: [], losses: [] }));
      return r;
    };
    const ours = (label: string, recompute: boolean, script?: string) => () => {
      const args: StepChildArgs = {
        model: "bench-small",
        mode: "full",
        base: "fp32",
        recompute,
        threads: 1,
        batch: B,
        seq: S,
        steps,
        warmup: 1,
      };
      const res = child<StepResult>("step", args, script);
      const r = row(label);
      r.rss.push(res.maxRssMiB);
      r.step.push(median(res.stepSeconds));
      r.cpu.push(median(res.cpuSeconds));
      r.losses = res.losses;
      console.log(
        `${label}: ${fmt(res.maxRssMiB)} MiB, step ${fmt(median(res.stepSeconds), 2)} s, CPU ${fmt(median(res.cpuSeconds), 2)} s, load ${fmt(os.loadavg()[0]!, 1)}`,
      );
    };
    const runs = [
      ...(beforeScript ? [ours(`ours before (${beforeCommit.split(" ")[0]}), activations kept`, false, beforeScript)] : []),
      ours("ours, activations kept", false),
      ours("ours, gradient checkpointing (the trainer's default)", true),
      () => {
        if (!torch.ok) return;
        const res = torchRun(true, 1, steps);
        const cpu = torchRun(true, 1, steps, true);
        const r = row("PyTorch (no checkpointing)");
        r.rss.push(res.peak_rss_mb, cpu.peak_rss_mb);
        r.step.push(res.step_s_median);
        r.cpu.push(cpu.step_s_median);
        console.log(
          `PyTorch: ${fmt(res.peak_rss_mb)} / ${fmt(cpu.peak_rss_mb)} MB, step ${fmt(res.step_s_median, 2)} s, CPU ${fmt(cpu.step_s_median, 2)} s, load ${fmt(os.loadavg()[0]!, 1)}`,
        );
      },
    ];
    for (let r = 0; r < memRounds; r++) for (const run of r % 2 === 0 ? runs : [...runs].reverse()) run();
    const torchRss = rows.find((x) => x.label.startsWith("PyTorch"))?.rss ?? [];
    const pRss = torchRss.length ? median(torchRss) : NaN;
    const table = rows.map(
      (x) =>
        `| ${x.label} | **${fmt(median(x.rss))}** (${range(x.rss)}) | ${fmt(median(x.rss) / pRss, 2)} | ${fmt(median(x.step), 2)} (${range(x.step, 2)}) | ${fmt(median(x.cpu), 2)} | ${
          x.losses.length
            ? x.losses
                .slice(0, 3)
                .map((l) => fmt(l, 4))
                .join(", ")
            : "–"
        } |`,
    );
    sections.push(`### Full fine-tuning's peak RSS against PyTorch's (bench-small)

Command: \`pnpm bench train -- --only full-memory${before ? " --before <a git worktree of the older commit>" : ""}\` (bench/train.bench.ts). bench-small full fine-tuning (34.1 M trainable values: 130 MiB per float32 copy), batch ${B} × seq ${S}, AdamW with clipping, 1 thread, ${steps} steps after 1 warm-up step per run, each run in its own process; ${memRounds} rounds, the order reversed every other round; peak RSS is the process's maximum (median and range over runs; PyTorch's anchor reports its own, once timed by the wall clock and once by CPU time). Ours: the trainer's loop, runner, session options and optimizer (bench/train.bench.ts's step child)${before ? `; "before": the same child at ${beforeCommit}` : ""}. ${torch.note}.

| run | peak RSS (MiB) | ÷ PyTorch | step (s, wall) | CPU s per step | first losses |
|---|---|---|---|---|---|
${table.join("\n")}`);
  }

  // 3. Qwen2.5-0.5B shapes -----------------------------------------------------------------------------------
  if (only.includes("qwen")) {
    const q: { label: string; args: StepChildArgs }[] = [];
    const base = {
      model: "qwen2.5-0.5b",
      mode: "lora",
      base: "fp32",
      recompute: true,
      threads: 2,
      batch: 1,
      seq: 512,
      steps: 2,
      warmup: 1,
    } satisfies StepChildArgs;
    q.push({ label: "LoRA r16, fp32 base, checkpointing (the default)", args: base });
    q.push({ label: "LoRA r16, fp32 base, activations kept", args: { ...base, recompute: false } });
    q.push({ label: "QLoRA r16, 4-bit base, checkpointing", args: { ...base, base: "int4" } });
    q.push({ label: "LoRA r16, float16 base (Cast in the graph), checkpointing", args: { ...base, base: "fp16" } });
    const rows: string[] = [];
    const results: StepResult[] = [];
    for (const { label, args } of q) {
      const r = child<StepResult>("step", args);
      results.push(r);
      const tps = 512 / median(r.stepSeconds);
      console.log(`qwen ${label}: ${fmt(tps, 1)} tokens/s, ${fmt(r.maxRssMiB)} MiB, losses ${r.losses.join(" ")}`);
      rows.push(
        `| ${label} | ${fmt(tps, 1)} | ${fmt(median(r.stepSeconds), 1)} s | ${fmt(r.maxRssMiB)} MiB | ${r.losses.map((l) => fmt(l, 4)).join(", ")} | ${fmt(r.buildSeconds + r.createSeconds, 0)} s |`,
      );
    }
    const tps = 512 / median(results[0]!.stepSeconds);
    sections.push(`### Qwen2.5-0.5B's shapes on this CPU

Random weights with Qwen2.5-0.5B's shapes (vocab 151936, hidden 896, 24 layers, 14 heads / 2 KV heads, ffn 4864, tied embeddings; 494 M parameters), batch 1 × seq 512, LoRA r16 on every linear layer (8.8 M trainable), 2 threads, 1 warm-up + 2 steps per run, each in its own process.

| run | tokens/s | step | peak RSS | losses | graph build + session |
|---|---|---|---|---|---|
${rows.join("\n")}

At ${fmt(tps, 0)} tokens/s, 2,000 examples packed into 512-token rows (≈ 300 tokens each, ≈ 1,200 rows) take ≈ ${fmt((2000 * 300) / tps / 3600, 1)} h per epoch on these 2 cores (checkpointing on).`);
  }

  // 5. Qwen3-0.6B shapes: NornicDB's default model ----------------------------------------------------------------
  if (only.includes("qwen3")) {
    const args = {
      model: "qwen3-0.6b",
      mode: "lora",
      base: "fp32",
      recompute: true,
      threads: 2,
      batch: 1,
      seq: 512,
      steps: 2,
      warmup: 1,
    } satisfies StepChildArgs;
    const r = child<StepResult>("step", args);
    const tps = 512 / median(r.stepSeconds);
    console.log(`qwen3-0.6b LoRA r16: ${fmt(tps, 1)} tokens/s, ${fmt(r.maxRssMiB)} MiB, losses ${r.losses.join(" ")}`);
    sections.push(`### Qwen3-0.6B's shapes on this CPU

Random weights with Qwen3-0.6B's published shapes (vocab 151936, hidden 1024, 28 layers, 16 heads of 128 / 8 KV heads, q/k norms, ffn 3072, tied embeddings; 596 M parameters), batch 1 × seq 512, LoRA r16 on every linear layer, gradient checkpointing, 2 threads, 1 warm-up + 2 steps, in its own process.

| run | tokens/s | step | peak RSS | losses | graph build + session |
|---|---|---|---|---|---|
| LoRA r16, fp32 base, checkpointing | ${fmt(tps, 1)} | ${fmt(median(r.stepSeconds), 1)} s | ${fmt(r.maxRssMiB)} MiB | ${r.losses.map((l) => fmt(l, 4)).join(", ")} | ${fmt(r.buildSeconds + r.createSeconds, 0)} s |`);
  }

  // 4. the estimator against real training runs ------------------------------------------------------------------
  if (only.includes("estimate")) {
    const data = path.join(out, "estimate-data.jsonl");
    const r = random(5);
    const words = "graph node edge query match return where order limit vector index label property relation path".split(" ");
    const rows: string[] = [];
    for (let k = 0; k < 600; k++) {
      const w = () =>
        Array.from({ length: 20 + Math.floor((r() + 0.5) * 40) }, () => words[Math.floor((r() + 0.5) * words.length)]!).join(" ");
      rows.push(JSON.stringify({ instruction: w(), output: w() }));
    }
    writeFileSync(data, rows.join("\n") + "\n");
    const common: Partial<TrainConfig> = {
      dataset: data,
      max_length: 256,
      batch_size: 4,
      validation_split: 0.05,
      eval_batch_size: 4,
      eval_generate: false,
      max_steps: 3,
      threads: 1,
      device: "cpu",
      logging_steps: 1,
      save_steps: 1000,
      eval_steps: 1000,
    };
    const scratchDir = path.join(out, "estimate-scratch");
    const configs: { label: string; flags: Partial<TrainConfig>; fit?: boolean }[] = [
      {
        fit: true,
        label: "bench-small from scratch (full), checkpointing",
        flags: {
          ...common,
          from_scratch: true,
          model_family: "llama",
          hidden_size: 512,
          num_hidden_layers: 8,
          num_attention_heads: 8,
          intermediate_size: 1408,
          vocab_size: 8192,
          output_dir: scratchDir,
        },
      },
      {
        fit: true,
        label: "bench-small LoRA r16 all linear, checkpointing",
        flags: { ...common, base_model: scratchDir, output_dir: path.join(out, "estimate-lora") },
      },
      {
        fit: true,
        label: "bench-small LoRA r16, activations kept",
        flags: { ...common, base_model: scratchDir, gradient_checkpointing: false, output_dir: path.join(out, "estimate-lora-kept") },
      },
      {
        fit: true,
        label: "bench-small QLoRA r16, checkpointing",
        flags: { ...common, base_model: scratchDir, use_qlora: true, output_dir: path.join(out, "estimate-qlora") },
      },
      {
        fit: true,
        label: "bench-small LoRA r16, batch 8, gradient accumulation 2",
        flags: {
          ...common,
          base_model: scratchDir,
          batch_size: 8,
          gradient_accumulation: 2,
          output_dir: path.join(out, "estimate-lora-b8"),
        },
      },
      // held out: not used to fit MEMORY_MODEL
      {
        label: "bench-small LoRA r8 on q,k,v,o, batch 2, accumulation 4, checkpointing",
        flags: {
          ...common,
          base_model: scratchDir,
          batch_size: 2,
          gradient_accumulation: 4,
          lora_r: 8,
          lora_target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"],
          output_dir: path.join(out, "estimate-lora-r8"),
        },
      },
      {
        label: "bench-small full fine-tuning, activations kept, batch 2, accumulation 1",
        flags: {
          ...common,
          base_model: scratchDir,
          use_lora: false,
          gradient_checkpointing: false,
          batch_size: 2,
          gradient_accumulation: 1,
          output_dir: path.join(out, "estimate-full-kept"),
        },
      },
      {
        label: "a new llama (hidden 768, 6 layers, 12 heads, ffn 2048, vocab 16384) from scratch, checkpointing",
        flags: {
          ...common,
          from_scratch: true,
          model_family: "llama",
          hidden_size: 768,
          num_hidden_layers: 6,
          num_attention_heads: 12,
          intermediate_size: 2048,
          vocab_size: 16384,
          gradient_accumulation: 2,
          output_dir: path.join(out, "estimate-scratch-768"),
        },
      },
    ];
    if (!argv.includes("--no-qwen-estimate")) {
      const qwenDir = path.join(out, "qwen2.5-0.5b-shape");
      const qwen = {
        ...common,
        base_model: qwenDir,
        max_length: 512,
        batch_size: 1,
        eval_batch_size: 1,
        gradient_accumulation: 1,
        max_steps: 2,
      };
      configs.push(
        {
          fit: true,
          label: "Qwen2.5-0.5B shapes, LoRA r16 all linear, seq 512, checkpointing",
          flags: { ...qwen, output_dir: path.join(out, "estimate-qwen-lora") },
        },
        {
          fit: true,
          label: "Qwen2.5-0.5B shapes, QLoRA r16, seq 512, checkpointing",
          flags: { ...qwen, use_qlora: true, output_dir: path.join(out, "estimate-qwen-qlora") },
        },
        {
          label: "Qwen2.5-0.5B shapes, LoRA r16 all linear, seq 512, activations kept",
          flags: { ...qwen, gradient_checkpointing: false, output_dir: path.join(out, "estimate-qwen-lora-kept") },
        },
      );
    }
    const which = opt("estimate", "fit,held-out").split(",");
    for (let k = configs.length - 1; k >= 0; k--) {
      if (!which.includes(configs[k]!.fit ? "fit" : "held-out")) configs.splice(k, 1);
    }
    for (const { label, flags, fit } of configs) {
      if (flags.base_model?.endsWith("qwen2.5-0.5b-shape"))
        await writeModelDir("qwen2.5-0.5b", flags.base_model, path.join(scratchDir, "tokenizer.json"));
      const cliArgs = [
        "train",
        ...Object.entries(flags).flatMap(([k, v]) => (typeof v === "boolean" ? [v ? `--${k}` : `--no-${k}`] : [`--${k}`, String(v)])),
      ];
      const res = spawnSync(TSX, ["--conditions=source", path.join(here, "train-cli-rss.ts"), ...cliArgs], {
        encoding: "utf8",
        maxBuffer: 1 << 26,
      });
      const last = JSON.parse(res.stdout.trim().split("\n").pop()!) as { maxRssMiB: number; code: number };
      if (res.status !== 0 || last.code !== 0) throw new Error(`neural ${cliArgs.join(" ")} failed:\n${res.stderr.slice(-3000)}`);
      const { config } = resolveTrainConfig({ flags });
      const e = await estimateTrainingMemory(config);
      console.log(`${label}: measured ${fmt(last.maxRssMiB)} MiB, predicted ${fmt(e.peakBytes / 2 ** 20)} MiB\n${formatMemoryEstimate(e)}`);
      measured.push({ label: `${fit ? "fit: " : "**held out:** "}${label}`, rssMiB: last.maxRssMiB, estimate: () => e });
    }
  }
  if (measured.length) {
    const rows = measured.map((m) => {
      const e = m.estimate();
      const p = e.peakBytes / 2 ** 20;
      return `| ${m.label} | ${fmt(p)} MiB | ${fmt(m.rssMiB)} MiB | ${fmt((100 * (p - m.rssMiB)) / m.rssMiB, 0)} % | ${e.parts.map((x) => `${x.name} ${fmt(x.bytes / 2 ** 20)}`).join(", ")} |`;
    });
    sections.push(`### The memory estimator against measured peaks

\`neural train --estimate_memory\` (memory.ts: a constant runtime, the step graph's size, frozen weights as stored, trainable state, and a simulation of the step graph's live tensors) against the peak RSS of the same \`neural train\` run from the sources (bench/train-cli-rss.ts: 3 steps, or 2 for Qwen's shapes, then evaluation; 1 thread). Runs marked "fit" are those MEMORY_MODEL's three constants were fitted on; the held-out runs were not used.

| run | predicted | measured | error | predicted parts (MiB) |
|---|---|---|---|---|
${rows.join("\n")}`);
  }

  const loadEnd = os.loadavg()[0]!;
  const shared = Math.max(loadStart, loadEnd, maxLoad) > 1.2;
  const when = `*Machine: ${machine()}, onnxruntime-node 1.30.0 (CPU). Run ${date}; 1-minute load average ${fmt(loadStart, 1)} at the start, ${fmt(loadEnd, 1)} at the end, at most ${fmt(maxLoad, 1)} between runs${shared ? ": **the 2 cores were shared with other sessions' builds and tests** during parts of this run, so wall-clock figures vary between runs (ranges given; runs alternate so both engines see the same conditions; CPU-time figures are steadier)" : " (the cores were mostly free)"}.*`;
  const fresh = sections.map((sec) => sec.replace("\n\n", `\n\n${when}\n\n`));
  console.log(`\n${fresh.join("\n\n")}`);
  if (!argv.includes("--no-write")) writeSection("Training speed and memory", mergeSubsections(fresh));
}

/** The section's first paragraph when RESULTS.md has none; the summary written under it after a run is kept. */
const INTRO = `\`pnpm bench train\` (bench/train.bench.ts) measures our training engine against PyTorch on the CPU, the memory levers (gradient checkpointing, QLoRA) and the memory estimate. Each subsection below is rewritten by the run that measured it (\`--only speed,profile,small-memory,full-memory,qwen,estimate,qwen3\` picks them) and says when and under which load it ran.`;

/** The section: its intro as it stands, and its subsections (the ones measured now replace theirs). */
function mergeSubsections(fresh: string[]): string {
  let old = "";
  try {
    const text = readFileSync(resultsFile, "utf8");
    const start = text.indexOf("## Training speed and memory\n");
    if (start >= 0) {
      const next = text.indexOf("\n## ", start + 10);
      old = text.slice(start, next < 0 ? undefined : next);
    }
  } catch {
    // no results file yet
  }
  const title = (sec: string) => sec.slice(0, sec.indexOf("\n"));
  const parts = old.split("\n### ");
  const intro = parts[0]!.replace(/^## .*\n/, "").trim() || INTRO;
  const kept = parts.slice(1).map((x) => `### ${x.trim()}`);
  const order = [
    "### bench-small: our training step against PyTorch",
    "### Where the time goes",
    "### Gradient checkpointing on bench-small",
    "### Full fine-tuning's peak RSS against PyTorch's (bench-small)",
    "### Qwen2.5-0.5B's shapes on this CPU",
    "### The memory estimator against measured peaks",
  ];
  const all = new Map<string, string>();
  for (const sec of kept) all.set(title(sec), sec);
  for (const sec of fresh) all.set(title(sec), sec);
  const sorted = [...all.entries()]
    .sort((a, b) => ((order.indexOf(a[0]) + 100) % 100) - ((order.indexOf(b[0]) + 100) % 100))
    .map(([, v]) => v);
  return [intro, ...sorted].join("\n\n");
}

await main();
