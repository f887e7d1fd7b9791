// @neural/graph on the bench-small model (DESIGN.md: vocab 8192, hidden 512, 8 layers, 8 heads, ffn 1408, seq 256,
// batch 4, LoRA r16 on q,k,v,o), random weights:
//  1. forward throughput in tokens/s (logits for every position), at 1 and 2 ORT threads, with its anchor: ORT's own
//     MatMul on [1024,512]×[512,1408] in the same run (the achieved fraction of that GEMM speed);
//  2. a training step (forward, loss, gradients of the LoRA weights) with and without recomputation of each layer:
//     peak RSS and time, and the losses and gradients, which must be equal.
// Each measurement runs in its own child process (peak RSS is per process).
//   pnpm bench graph [-- --runs 5]
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Graph, matmul, type Tensor } from "@neural/graph";
import { createSession, saveGraph, toOrt } from "@neural/graph/node";
import { buildForward, type ModelConfig, nextTokenLoss, graphWeights } from "@neural/lora-trainer";
import { grad } from "@neural/graph";
import { machine, writeSection } from "./results.js";
import { modelConfig, random, randomSource } from "./train-models.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "out", "graph");
const BATCH = 4;
const SEQ = 256;
const RANK = 16;
const TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"];

function tokenFeeds(c: ModelConfig) {
  const r = random(7);
  const ids = BigInt64Array.from({ length: BATCH * SEQ }, () => BigInt(Math.floor((r() + 0.5) * c.vocabSize)));
  const pos = BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => BigInt(i % SEQ));
  return { input_ids: toOrt("int64", [BATCH, SEQ], ids), position_ids: toOrt("int64", [BATCH, SEQ], pos) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ---------------------------------------------------------------------------------------------------------------
// children

async function forwardChild(threads: number, runs: number): Promise<object> {
  const c = modelConfig("bench-small");
  const g = new Graph({ dims: { batch: BATCH, seq: SEQ } });
  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const positionIds = g.input("position_ids", "int64", ["batch", "seq"]);
  const { logits } = buildForward(g, c, graphWeights(g, randomSource(c)), { inputIds, positionIds });
  g.output("logits", logits!);
  const file = await saveGraph(g, path.join(out, "forward"));
  const { session } = await createSession(file, { intraOpNumThreads: threads });
  const feeds = tokenFeeds(c);
  for (let i = 0; i < 2; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push((performance.now() - t0) / 1000);
  }
  // Anchor: ORT's MatMul [1024,512]x[512,1408], weight as initializer, same thread count.
  const a = new Graph();
  const x = a.input("x", "float32", [1024, 512]);
  const wr = random(3);
  const w = a.initializer(
    "w",
    "float32",
    [512, 1408],
    Float32Array.from({ length: 512 * 1408 }, () => wr()),
  );
  a.output("y", matmul(x, w));
  const anchor = await createSession(await saveGraph(a, path.join(out, "anchor")), { intraOpNumThreads: threads });
  const xf = {
    x: toOrt(
      "float32",
      [1024, 512],
      Float32Array.from({ length: 1024 * 512 }, () => wr()),
    ),
  };
  for (let i = 0; i < 3; i++) await anchor.session.run(xf);
  const at: number[] = [];
  for (let i = 0; i < runs * 4; i++) {
    const t0 = performance.now();
    await anchor.session.run(xf);
    at.push((performance.now() - t0) / 1000);
  }
  return { seconds: median(times), anchorSeconds: median(at), maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

async function stepChild(recompute: boolean, runs: number): Promise<object> {
  const c = modelConfig("bench-small");
  const g = new Graph({ dims: { batch: BATCH, seq: SEQ } });
  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const positionIds = g.input("position_ids", "int64", ["batch", "seq"]);
  const targets = g.input("targets", "int64", ["batch", "seq"]);
  const lora: Tensor[] = [];
  const loraFeeds: Record<string, ReturnType<typeof toOrt>> = {};
  const r = random(11);
  const { logits } = buildForward(
    g,
    c,
    graphWeights(g, randomSource(c)),
    { inputIds, positionIds },
    {
      recompute,
      lora: {
        targets: TARGETS,
        rank: RANK,
        alpha: 32,
        weights: (module, s) => {
          const a = g.input(`${module}.lora_A`, "float32", [s.rank, s.in]);
          const b = g.input(`${module}.lora_B`, "float32", [s.out, s.rank]);
          loraFeeds[`${module}.lora_A`] = toOrt(
            "float32",
            [s.rank, s.in],
            Float32Array.from({ length: s.rank * s.in }, () => r() * 0.1),
          );
          loraFeeds[`${module}.lora_B`] = toOrt(
            "float32",
            [s.out, s.rank],
            Float32Array.from({ length: s.out * s.rank }, () => r() * 0.1),
          );
          lora.push(a, b);
          return { a, b };
        },
      },
    },
  );
  const loss = nextTokenLoss(logits!, targets);
  g.output("loss", loss);
  grad(loss, lora).forEach((d, i) => g.output(`grad.${i}`, d));
  const file = await saveGraph(g, path.join(out, recompute ? "step-recompute" : "step"));
  const rssBeforeSession = process.memoryUsage().rss / 2 ** 20;
  const { session } = await createSession(file, { intraOpNumThreads: 1 });
  const feeds: Record<string, ReturnType<typeof toOrt>> = { ...tokenFeeds(c), ...loraFeeds };
  const tr = random(5);
  feeds.targets = toOrt(
    "int64",
    [BATCH, SEQ],
    BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => (i % 7 === 0 ? -100n : BigInt(Math.floor((tr() + 0.5) * c.vocabSize)))),
  );
  const times: number[] = [];
  let result: Record<string, { data: unknown }> = await session.run(feeds); // warm-up: ORT plans its memory on the first run
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    result = await session.run(feeds);
    times.push((performance.now() - t0) / 1000);
  }
  const loss0 = (result.loss!.data as Float32Array)[0]!;
  let gradSum = 0;
  for (let i = 0; i < lora.length; i++) for (const v of result[`grad.${i}`]!.data as Float32Array) gradSum += Math.abs(v);
  return {
    seconds: median(times),
    loss: loss0,
    gradAbsSum: gradSum,
    rssBeforeSessionMiB: rssBeforeSession,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// parent

function child(args: string[]): any {
  const tsx = path.join(here, "..", "node_modules", ".bin", "tsx");
  const res = spawnSync(tsx, ["--conditions=source", fileURLToPath(import.meta.url), "--child", ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (res.status !== 0) throw new Error(`child ${args.join(" ")} failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split("\n").pop()!);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, def: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1]! : def;
  };
  mkdirSync(out, { recursive: true });
  const runs = Number(opt("runs", "5"));
  if (argv.includes("--child")) {
    const kind = argv[argv.indexOf("--child") + 1];
    const res =
      kind === "forward" ? await forwardChild(Number(opt("threads", "1")), runs) : await stepChild(opt("recompute", "0") === "1", runs);
    console.log(JSON.stringify(res));
    return;
  }
  const loadStart = os.loadavg()[0]!.toFixed(1);
  const c = modelConfig("bench-small");
  const tokens = BATCH * SEQ;
  const perLayer = 4 * c.hiddenSize * c.hiddenSize + 3 * c.hiddenSize * c.intermediateSize;
  const flopsPerToken = 2 * (c.numLayers * perLayer + c.vocabSize * c.hiddenSize) + c.numLayers * 2 * 2 * SEQ * c.hiddenSize;
  const anchorFlops = 2 * 1024 * 512 * 1408;
  const rows: string[] = [];
  for (const threads of [1, 2]) {
    const f = child(["forward", "--threads", String(threads), "--runs", String(runs)]);
    const gflops = (flopsPerToken * tokens) / f.seconds / 1e9;
    const anchorGflops = anchorFlops / f.anchorSeconds / 1e9;
    console.log(
      `forward, ${threads} thread(s): ${(tokens / f.seconds).toFixed(0)} tokens/s, ${gflops.toFixed(0)} GFLOP/s; anchor MatMul ${anchorGflops.toFixed(0)} GFLOP/s`,
    );
    rows.push(
      `| ${threads} | ${(tokens / f.seconds).toFixed(0)} | ${(f.seconds * 1000).toFixed(0)} ms | ${gflops.toFixed(0)} | ${anchorGflops.toFixed(0)} | ${(gflops / anchorGflops).toFixed(2)} | ${f.maxRssMiB.toFixed(0)} MiB |`,
    );
  }
  const kept = child(["step", "--recompute", "0", "--runs", String(Math.max(2, Math.ceil(runs / 2)))]);
  const re = child(["step", "--recompute", "1", "--runs", String(Math.max(2, Math.ceil(runs / 2)))]);
  console.log(
    `step: kept ${kept.maxRssMiB.toFixed(0)} MiB ${kept.seconds.toFixed(2)} s loss ${kept.loss}; recompute ${re.maxRssMiB.toFixed(0)} MiB ${re.seconds.toFixed(2)} s loss ${re.loss}`,
  );
  if (kept.loss !== re.loss || kept.gradAbsSum !== re.gradAbsSum) throw new Error("recomputation changed the loss or the gradients");

  writeSection(
    "Graph",
    `Machine: ${machine()}. Command: \`pnpm bench graph\` (bench/graph.bench.ts), onnxruntime-node 1.30.0 CPU, float32.
Measured ${new Date().toISOString().slice(0, 10)} while other sessions shared the 2 cores (load average ${loadStart} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end): times vary up to 2× between runs; ratios to the in-run anchor are the comparable figure.
Model: bench-small (vocab 8192, hidden 512, 8 layers, 8 heads / 8 KV heads, ffn 1408), random weights as initializers (external data), batch ${BATCH} × seq ${SEQ} = ${tokens} tokens.

**Forward throughput** (logits at every position; ${(flopsPerToken / 1e6).toFixed(1)} MFLOP per token; median of ${runs} runs after 2 warm-up runs). Anchor: ORT's own MatMul [1024,512]×[512,1408] with the weight as an initializer, same thread count, same process.

| ORT threads | tokens/s | time per batch | GFLOP/s | anchor MatMul GFLOP/s | forward ÷ anchor | peak RSS |
|---|---|---|---|---|---|---|
${rows.join("\n")}

**Recomputation** (training step = forward + cross-entropy + gradients of LoRA r${RANK} on ${TARGETS.join(", ")}; 1 thread; each in its own process; median step time after a warm-up run; peak RSS = the process's max RSS, which includes ORT's session creation).

| | peak RSS | RSS before the session | step time | loss | sum of abs(gradients) |
|---|---|---|---|---|---|
| activations kept | ${kept.maxRssMiB.toFixed(0)} MiB | ${kept.rssBeforeSessionMiB.toFixed(0)} MiB | ${kept.seconds.toFixed(2)} s | ${kept.loss} | ${kept.gradAbsSum} |
| each layer recomputed | ${re.maxRssMiB.toFixed(0)} MiB | ${re.rssBeforeSessionMiB.toFixed(0)} MiB | ${re.seconds.toFixed(2)} s | ${re.loss} | ${re.gradAbsSum} |

Recomputation saves ${(kept.maxRssMiB - re.maxRssMiB).toFixed(0)} MiB of peak RSS (${((1 - re.maxRssMiB / kept.maxRssMiB) * 100).toFixed(0)} %); step time ×${(re.seconds / kept.seconds).toFixed(2)} (it re-runs each layer's forward, ~+1/3 of the FLOPs, but touches less memory); the loss and the gradients are bit-identical.`,
  );
}

await main();
