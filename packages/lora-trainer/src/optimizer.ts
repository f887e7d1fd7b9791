// The optimizer's state: the trainable tensors and AdamW's two moments, owned in one place. The step graph reads
// the tensors as feeds and returns their gradients; apply() updates all three in place (adamw.ts).
import type { TypedArray } from "@neural/graph";
import { adamwInPlace, adamwScalars, type OptimizerSpec } from "./adamw.js";
import type { TrainConfig } from "./train-config.js";
import { stepNames, type TrainableParam } from "./train-step.js";

export function optimizerSpec(c: TrainConfig): OptimizerSpec {
  return { beta1: c.adam_beta1, beta2: c.adam_beta2, epsilon: c.adam_epsilon, weightDecay: c.weight_decay, maxGradNorm: c.max_grad_norm };
}

/** What a checkpoint holds of the optimizer. */
export interface OptimizerTensors {
  params: Map<string, { shape: number[]; data: Float32Array }>;
  /** AdamW's first and second moments, by parameter name. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class OptimizerState {
  readonly values: Map<string, Float32Array>;
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();

  /** `values`: each parameter's starting value, owned from now on (updated in place). Moments start at zero. */
  constructor(
    readonly params: readonly TrainableParam[],
    values: ReadonlyMap<string, Float32Array>,
    readonly spec: OptimizerSpec,
  ) {
    this.values = new Map(params.map((p) => [p.name, values.get(p.name)!]));
    for (const p of params) {
      this.m.set(p.name, new Float32Array(this.values.get(p.name)!.length));
      this.v.set(p.name, new Float32Array(this.values.get(p.name)!.length));
    }
  }

  /** The trainable tensors as graph feeds (by parameter name). */
  feeds(): Record<string, TypedArray> {
    return Object.fromEntries(this.values);
  }

  /** One AdamW step from a step graph's outputs (grad.<name>), with its learning rate, 1-based step and norm. */
  apply(outputs: Readonly<Record<string, TypedArray>>, step: { lr: number; step: number; gradNorm: number }): void {
    const scalars = adamwScalars(this.spec, step);
    for (const p of this.params) {
      adamwInPlace(
        this.values.get(p.name)!,
        outputs[stepNames.grad(p.name)] as Float32Array,
        this.m.get(p.name)!,
        this.v.get(p.name)!,
        scalars,
        p.decay,
      );
    }
  }

  private kept: { values: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array> } | undefined;

  /** Copies the tensors and moments aside (into buffers reused step after step), so that an update can be undone. */
  keep(): void {
    const copy = (from: Map<string, Float32Array>, into: Map<string, Float32Array> | undefined) =>
      new Map(
        [...from].map(([name, data]) => {
          const buffer = into?.get(name) ?? new Float32Array(data.length);
          buffer.set(data);
          return [name, buffer] as const;
        }),
      );
    this.kept = { values: copy(this.values, this.kept?.values), m: copy(this.m, this.kept?.m), v: copy(this.v, this.kept?.v) };
  }

  /** Puts back what keep() copied; false when nothing was kept. */
  restore(): boolean {
    if (!this.kept) return false;
    for (const [from, into] of [
      [this.kept.values, this.values],
      [this.kept.m, this.m],
      [this.kept.v, this.v],
    ] as const) {
      for (const [name, data] of from) into.get(name)!.set(data);
    }
    this.kept = undefined;
    return true;
  }

  /** The name of a tensor whose values or moments hold a NaN or an infinity, if any. */
  nonFinite(): string | undefined {
    for (const [name, data] of this.values) {
      for (const array of [data, this.m.get(name)!, this.v.get(name)!]) {
        for (let i = 0; i < array.length; i++) if (!Number.isFinite(array[i]!)) return name;
      }
    }
    return undefined;
  }

  /** The state to checkpoint (the arrays themselves, not copies). */
  save(): OptimizerTensors {
    return {
      params: new Map(this.params.map((p) => [p.name, { shape: p.shape, data: this.values.get(p.name)! }])),
      m: this.m,
      v: this.v,
    };
  }

  /** Continue from a checkpoint's state; `where` names it in errors. */
  load(saved: OptimizerTensors, where: string): void {
    for (const p of this.params) {
      const value = saved.params.get(p.name)?.data;
      const [m, v] = [saved.m.get(p.name), saved.v.get(p.name)];
      const n = this.values.get(p.name)!.length;
      if (!value || !m || !v || value.length !== n || m.length !== n || v.length !== n)
        throw new TrainingError(`${where}: no tensor ${p.name} of the expected size`);
      this.values.set(p.name, value);
      this.m.set(p.name, m);
      this.v.set(p.name, v);
    }
  }
}

/** A run that cannot go on: a checkpoint that does not fit the model, an internal inconsistency. */
export class TrainingError extends Error {
  override name = "TrainingError";
}
