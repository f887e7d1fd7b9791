// The optimizer's state: the trainable tensors and AdamW's two moments, owned in one place. The step graph reads
// the tensors as feeds and returns their gradients; apply() updates the tensors in place (adamw.ts).
//
// The last update can be undone exactly (the loop does when the next step's loss diverges) without a copy of the
// tensors and both moments: the moments stay one update behind, with that update's gradients held until the next
// apply() folds them in (the same arithmetic as one AdamW pass, so the same bits), and the tensors from before it
// are kept. Those two sets live in an UndoStore: in memory, or for full fine-tuning in a scratch file (undo-file.ts),
// so that RAM holds the tensors and moments once.
import type { TypedArray } from "@neural/graph";
import { adamwFold, adamwScalars, adamwUpdate, type AdamWScalars, type OptimizerSpec } from "./adamw.js";
import type { TrainConfig } from "./train-config.js";
import { stepNames, trainableValueCount, type TrainableParam } from "./train-step.js";

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

/** OptimizerTensors whose moments may be computed when read, one tensor at a time (a checkpoint's writer). */
export interface LazyOptimizerTensors {
  params: Map<string, { shape: number[]; data: Float32Array }>;
  m: Map<string, Float32Array | (() => Float32Array)>;
  v: Map<string, Float32Array | (() => Float32Array)>;
}

/**
 * Where undo()'s state lives between updates: each tensor's value before the last update, and that update's
 * gradients (by parameter name).
 */
export interface UndoStore {
  /** Keeps a copy of the tensor's value before the update. */
  keepBefore(name: string, value: Float32Array): void;
  /** Writes the kept value back into `into`. */
  restoreBefore(name: string, into: Float32Array): void;
  /** Keeps the update's gradients (the caller does not reuse the array). */
  keepGrads(name: string, grads: Float32Array): void;
  /** Hands the kept gradients to `use` in consecutive pieces, each with the offset of its first value. */
  eachGradPiece(name: string, use: (piece: Float32Array, offset: number) => void): void;
  /** Frees what it holds. */
  close(): void;
}

/** An UndoStore in memory: a copy of every tensor, and the gradient arrays themselves. */
export function memoryUndoStore(): UndoStore {
  const before = new Map<string, Float32Array>();
  let grads = new Map<string, Float32Array>();
  return {
    keepBefore(name, value) {
      let copy = before.get(name);
      if (!copy) before.set(name, (copy = new Float32Array(value.length)));
      copy.set(value);
    },
    restoreBefore: (name, into) => into.set(before.get(name)!),
    keepGrads: (name, g) => grads.set(name, g),
    eachGradPiece: (name, use) => use(grads.get(name)!, 0),
    close() {
      before.clear();
      grads = new Map();
    },
  };
}

/** Trainable state from which a run keeps undo()'s copies in a file (undoStoreFor): full fine-tuning's, not an adapter's. */
const UNDO_FILE_MIN_BYTES = 64 * 2 ** 20;

/** True when a run keeps `params`' undo state in a file, not in memory. */
export function undoInFile(params: readonly TrainableParam[]): boolean {
  return 4 * trainableValueCount(params) >= UNDO_FILE_MIN_BYTES;
}

export class OptimizerState {
  readonly values: Map<string, Float32Array>;
  /** The moments before the last update (`pending`), or current when nothing is pending. */
  private m = new Map<string, Float32Array>();
  private v = new Map<string, Float32Array>();
  /** The last update's scalars while its gradients are not yet folded into the moments: what undo() can take back. */
  private pending: AdamWScalars | undefined;

  /**
   * `values`: each parameter's starting value, owned from now on (updated in place). Moments start at zero. `undo`
   * keeps what undoing the last update needs (memory by default; close() frees it).
   */
  constructor(
    readonly params: readonly TrainableParam[],
    values: ReadonlyMap<string, Float32Array>,
    readonly spec: OptimizerSpec,
    private readonly undoStore: UndoStore = memoryUndoStore(),
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

  /**
   * One AdamW step from a step graph's outputs (grad.<name>), with its learning rate, 1-based step and norm. The
   * gradient arrays are held until the next step (the runner must not reuse them). When the update would make a
   * tensor or a moment non-finite it is not applied and that tensor's name is returned; the update before it can
   * then no longer be undone.
   */
  apply(outputs: Readonly<Record<string, TypedArray>>, step: { lr: number; step: number; gradNorm: number }): string | undefined {
    const scalars = adamwScalars(this.spec, step);
    let broken: string | undefined;
    for (const p of this.params) {
      const [value, m, v] = [this.values.get(p.name)!, this.m.get(p.name)!, this.v.get(p.name)!];
      const grads = outputs[stepNames.grad(p.name)] as Float32Array;
      // the previous update's moments, final now; then the tensor before this update, kept for undo()
      this.foldPending(p.name, m, v);
      this.undoStore.keepBefore(p.name, value);
      if (!adamwUpdate(value, grads, m, v, scalars, p.decay)) broken ??= p.name;
      this.undoStore.keepGrads(p.name, grads);
    }
    if (broken === undefined) {
      this.pending = scalars;
      return undefined;
    }
    for (const [name, value] of this.values) this.undoStore.restoreBefore(name, value);
    this.pending = undefined;
    return broken;
  }

  /** Takes back the last update (tensors and moments as they were before it); false when there is none to undo. */
  undo(): boolean {
    if (!this.pending) return false;
    for (const [name, value] of this.values) this.undoStore.restoreBefore(name, value);
    this.pending = undefined;
    return true;
  }

  /** Frees the undo store (a scratch file's descriptor and space): the last update can no longer be undone. */
  close(): void {
    try {
      for (const p of this.params) this.foldPending(p.name, this.m.get(p.name)!, this.v.get(p.name)!);
    } finally {
      this.pending = undefined;
      this.undoStore.close();
    }
  }

  private foldPending(name: string, m: Float32Array, v: Float32Array): void {
    const scalars = this.pending;
    if (!scalars) return;
    this.undoStore.eachGradPiece(name, (g, at) => adamwFold(g, m.subarray(at, at + g.length), v.subarray(at, at + g.length), scalars));
  }

  /** A parameter's current moments: the held ones, or new arrays with the pending update folded in. */
  private moments(name: string): { m: Float32Array; v: Float32Array } {
    const [m, v] = [this.m.get(name)!, this.v.get(name)!];
    if (!this.pending) return { m, v };
    const folded = { m: Float32Array.from(m), v: Float32Array.from(v) };
    this.foldPending(name, folded.m, folded.v);
    return folded;
  }

  /** The state to checkpoint: the tensors themselves, the moments themselves or (after an update) computed copies. */
  save(): OptimizerTensors {
    const moments = new Map(this.params.map((p) => [p.name, this.moments(p.name)]));
    return {
      params: new Map(this.params.map((p) => [p.name, { shape: p.shape, data: this.values.get(p.name)! }])),
      m: new Map([...moments].map(([name, x]) => [name, x.m])),
      v: new Map([...moments].map(([name, x]) => [name, x.v])),
    };
  }

  /** save() for a writer that reads one tensor at a time: moments are computed when read, one parameter's at a time. */
  saveLazily(): LazyOptimizerTensors {
    let last: { name: string; m: Float32Array; v: Float32Array } | undefined;
    const read = (name: string) => (last?.name === name ? last : (last = { name, ...this.moments(name) }));
    return {
      params: new Map(this.params.map((p) => [p.name, { shape: p.shape, data: this.values.get(p.name)! }])),
      m: new Map(this.params.map((p) => [p.name, this.pending ? () => read(p.name).m : this.m.get(p.name)!])),
      v: new Map(this.params.map((p) => [p.name, this.pending ? () => read(p.name).v : this.v.get(p.name)!])),
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
    this.pending = undefined;
  }
}

/** A run that cannot go on: a checkpoint that does not fit the model, an internal inconsistency. */
export class TrainingError extends Error {
  override name = "TrainingError";
}
