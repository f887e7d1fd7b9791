// Predicting the peak memory of a training run before it starts (`neural train --estimate_memory`).
//
// The prediction adds up what the process holds at its busiest moment, the optimizer step:
//   runtime      Node.js, ONNX Runtime's library, the CLI with its worker thread and the dataset (a fitted constant);
//   graphs       the graphs' JavaScript objects and ONNX Runtime's structures (per node of the step graph, fitted);
//   weights      the frozen base weights as ONNX Runtime reads them: float32 from the memory-mapped weights file
//                (4 bytes each), QLoRA's two 4-bit copies of every linear layer (1.25 bytes at block 32);
//   trainable    the trainable tensors, their AdamW moments and their gradients (6 × 4 bytes each: params, m, v
//                updated in place, the params before the last update and its gradients to undo a diverged step
//                (optimizer.ts), the gradients copied out of ONNX Runtime; 4 × 4 when the undo state goes to a
//                scratch file, as it does for full fine-tuning), plus gradient accumulators;
//   activations  the largest sum of intermediate tensors alive at once when the step graph runs in order: every
//                node's outputs live from the node to their last reader (reshapes share their input's buffer).
//                This is simulated on the very graph the trainer builds, so recomputation, the vocabulary's logits
//                and attention's seq² scores are all accounted for. With the answer-only loss the logits are
//                answer slots × vocabulary, not batch × seq × vocabulary: the graph is built with the run's answer
//                slots when they are known (read from the data), else at every position (an upper bound).
// The constants were fitted on CPU runs (MEMORY_MODEL) and the prediction checked against the measured peaks of
// other runs (bench/RESULTS.md, "Training speed and memory"). GPU providers keep weights and activations in device memory instead; the same
// numbers are reported as a device-memory estimate there, unmeasured.

import { flatten, byteLength, type Graph } from "@neural/graph";
import { hfTensorShapes } from "@neural/hf-config";
import type { ModelConfig } from "./models/config.js";
import type { WeightSource } from "./models/weights.js";
import { DEFAULT_QLORA_BLOCK, qloraBytes, qloraLinear } from "./qlora.js";
import { buildEvalGraph, buildStepGraph, trainableValueCount, type LoraSpec } from "./train-step.js";
import { linearModules } from "./models/transformer.js";
import type { PreferenceSpec } from "./preference.js";
import { undoInFile } from "./optimizer.js";

export interface MemoryEstimateInput {
  model: ModelConfig;
  /** Weight names and shapes (a checkpoint's header is enough); derived from the config when omitted. */
  weights?: Pick<WeightSource, "names" | "shape">;
  batch: number;
  seq: number;
  /** LoRA adapters on a frozen base; omitted: full fine-tuning. */
  lora?: LoraSpec;
  qlora?: boolean;
  recompute: boolean;
  gradientAccumulation?: number;
  /** Sequences per evaluation batch (evaluation runs a forward of eval batch × seq; 0: no evaluation). */
  evalBatch?: number;
  /**
   * A preference objective: `batch` and `evalBatch` count pairs (KTO: rows), each one row of the graphs holding its
   * prompt once and both answers (chosen and rejected, or a row's completion and its mismatched KL row's), counted
   * at their worst, two whole sequences with nothing shared. The reference is the starting weights, run once before
   * training (as evaluation), so no second model is held.
   */
  preference?: PreferenceSpec;
  /**
   * Answer-only loss: the positions of a micro-batch the output projection and the loss run at (the trainer's
   * answer slots, batching.ts); omitted: every position. Preference objectives ignore it: their answer slots are
   * each pair's two answers, counted at most a whole sequence each.
   */
  answers?: number;
  /** The same for an evaluation batch; omitted: every position. */
  evalAnswers?: number;
}

export interface MemoryPart {
  name: "runtime" | "graphs" | "weights" | "trainable" | "activations";
  bytes: number;
  note: string;
}

export interface MemoryEstimate {
  /** Predicted peak resident memory of the training process, in bytes. */
  peakBytes: number;
  parts: MemoryPart[];
  /** The step graph's size and where its activation peak is. */
  graph: { nodes: number; activationPeakAt: string };
}

/**
 * Fitted (least squares on relative error) on the peak RSS of seven `neural train` runs from the sources on the CPU
 * (bench/train.bench.ts): bench-small LoRA/QLoRA/full with and without checkpointing, batch 4 and 8, and
 * Qwen2.5-0.5B's shapes with LoRA and QLoRA. The fit and its error on held-out runs: bench/RESULTS.md.
 */
export const MEMORY_MODEL = {
  /** The CLI (tsx), its worker thread, Node.js, ONNX Runtime's library and the tokenized dataset. */
  runtimeBytes: 668 * 2 ** 20,
  /** The graph's JavaScript objects and ONNX Runtime's per-node structures, per node of the flattened step graph. */
  bytesPerGraphNode: 29_600,
  /** ONNX Runtime's live activations against the simulated live set (kernel scratch, its own node order). */
  activationFactor: 0.89,
};

/** The Hugging Face weight names and shapes a config implies (per family: @neural/hf-config's hfTensorShapes). */
export function configWeights(config: ModelConfig): Pick<WeightSource, "names" | "shape"> {
  const shapes = new Map(hfTensorShapes(config).map((t) => [t.name, t.shape]));
  return { names: [...shapes.keys()], shape: (n) => shapes.get(n)! };
}

const ALIASES = new Set(["Reshape", "Squeeze", "Unsqueeze", "StopGradient"]);

/**
 * The largest total size of intermediate tensors alive at once when `graph` runs node by node in its order (after
 * composite ops are expanded): outputs live from their node to their last reader (graph outputs to the end);
 * inputs, weights and constants are not counted; reshapes share their input's buffer.
 */
export function activationPeak(graph: Graph): { bytes: number; at: string; nodes: number } {
  const g = flatten(graph);
  const lastUse = new Map<number, number>();
  g.nodes.forEach((n, i) => n.inputs.forEach((t) => lastUse.set(t.id, i)));
  for (const o of g.outputs) lastUse.set(o.tensor.id, Infinity);
  // buffer of each tensor (aliases share their input's), its size and how many tensors still hold it
  const bufferOf = new Map<number, number>();
  const size = new Map<number, number>();
  const holders = new Map<number, number>();
  let live = 0;
  let peak = 0;
  let at = "";
  const release = (tensorId: number) => {
    const b = bufferOf.get(tensorId);
    if (b === undefined) return;
    const left = holders.get(b)! - 1;
    holders.set(b, left);
    if (left === 0) live -= size.get(b)!;
  };
  g.nodes.forEach((node, i) => {
    for (const o of node.outputs) {
      const src = node.inputs[0];
      if (ALIASES.has(node.op.name) && src && bufferOf.has(src.id)) {
        const b = bufferOf.get(src.id)!;
        bufferOf.set(o.id, b);
        holders.set(b, holders.get(b)! + 1);
      } else {
        bufferOf.set(o.id, o.id);
        holders.set(o.id, 1);
        const bytes = byteLength(o.dtype, o.size);
        size.set(o.id, bytes);
        live += bytes;
      }
      if (!lastUse.has(o.id)) release(o.id); // never read
    }
    if (live > peak) {
      peak = live;
      at = `${node.scope ? `${node.scope}/` : ""}${node.op.name}`;
    }
    for (const t of new Set(node.inputs)) if (lastUse.get(t.id) === i) release(t.id);
  });
  return { bytes: peak, at, nodes: g.nodes.length };
}

/** Predict the peak memory of training one shape bucket (the largest: batch × seq) with these settings. */
export function estimateMemory(input: MemoryEstimateInput): MemoryEstimate {
  const { model, lora, preference } = input;
  // a preference row is a pair: its prompt once, then both answers; at worst (nothing shared) two sequences long,
  // each answer slot of the 2 × batch sequences at most a whole sequence
  const seq = preference ? 2 * input.seq : input.seq;
  const batch = input.batch;
  // the logits' rows: a preference row's two answer slots, each at most a whole sequence; SFT: the run's answer slots
  // when known (the answer-only loss), else every position
  const answerSlots = (rows: number, known: number | undefined) =>
    preference ? 2 * rows * input.seq : known === undefined ? undefined : Math.min(known, rows * seq);
  const shapes = input.weights ?? configWeights(model);
  const size = (name: string) => shapes.shape(name).reduce((a, b) => a * b, 1);
  const source: WeightSource = {
    names: shapes.names,
    shape: (n) => shapes.shape(n),
    read: () => {
      throw new Error("estimateMemory reads no weights");
    },
  };
  const qlora = Boolean(input.qlora && lora);
  const answers = answerSlots(batch, input.answers);
  const { graph, params } = buildStepGraph({
    config: model,
    source,
    batch,
    seq,
    ...(lora ? { lora } : {}),
    recompute: input.recompute,
    kind: (input.gradientAccumulation ?? 1) > 1 ? "step-acc" : "step",
    ...(qlora ? { linear: qloraLinear(source) } : {}),
    ...(preference ? { preference } : {}),
    ...(answers !== undefined ? { answers } : {}),
  });
  const stepPeak = activationPeak(graph);
  // Evaluation runs its own forward (no arena: the step's activations are gone by then); the larger peak counts.
  const evalAnswers = input.evalBatch ? answerSlots(input.evalBatch, input.evalAnswers) : undefined;
  const evalPeak = input.evalBatch
    ? activationPeak(
        buildEvalGraph({
          config: model,
          source,
          batch: input.evalBatch,
          seq,
          ...(lora ? { lora } : {}),
          recompute: false,
          ...(qlora ? { linear: qloraLinear(source) } : {}),
          ...(preference ? { preference } : {}),
          ...(evalAnswers !== undefined ? { answers: evalAnswers } : {}),
        }),
      )
    : undefined;
  const act =
    evalPeak && evalPeak.bytes > stepPeak.bytes ? { ...evalPeak, at: `evaluation: ${evalPeak.at}`, nodes: stepPeak.nodes } : stepPeak;

  // Frozen weights: everything but the trainable tensors (full fine-tuning trains them all).
  const trainableNames = new Set(lora ? [] : params.map((p) => p.name));
  const quantized = new Set<string>();
  if (qlora) {
    for (let l = 0; l < model.numLayers; l++) for (const m of linearModules(model)) quantized.add(`model.layers.${l}.${m}.weight`);
  }
  let weightBytes = 0;
  for (const name of shapes.names) {
    if (trainableNames.has(name)) continue;
    if (quantized.has(name)) {
      const [out, inp] = shapes.shape(name) as [number, number];
      weightBytes += qloraBytes(out, inp, DEFAULT_QLORA_BLOCK);
    } else weightBytes += 4 * size(name);
  }
  const trainableCount = trainableValueCount(params);
  const accumulators = (input.gradientAccumulation ?? 1) > 1 ? 2 : 0;
  // params, m, v in JavaScript, the params before the last update and its gradients (the loop undoes a diverged
  // step; in a scratch file for large state), and the gradients copied out of ONNX Runtime after the step (whose own
  // output buffers are graph outputs, counted with the activations)
  const undoCopies = undoInFile(params) ? 0 : 2;
  const trainableBytes = 4 * trainableCount * (4 + undoCopies + accumulators);
  const activationBytes = act.bytes * MEMORY_MODEL.activationFactor;
  const graphBytes = act.nodes * MEMORY_MODEL.bytesPerGraphNode;
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const parts: MemoryPart[] = [
    { name: "runtime", bytes: MEMORY_MODEL.runtimeBytes, note: "Node.js, ONNX Runtime, the CLI and its worker, the dataset" },
    { name: "graphs", bytes: graphBytes, note: `the graphs' objects (step graph: ${act.nodes} nodes)` },
    {
      name: "weights",
      bytes: weightBytes,
      note: qlora
        ? `frozen weights: linear layers in 4 bits (two copies), the rest float32`
        : lora
          ? "frozen base weights, float32, memory-mapped"
          : "none frozen (full fine-tuning)",
    },
    {
      name: "trainable",
      bytes: trainableBytes,
      note: `${(trainableCount / 1e6).toFixed(2)} M trainable values × (params, m, v, ${undoCopies ? "params and gradients of the last update, " : ""}new gradients${accumulators ? ", accumulators in and out" : ""})`,
    },
    {
      name: "activations",
      bytes: activationBytes,
      note: `peak of live intermediate tensors (${mib(act.bytes)} at ${act.at}${input.recompute ? ", layers recomputed" : ""}), × ${MEMORY_MODEL.activationFactor}`,
    },
  ];
  if (preference)
    parts[4]!.note += `; ${preference.method}: ${input.batch} pairs per micro-batch, each a row of its prompt and both answers (at most ${seq} tokens)`;
  else
    parts[4]!.note +=
      answers === undefined
        ? `; logits at all ${batch * seq} positions`
        : `; logits at ${answers} answer slots of ${batch * seq} positions (answer-only loss)`;
  return { peakBytes: parts.reduce((n, p) => n + p.bytes, 0), parts, graph: { nodes: act.nodes, activationPeakAt: act.at } };
}

/** A one-screen table of an estimate, for people. */
export function formatMemoryEstimate(e: MemoryEstimate): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0).padStart(7)} MiB`;
  const lines = e.parts.map((p) => `  ${p.name.padEnd(12)}${mib(p.bytes)}  ${p.note}`);
  return [...lines, `  ${"peak".padEnd(12)}${mib(e.peakBytes)}`].join("\n");
}
