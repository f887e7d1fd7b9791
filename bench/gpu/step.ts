// The GPU check's Node side, bundled by bench/gpu/prepare.ts into one file that runs with a bare Node binary and
// onnxruntime-node beside it: our LoRA training step (the trainer's graph builder, GraphRunner, optimizer and loop)
// on one execution provider, over one batch of random tokens repeated. Prints one JSON line.
//   node step.mjs --provider webgpu|cuda|cpu [--model qwen2.5-0.5b|bench-small --layers N --batch 4 --seq 512
//                 --steps 6 --warmup 2 --precision auto|float32|float16 --threads N]
//   node step.mjs --dump-tokens FILE [--model ... --batch ... --seq ...]   (the batch, for the PyTorch side)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import {
  buildStepGraph,
  fileStore,
  GraphRunner,
  initialLoopState,
  OptimizerState,
  sessionOptions,
  trainableParams,
  trainLoop,
  type LoraSpec,
} from "@neural/lora-trainer";
import { benchTargets, modelConfig, random, randomSource, tokenBatch, type ModelName } from "../train-models.js";

export interface GpuStepResult {
  engine: string;
  provider: string;
  precision: string;
  model: string;
  layers: number;
  batch: number;
  seq: number;
  tokensPerStep: number;
  stepSeconds: number[];
  stepSecondsMedian: number;
  tokensPerSecond: number;
  losses: number[];
  buildAndOpenSeconds: number;
  maxRssMiB: number;
}

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};

async function main(): Promise<void> {
  const provider = opt("provider", "cpu");
  const model = opt("model", "qwen2.5-0.5b") as ModelName;
  const layersArg = opt("layers", "");
  const c = modelConfig(model, layersArg ? Number(layersArg) : undefined);
  const batch = Number(opt("batch", "4"));
  const seq = Number(opt("seq", "512"));
  const steps = Number(opt("steps", "6"));
  const warmup = Number(opt("warmup", "2"));
  const precisionArg = opt("precision", "auto") as "auto" | "float32" | "float16";
  const threads = opt("threads", "");
  const dump = opt("dump-tokens", "");
  if (dump) {
    const data = tokenBatch(c.vocabSize, batch, seq);
    writeFileSync(dump, JSON.stringify({ batch, seq, vocab: c.vocabSize, input_ids: [...data.inputIds] }));
    return;
  }
  const source = randomSource(c);
  const lora: LoraSpec = { rank: 16, alpha: 32, rsLora: false, targets: benchTargets(model), dropout: 0 };
  const dir = mkdtempSync(path.join(tmpdir(), "neural-gpu-step-"));
  try {
    const t0 = performance.now();
    const runner = await GraphRunner.open({
      ort,
      store: fileStore(dir),
      // The provider alone: a failure to create it is an error here, not a silent fallback to the CPU.
      session: sessionOptions([provider], threads ? Number(threads) : undefined),
      precision: precisionArg,
      build: (key, precision) =>
        buildStepGraph({
          config: c,
          source,
          batch: key.batch,
          seq: key.seq,
          lora,
          kind: "step",
          ...(precision !== "float32" ? { precision } : {}),
        }).graph,
    });
    await runner.prepare({ kind: "step", batch, seq });
    const buildAndOpenSeconds = (performance.now() - t0) / 1000;
    const params = trainableParams(c, source, lora);
    const r = random(3);
    const values = new Map(
      params.map((p) => [
        p.name,
        Float32Array.from({ length: p.shape.reduce((x, y) => x * y, 1) }, () => (p.name.endsWith("lora_A") ? r() * 0.1 : 0)),
      ]),
    );
    const optimizer = new OptimizerState(params, values, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
    const data = tokenBatch(c.vocabSize, batch, seq);
    const stepSeconds: number[] = [];
    const losses: number[] = [];
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
        totalSteps: warmup + steps,
        batches: () => [data],
        optimizer,
        state: initialLoopState(""),
      },
      runner,
      {
        onStep(s) {
          losses.push(s.loss);
          if (s.step > warmup) stepSeconds.push(s.seconds);
        },
        onEval: () => {},
        onNote: (n) => console.error(n.message),
        shouldStop: () => false,
      },
    );
    await runner.release();
    const sorted = [...stepSeconds].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
    const result: GpuStepResult = {
      engine: `onnxruntime-node ${ort.env.versions.node ?? ""}`.trim(),
      provider: runner.provider,
      precision: runner.precision,
      model,
      layers: c.numLayers,
      batch,
      seq,
      tokensPerStep: batch * seq,
      stepSeconds,
      stepSecondsMedian: median,
      tokensPerSecond: (batch * seq) / median,
      losses,
      buildAndOpenSeconds,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(`step: ${error.message.split("\n").slice(0, 6).join("\n")}`);
  process.exit(1);
});
