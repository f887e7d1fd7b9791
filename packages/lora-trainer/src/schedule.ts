import type { Scheduler } from "./train-config.js";

export interface ScheduleOptions {
  learningRate: number;
  warmupSteps: number;
  totalSteps: number;
  kind: Scheduler;
}

/** The learning rate of optimizer step `step` (0-based): linear warmup, then cosine / linear decay to 0, or constant. */
export function learningRateAt(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) return (o.learningRate * (step + 1)) / o.warmupSteps;
  if (o.kind === "constant") return o.learningRate;
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / decaySteps);
  return o.kind === "cosine" ? o.learningRate * 0.5 * (1 + Math.cos(Math.PI * progress)) : o.learningRate * (1 - progress);
}
