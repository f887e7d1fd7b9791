// The training loop. Each optimizer step: learning rate → micro-batches (gradients accumulated in the graphs) →
// guard → AdamW in place (not applied if it makes a tensor non-finite) → log → eval → save → stop. It runs graphs
// through a runner (sessions.ts; a fake in the loop's spec) and reports through hooks: the Node trainer adds
// checkpoints, metrics and plots around it, the in-memory trainer an export. Its state is plain data, so a resumed
// run continues bit for bit where it stopped.
import { hash53, type Batch } from "@neural/dataset";
import type { TypedArray } from "@neural/graph";
import { batchFeeds, batchKey } from "./batching.js";
import type { EvalResult } from "./evaluation.js";
import type { OptimizerState } from "./optimizer.js";
import { LossScaler, type Precision } from "./precision.js";
import { learningRateAt } from "./schedule.js";
import type { GraphKey } from "./sessions.js";
import type { Note } from "./setup.js";
import type { TrainConfig } from "./train-config.js";
import { stepNames } from "./train-step.js";

/** Everything besides tensors that an exact resume needs (a checkpoint's state.json). */
export interface LoopState {
  /** Optimizer steps done. */
  step: number;
  epoch: number;
  /** Micro-batches of this epoch already consumed. */
  batchInEpoch: number;
  tokensSeen: number;
  bestEvalLoss: number | null;
  bestStep: number | null;
  evalsWithoutImprovement: number;
  /** The loss of the run's first step: a later loss this many times above it (DIVERGED_LOSS_FACTOR) is divergence. */
  firstLoss?: number | null;
  /** resumeKey() of the settings: they must not change across a resume. */
  configHash: string;
  elapsedSeconds: number;
}

/** The state of a run that has not started. */
export function initialLoopState(configHash: string): LoopState {
  return {
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    tokensSeen: 0,
    bestEvalLoss: null,
    bestStep: null,
    evalsWithoutImprovement: 0,
    configHash,
    elapsedSeconds: 0,
  };
}

export type LoopSettings = Pick<
  TrainConfig,
  | "gradient_accumulation"
  | "learning_rate"
  | "warmup_steps"
  | "lr_scheduler"
  | "eval_steps"
  | "save_steps"
  | "early_stopping_patience"
  | "seed"
>;

/** What the loop trains: its settings and data, the optimizer's state and the loop's own. */
export interface TrainingRun {
  settings: LoopSettings;
  totalSteps: number;
  /** The micro-batches of an epoch, in its seeded order (epochBatches). */
  batches(epoch: number): Batch[];
  optimizer: OptimizerState;
  state: LoopState;
  /** Scores the current weights on the eval split; absent when there is none. */
  evaluate?: () => Promise<EvalResult>;
  /** A second objective's feeds of a micro-batch (they may replace inv_count), given its optimizer step's micro-batches. */
  objectiveFeeds?: (batch: Batch, group: readonly Batch[]) => Record<string, TypedArray>;
}

/** What the loop needs of sessions.ts's GraphRunner. */
export interface StepRunner {
  readonly precision: Precision;
  run(key: GraphKey, feeds: Readonly<Record<string, TypedArray>>): Promise<Record<string, TypedArray>>;
}

export interface StepReport {
  step: number;
  totalSteps: number;
  /** Epochs done, with the fraction of the current one. */
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Non-padding tokens of the step, its batches' slots (padding included) and the seconds it took. */
  tokens: number;
  slots: number;
  seconds: number;
  etaSeconds: number;
  /** The objective's metrics (graph outputs named metric.*), summed over the step's micro-batches. */
  metrics: Record<string, number>;
}

/** What a trainer's step event tells its user, from the loop's report. */
export type StepProgress = Pick<StepReport, "step" | "totalSteps" | "epoch" | "loss" | "lr" | "gradNorm"> & { tokensPerSecond: number };

export function stepProgress(r: StepReport): StepProgress {
  return {
    step: r.step,
    totalSteps: r.totalSteps,
    epoch: r.epoch,
    loss: r.loss,
    lr: r.lr,
    gradNorm: r.gradNorm,
    tokensPerSecond: r.tokens / r.seconds,
  };
}

export interface LoopHooks {
  onStep(report: StepReport): void | Promise<void>;
  onEval(step: number, result: EvalResult): void | Promise<void>;
  onNote(note: Note): void;
  /** Saves the state with the optimizer's: every save_steps, after the last step, and when a run stops early. */
  checkpoint?(state: LoopState): Promise<void>;
  shouldStop(): boolean;
}

/** A step whose loss exceeds this multiple of the first step's (or of 1, if higher) has diverged. */
export const DIVERGED_LOSS_FACTOR = 10;

export type StopReason = "completed" | "early_stopping" | "interrupted" | "diverged";

export async function trainLoop(
  run: TrainingRun,
  runner: StepRunner,
  hooks: LoopHooks,
): Promise<{ stopped: StopReason; lastEval?: EvalResult }> {
  const { settings: s, state, optimizer, totalSteps } = run;
  const scaler = new LossScaler();
  const started = performance.now() - state.elapsedSeconds * 1000;
  let epochData = run.batches(state.epoch);
  let stopped: StopReason = "completed";
  let lastEval: EvalResult | undefined;
  let stepSeconds = 0;
  /** The loop state before the last update, which optimizer.undo() takes back. */
  let before: LoopState | undefined;
  while (state.step < totalSteps) {
    if (hooks.shouldStop()) {
      stopped = "interrupted";
      break;
    }
    if (state.batchInEpoch >= epochData.length) {
      state.epoch++;
      state.batchInEpoch = 0;
      epochData = run.batches(state.epoch);
    }
    // the micro-batches of this optimizer step (an epoch's last step may have fewer)
    const group = epochData.slice(state.batchInEpoch, state.batchInEpoch + s.gradient_accumulation);
    const t0 = performance.now();
    const lr = learningRateAt(state.step, { learningRate: s.learning_rate, warmupSteps: s.warmup_steps, totalSteps, kind: s.lr_scheduler });
    const { loss, gradNorm, outputs, metrics } = await gradients(runner, run, group, scaler.scale);

    if (runner.precision === "float16" && Number.isFinite(loss) && !Number.isFinite(gradNorm) && !scaler.exhausted) {
      // float16 gradients overflowed: nothing was updated; the same batches again at half the scale
      scaler.update(false);
      hooks.onNote({
        type: "warning",
        message: `step ${state.step + 1}: float16 gradients overflowed; retrying with loss scale ${scaler.scale}`,
      });
      continue;
    }
    if (runner.precision === "float16") scaler.update(Number.isFinite(gradNorm));
    state.firstLoss ??= Number.isFinite(loss) ? loss : null;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm) || loss > DIVERGED_LOSS_FACTOR * Math.max(1, state.firstLoss ?? 0)) {
      // These weights are the last update's work: it is undone, and the weights before it are what the run keeps.
      const step = state.step + 1;
      const undone = before !== undefined && optimizer.undo();
      if (undone) Object.assign(state, before);
      hooks.onNote({
        type: "warning",
        message: `step ${step}: loss ${loss}, gradient norm ${gradNorm}: the run diverged; stopping with the weights of step ${state.step}${undone ? ` (step ${step - 1}'s update undone)` : ""}`,
      });
      stopped = "diverged";
      break;
    }
    const broken = optimizer.apply(outputs, { lr, step: state.step + 1, gradNorm });
    if (broken !== undefined) {
      hooks.onNote({
        type: "warning",
        message: `step ${state.step + 1}: the update makes ${broken} non-finite; it is not applied, stopping with the weights of step ${state.step}`,
      });
      stopped = "diverged";
      break;
    }
    before = { ...state };

    const tokens = group.reduce((n, b) => n + b.tokens, 0);
    const slots = group.reduce((n, b) => n + b.batchSize * b.seqLen, 0);
    state.step++;
    state.batchInEpoch += group.length;
    state.tokensSeen += tokens;
    state.elapsedSeconds = (performance.now() - started) / 1000;
    const seconds = (performance.now() - t0) / 1000;
    stepSeconds = stepSeconds === 0 ? seconds : 0.9 * stepSeconds + 0.1 * seconds;
    const epoch = state.epoch + state.batchInEpoch / Math.max(1, epochData.length);
    await hooks.onStep({
      step: state.step,
      totalSteps,
      epoch,
      loss,
      lr,
      gradNorm,
      tokens,
      slots,
      seconds,
      etaSeconds: (totalSteps - state.step) * stepSeconds,
      metrics,
    });

    if (run.evaluate && (state.step % s.eval_steps === 0 || state.step === totalSteps)) {
      lastEval = await run.evaluate();
      await hooks.onEval(state.step, lastEval);
      if (state.bestEvalLoss === null || lastEval.loss < state.bestEvalLoss) {
        state.bestEvalLoss = lastEval.loss;
        state.bestStep = state.step;
        state.evalsWithoutImprovement = 0;
      } else state.evalsWithoutImprovement++;
    }
    if (state.step % s.save_steps === 0 || state.step === totalSteps) await hooks.checkpoint?.(state);
    if (s.early_stopping_patience !== undefined && state.evalsWithoutImprovement >= s.early_stopping_patience) {
      hooks.onNote({
        type: "info",
        message: `early stopping: eval loss has not improved for ${state.evalsWithoutImprovement} evaluations (best ${state.bestEvalLoss} at step ${state.bestStep})`,
      });
      stopped = "early_stopping";
      break;
    }
  }
  if (stopped !== "completed" && state.step > 0) await hooks.checkpoint?.(state);
  return { stopped, ...(lastEval ? { lastEval } : {}) };
}

/**
 * The loss, gradients and gradient norm of one optimizer step over its micro-batches: each but the last adds its
 * gradients into accumulators ("accumulate"); the last adds them to its own ("step-acc", or "step" when alone).
 */
async function gradients(runner: StepRunner, run: TrainingRun, group: readonly Batch[], lossScale: number) {
  const { optimizer, state, settings } = run;
  const learned = group.reduce((n, b) => n + b.learnedTokens, 0);
  const shared: Record<string, TypedArray> = {
    ...optimizer.feeds(),
    [stepNames.invCount]: Float32Array.of(1 / Math.max(1, learned)),
    [stepNames.lossScale]: Float32Array.of(lossScale), // read by float16 graphs only
  };
  let accumulators: Record<string, TypedArray> | undefined;
  let loss = 0;
  const metrics: Record<string, number> = {};
  let outputs: Record<string, TypedArray> = {};
  for (let k = 0; k < group.length; k++) {
    const batch = group[k]!;
    const last = k === group.length - 1;
    const kind = !last ? "accumulate" : accumulators ? "step-acc" : "step";
    accumulators ??=
      kind === "step"
        ? undefined
        : Object.fromEntries(optimizer.params.map((p) => [stepNames.acc(p.name), new Float32Array(optimizer.values.get(p.name)!.length)]));
    const dropoutSeed = Float32Array.of(hash53(`dropout:${state.step}:${k}`, settings.seed) % 100_000);
    outputs = await runner.run(batchKey(kind, batch), {
      ...shared,
      ...batchFeeds(batch),
      [stepNames.dropoutSeed]: dropoutSeed,
      ...accumulators,
      ...run.objectiveFeeds?.(batch, group),
    });
    loss += Number(outputs[stepNames.loss]![0]);
    addMetrics(metrics, outputs);
    if (!last) accumulators = Object.fromEntries(optimizer.params.map((p) => [stepNames.acc(p.name), outputs[stepNames.newAcc(p.name)]!]));
  }
  return { loss, gradNorm: Number(outputs[stepNames.gradNorm]![0]), outputs, metrics };
}

/** Adds a graph's metric outputs (stepNames.metricPrefix) into `into`. */
export function addMetrics(into: Record<string, number>, outputs: Readonly<Record<string, TypedArray>>): void {
  for (const [name, value] of Object.entries(outputs)) {
    if (!name.startsWith(stepNames.metricPrefix)) continue;
    const key = name.slice(stepNames.metricPrefix.length);
    into[key] = (into[key] ?? 0) + Number(value[0]);
  }
}

/** Optimizer steps of a run: max_steps, or epochs × the steps of an epoch of `batchesPerEpoch` micro-batches. */
export function totalSteps(c: Pick<TrainConfig, "max_steps" | "epochs" | "gradient_accumulation">, batchesPerEpoch: number): number {
  return c.max_steps ?? Math.max(1, Math.ceil(c.epochs * Math.ceil(batchesPerEpoch / c.gradient_accumulation)));
}
