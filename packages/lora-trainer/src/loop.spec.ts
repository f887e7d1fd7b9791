// The training loop against a fake runner: no ONNX Runtime, no disk. The fake is a least-squares model whose graphs
// are a few lines of JavaScript with the step graphs' inputs and outputs, so the loop's own logic is what is tested:
// gradient accumulation, the guard (divergence, float16 overflow), early stopping and an exact resume.
import { batches, type Batch, type Sequence } from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import { describe, expect, it } from "vitest";
import type { EvalResult } from "./evaluation.js";
import {
  initialLoopState,
  trainLoop,
  type LoopHooks,
  type LoopSettings,
  type LoopState,
  type StepRunner,
  type TrainingRun,
} from "./loop.js";
import { OptimizerState, type OptimizerTensors } from "./optimizer.js";
import type { Precision } from "./precision.js";
import type { GraphKey } from "./sessions.js";
import type { Note } from "./setup.js";
import { stepNames } from "./train-step.js";

const N = 4;
const params = [{ name: "w", shape: [N], decay: true }];
const features = (id: number) => [1, (id % 3) / 2, (id % 5) / 4, ((id * 7) % 11) / 10];

interface Call {
  key: GraphKey;
  invCount: number;
  lossScale: number;
  dropoutSeed: number;
  acc?: number[];
}

/** 0.5·(w·x − y)² per learned token, times inv_count; the kinds' inputs and outputs as buildStepGraph's. */
class FakeRunner implements StepRunner {
  calls: Call[] = [];
  constructor(
    readonly precision: Precision = "float32",
    private readonly fault: (call: Call, step: number) => "nan" | "overflow" | undefined = () => undefined,
  ) {}

  async run(key: GraphKey, feeds: Readonly<Record<string, TypedArray>>): Promise<Record<string, TypedArray>> {
    const w = feeds.w as Float32Array;
    const ids = feeds[stepNames.inputIds] as BigInt64Array;
    const targets = feeds[stepNames.targets] as BigInt64Array;
    const invCount = Number(feeds[stepNames.invCount]![0]);
    const lossScale = Number(feeds[stepNames.lossScale]![0]);
    const acc = feeds[stepNames.acc("w")] as Float32Array | undefined;
    const call: Call = {
      key,
      invCount,
      lossScale,
      dropoutSeed: Number(feeds[stepNames.dropoutSeed]![0]),
      ...(acc ? { acc: [...acc] } : {}),
    };
    this.calls.push(call);
    let loss = 0;
    const g = new Float32Array(N);
    for (let i = 0; i < ids.length; i++) {
      if (targets[i] === -100n) continue;
      const x = features(Number(ids[i]));
      const r = x.reduce((s, xi, j) => s + xi * w[j]!, 0) - (Number(targets[i]) % 4) / 3;
      loss += 0.5 * r * r * invCount;
      x.forEach((xi, j) => (g[j]! += r * xi * invCount));
    }
    const fault = this.fault(call, this.calls.filter((c) => c.key.kind !== "accumulate").length);
    if (fault === "nan") loss = Number.NaN;
    const out: Record<string, TypedArray> = { [stepNames.loss]: Float32Array.of(loss) };
    const total = acc ? g.map((x, j) => x + acc[j]!) : g;
    if (key.kind === "accumulate") out[stepNames.newAcc("w")] = total;
    else {
      out[stepNames.grad("w")] = total;
      out[stepNames.gradNorm] = Float32Array.of(fault === "overflow" ? Infinity : Math.hypot(...total));
    }
    return out;
  }
}

/** `count` sequences of 3–7 tokens, in micro-batches of `batchSize`, shuffled per epoch. */
function data(count: number, batchSize: number): (epoch: number) => Batch[] {
  const sequences: Sequence[] = Array.from({ length: count }, (_, k) => {
    const n = 3 + (k % 5);
    const ids = Int32Array.from({ length: n }, (_, i) => (k * 13 + i * 7) % 29);
    return {
      inputIds: ids,
      labels: Int32Array.from(ids, (id, i) => (i === 0 ? -100 : id)),
      positionIds: Int32Array.from(ids, (_, i) => i),
      segmentIds: new Int32Array(n).fill(1),
    };
  });
  return (epoch) => {
    const order = sequences.map((_, i) => i).sort((a, b) => ((a * 31 + epoch * 17) % count) - ((b * 31 + epoch * 17) % count));
    return batches(
      order.map((i) => sequences[i]!),
      { batchSize, padId: 0, buckets: [8] },
    );
  };
}

const settings: LoopSettings = {
  gradient_accumulation: 1,
  learning_rate: 0.05,
  warmup_steps: 2,
  lr_scheduler: "cosine",
  eval_steps: 1000,
  save_steps: 1000,
  seed: 7,
};
const freshState = (): LoopState => initialLoopState("test");
const optimizer = () =>
  new OptimizerState(params, new Map([["w", Float32Array.of(0.1, -0.2, 0.3, 0)]]), {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    maxGradNorm: 1,
  });

function run(over: Partial<TrainingRun> & { s?: Partial<LoopSettings> } = {}): TrainingRun {
  return {
    settings: { ...settings, ...over.s },
    totalSteps: 12,
    batches: data(10, 2),
    optimizer: optimizer(),
    state: freshState(),
    ...over,
  };
}

/** Hooks that record what the loop reports; `stopAfter` interrupts after that many steps. */
function recorder(stopAfter = Infinity) {
  const record = {
    losses: [] as number[],
    evals: [] as number[],
    notes: [] as Note[],
    checkpoints: [] as { state: LoopState; tensors: OptimizerTensors }[],
  };
  let steps = 0;
  const hooks = (o: OptimizerState): LoopHooks => ({
    onStep: (r) => {
      record.losses.push(r.loss);
      steps++;
    },
    onEval: (step) => void record.evals.push(step),
    onNote: (n) => void record.notes.push(n),
    checkpoint: async (state) => {
      const t = o.save();
      const copy = (m: Map<string, Float32Array>) => new Map([...m].map(([k, v]) => [k, Float32Array.from(v)]));
      record.checkpoints.push({
        state: { ...state },
        tensors: {
          params: new Map([...t.params].map(([k, p]) => [k, { shape: p.shape, data: Float32Array.from(p.data) }])),
          m: copy(t.m),
          v: copy(t.v),
        },
      });
    },
    shouldStop: () => steps >= stopAfter,
  });
  return { record, hooks };
}

describe("the training loop (fake runner)", () => {
  it("accumulates micro-batches: accumulators carried from graph to graph, one inv_count per step, a short last group", async () => {
    const runner = new FakeRunner();
    const r = run({ s: { gradient_accumulation: 3 }, totalSteps: 4, batches: data(14, 2) }); // 7 micro-batches: steps of 3, 3, 1
    const { record, hooks } = recorder();
    const result = await trainLoop(r, runner, hooks(r.optimizer));
    expect(result.stopped).toBe("completed");
    expect(runner.calls.map((c) => c.key.kind)).toEqual([
      "accumulate",
      "accumulate",
      "step-acc",
      "accumulate",
      "accumulate",
      "step-acc",
      "step",
      "accumulate",
      "accumulate",
      "step-acc",
    ]);
    expect(r.state).toMatchObject({ step: 4, epoch: 1, batchInEpoch: 3 });
    // the accumulators fed to each graph of a step are the gradients so far, zero at first
    const first = runner.calls.slice(0, 3);
    expect(first[0]!.acc).toEqual([0, 0, 0, 0]);
    expect(first[1]!.acc!.some((x) => x !== 0)).toBe(true);
    // every micro-batch of a step is scaled by 1 / (the step's learned tokens)
    const learned = data(
      14,
      2,
    )(0)
      .slice(0, 3)
      .reduce((n, b) => n + b.learnedTokens, 0);
    for (const c of first) expect(c.invCount).toBeCloseTo(1 / learned, 7);
    expect(new Set(first.map((c) => c.dropoutSeed)).size).toBe(3); // a dropout seed per micro-batch
    expect(record.losses).toHaveLength(4);
  });

  it("stops at a non-finite loss, undoing the update that led to it and checkpointing the state from before it", async () => {
    const runner = new FakeRunner("float32", (_, step) => (step === 4 ? "nan" : undefined));
    const r = run();
    const { record, hooks } = recorder();
    const result = await trainLoop(r, runner, hooks(r.optimizer));
    expect(result.stopped).toBe("diverged");
    expect(r.state.step).toBe(2);
    expect(record.notes.at(-1)!.message).toMatch(
      /step 4: loss NaN.*the run diverged; stopping with the weights of step 2 \(step 3's update undone\)/,
    );
    const last = record.checkpoints.at(-1)!;
    expect(last.state.step).toBe(2);
    expect(last.tensors.params.get("w")!.data).toEqual(r.optimizer.values.get("w"));
    // the same run without the fault had the same weights and moments after 2 steps
    const clean = run({ totalSteps: 2 });
    await trainLoop(clean, new FakeRunner(), recorder().hooks(clean.optimizer));
    expect(clean.optimizer.values.get("w")).toEqual(r.optimizer.values.get("w"));
    expect(clean.optimizer.save().m.get("w")).toEqual(r.optimizer.save().m.get("w"));
    expect(clean.state).toEqual({ ...r.state, elapsedSeconds: clean.state.elapsedSeconds });
  });

  it("an update that makes a weight or moment non-finite is not applied", async () => {
    const r = run({ s: { learning_rate: Infinity } });
    const { record, hooks } = recorder();
    const result = await trainLoop(r, new FakeRunner(), hooks(r.optimizer));
    expect(result.stopped).toBe("diverged");
    expect(r.state.step).toBe(0);
    expect(record.notes.at(-1)!.message).toMatch(/step 1: the update makes w non-finite; it is not applied/);
    expect(r.optimizer.values.get("w")).toEqual(Float32Array.of(0.1, -0.2, 0.3, 0));
  });

  it("float16: an overflowing step is retried at half the loss scale and counted once", async () => {
    const runner = new FakeRunner("float16", (call) => (call.lossScale > 2 ** 14 ? "overflow" : undefined));
    const r = run({ totalSteps: 3 });
    const { record, hooks } = recorder();
    const result = await trainLoop(r, runner, hooks(r.optimizer));
    expect(result.stopped).toBe("completed");
    expect(runner.calls.map((c) => c.lossScale)).toEqual([2 ** 16, 2 ** 15, 2 ** 14, 2 ** 14, 2 ** 14]);
    expect(record.notes.filter((n) => /overflowed; retrying with loss scale/.test(n.message))).toHaveLength(2);
    expect(record.losses).toHaveLength(3);
    const clean = run({ totalSteps: 3 });
    await trainLoop(clean, new FakeRunner(), recorder().hooks(clean.optimizer));
    expect(r.optimizer.values.get("w")).toEqual(clean.optimizer.values.get("w"));
  });

  it("stops early when the eval loss has not improved for `patience` evaluations", async () => {
    const losses = [1, 0.9, 0.95, 0.92, 0.8];
    let k = 0;
    const evaluate = async (): Promise<EvalResult> => ({ loss: losses[k++]!, perplexity: 0, accuracy: 0, samples: [] });
    const r = run({ s: { eval_steps: 1, early_stopping_patience: 2 }, evaluate });
    const { record, hooks } = recorder();
    const result = await trainLoop(r, new FakeRunner(), hooks(r.optimizer));
    expect(result.stopped).toBe("early_stopping");
    expect(record.evals).toEqual([1, 2, 3, 4]);
    expect(r.state).toMatchObject({ step: 4, bestStep: 2, bestEvalLoss: 0.9, evalsWithoutImprovement: 2 });
    expect(record.checkpoints.at(-1)!.state.step).toBe(4);
    expect(result.lastEval!.loss).toBe(0.92);
  });

  it("resumes from a checkpoint bit for bit: the same losses and weights as a run that never stopped", async () => {
    const evaluate = async (): Promise<EvalResult> => ({ loss: 1, perplexity: 0, accuracy: 0, samples: [] });
    const whole = run({ s: { gradient_accumulation: 2, eval_steps: 3 }, totalSteps: 9, evaluate });
    const reference = recorder();
    await trainLoop(whole, new FakeRunner(), reference.hooks(whole.optimizer));

    const first = run({ s: { gradient_accumulation: 2, eval_steps: 3 }, totalSteps: 9, evaluate });
    const stopped = recorder(4); // interrupted after 4 steps, mid-epoch (5 micro-batches an epoch: steps of 2, 2, 1)
    expect((await trainLoop(first, new FakeRunner(), stopped.hooks(first.optimizer))).stopped).toBe("interrupted");
    const saved = stopped.record.checkpoints.at(-1)!;
    expect(saved.state).toMatchObject({ step: 4, epoch: 1, batchInEpoch: 2 });

    const resumed = run({ s: { gradient_accumulation: 2, eval_steps: 3 }, totalSteps: 9, evaluate, state: { ...saved.state } });
    resumed.optimizer.load(saved.tensors, "checkpoint");
    const rest = recorder();
    expect((await trainLoop(resumed, new FakeRunner(), rest.hooks(resumed.optimizer))).stopped).toBe("completed");
    expect([...stopped.record.losses, ...rest.record.losses]).toEqual(reference.record.losses);
    expect(resumed.optimizer.values.get("w")).toEqual(whole.optimizer.values.get("w"));
    expect(resumed.optimizer.save().v.get("w")).toEqual(whole.optimizer.save().v.get("w"));
    expect({ ...resumed.state, elapsedSeconds: 0 }).toEqual({ ...whole.state, elapsedSeconds: 0 });
  });
});
