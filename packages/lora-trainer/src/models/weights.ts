// Where a model's weights come from, as graph tensors. The model asks for Hugging Face tensor names
// ("model.layers.0.self_attn.q_proj.weight"); the caller decides what each becomes: an initializer (frozen, stored
// as external data and read from the checkpoint only when the model file is written) or a graph input (trainable).

import { type Graph, GraphError, type Tensor, toBFloat16, toFloat16 } from "@neural/graph";

/** The model's view of its weights. */
export interface Weights {
  /** The tensor for an HF name, or undefined when the checkpoint has none (optional biases, tied lm_head). */
  get(name: string): Tensor | undefined;
}

/** Tensors by HF name with their shapes, read on demand as float32 (a safetensors checkpoint, or memory). */
export interface WeightSource {
  readonly names: readonly string[];
  shape(name: string): readonly number[];
  read(name: string): Promise<Float32Array> | Float32Array;
}

/** A safetensors reader (`@neural/safetensors` `openCheckpoint`) as a WeightSource. */
export function checkpointSource(reader: {
  readonly names: readonly string[];
  info(name: string): { shape: readonly number[] };
  readFloat32(name: string): Promise<Float32Array>;
}): WeightSource {
  return { names: reader.names, shape: (n) => reader.info(n).shape, read: (n) => reader.readFloat32(n) };
}

/** In-memory tensors as a WeightSource. */
export function memorySource(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): WeightSource {
  return {
    names: [...tensors.keys()],
    shape: (n) => tensors.get(n)!.shape,
    read: (n) => tensors.get(n)!.data,
  };
}

export interface GraphWeightsOptions {
  /** Element type of the graph's weights (default float32; float64 for gradient checks; float16/bfloat16 for
   * mixed precision on GPUs, converted from float32 when the model file is written). */
  dtype?: "float32" | "float64" | "float16" | "bfloat16";
  /** Names that become graph inputs (fed each run: trainable weights) instead of initializers. */
  asInput?: (name: string) => boolean;
}

/**
 * Weights of `g` drawn from `source`, created on first use: initializers whose data is read when the model is
 * saved, or graph inputs for the names `asInput` selects (their input name is the HF name).
 */
export function graphWeights(g: Graph, source: WeightSource, options: GraphWeightsOptions = {}): Weights {
  const dtype = options.dtype ?? "float32";
  const known = new Set(source.names);
  const made = new Map<string, Tensor>();
  return {
    get(name) {
      let t = made.get(name);
      if (t) return t;
      if (!known.has(name)) return undefined;
      const shape = source.shape(name);
      if (options.asInput?.(name)) t = g.input(name, dtype, shape);
      else if (dtype === "float32") t = g.initializer(name, dtype, shape, () => source.read(name));
      else if (dtype === "float16") t = g.initializer(name, dtype, shape, async () => toFloat16(await source.read(name)));
      else if (dtype === "bfloat16") t = g.initializer(name, dtype, shape, async () => toBFloat16(await source.read(name)));
      else t = g.initializer(name, dtype, shape, async () => Float64Array.from(await source.read(name)));
      made.set(name, t);
      return t;
    },
  };
}

/** Read every tensor of a source into memory (float32), e.g. to feed weights that are graph inputs. */
export async function readAll(source: WeightSource, names: readonly string[] = source.names): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const n of names) {
    if (!source.names.includes(n)) throw new GraphError(`weights: no tensor ${n}`);
    out.set(n, await source.read(n));
  }
  return out;
}
