// The decoder on onnxruntime-node: build the decode graph, write it (weights as external data), open a session, and
// generate. Graph inputs other than the decode ones (e.g. LoRA weights being trained) are set with setInputs().

import type { Graph, TypedArray } from "@neural/graph";
import { type FallbackOptions, type SharedWeights, createSession, saveGraph, toOrt } from "@neural/graph/node";
import { GraphError } from "@neural/graph";
import type { ModelConfig } from "./config.js";
import { type DecodeGraphOptions, type GenerateOptions, buildDecodeGraph, decodeNames, decodeStep, generate } from "./decode.js";
import type { Weights } from "./weights.js";

export interface DecoderOptions extends DecodeGraphOptions {
  config: ModelConfig;
  /** The model's weights in the decode graph (e.g. `g => graphWeights(g, source)`). */
  weights: (g: Graph) => Weights;
  /** Directory for the decode model file and its external data. */
  dir: string;
  /** Save the decode model through this shared weights file instead (its weights written once for several models). */
  shared?: SharedWeights;
  /** Session options: execution providers (tried in order), threads, ... */
  session?: FallbackOptions;
}

export interface Decoder {
  /** The execution provider that runs the session, and why others fell back (if they did). */
  readonly provider: string;
  readonly message?: string;
  readonly graph: Graph;
  /** Values of extra graph inputs (by name), used by every step until changed. */
  setInputs(values: Record<string, TypedArray>): void;
  /** Continue each prompt; see generate() in decode.ts. At most `batch` prompts per call. */
  generate(prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<number[][]>;
  release(): Promise<void>;
}

export async function createDecoder(options: DecoderOptions): Promise<Decoder> {
  const { config } = options;
  const batch = options.batch ?? 1;
  if ((options.chunk ?? 1) !== 1) throw new GraphError("createDecoder: generation feeds one token per step (chunk 1)");
  const graph = buildDecodeGraph(config, options.weights, { ...options, batch, chunk: 1 });
  const path = options.shared
    ? await options.shared.save(graph, "decode.onnx")
    : await saveGraph(graph, options.dir, { fileName: "decode.onnx" });
  const created = await createSession(path, { intraOpNumThreads: 1, ...options.session });
  const { session } = created;
  const extra: Record<string, TypedArray> = {};
  const decodeInputs = new Set<string>([decodeNames.inputIds, decodeNames.positionIds]);
  for (let l = 0; l < config.numLayers; l++) for (const k of ["key", "value"] as const) decodeInputs.add(decodeNames.past(l, k));
  const step = decodeStep(async (feeds) => {
    const out = await session.run(Object.fromEntries(graph.inputs.map((t) => [t.name, toOrt(t.dtype, t.shape, feeds[t.name]!)])));
    return Object.fromEntries(Object.entries(out).map(([name, value]) => [name, value.data as TypedArray]));
  }, extra);
  return {
    provider: created.provider,
    message: created.message,
    graph,
    setInputs(values) {
      for (const [name, data] of Object.entries(values)) {
        if (!graph.inputs.some((i) => i.name === name) || decodeInputs.has(name))
          throw new GraphError(`decoder: no extra input named ${name}`);
        extra[name] = data;
      }
    },
    async generate(prompts, genOptions) {
      for (const t of graph.inputs) {
        if (!decodeInputs.has(t.name) && !(t.name in extra)) throw new GraphError(`decoder: input ${t.name} has no value (setInputs)`);
      }
      return generate(step, config, { batch, slots: options.slots }, prompts, genOptions);
    },
    release: () => session.release(),
  };
}
