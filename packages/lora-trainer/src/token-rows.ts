// Tokens a run adds to a base's vocabulary (the ChatML markers on a base that lacks them): the embedding, and an
// untied output layer, gain rows for them, starting at the mean of the base's rows (HF's resize_token_embeddings
// with mean resizing, without its random noise). Under LoRA the base stays frozen and only those rows train, as
// PEFT's `trainable_token_indices` does: the trained values replace the rows (PEFT's TrainableTokensLayer keeps
// values, not differences), so the adapter holds them whatever a loader initialized the new rows to.
import { add, arange, cast, equal, gather, matmul, sub, unsqueeze, type Graph, type Tensor } from "@neural/graph";
import type { Weights, WeightSource } from "./models/weights.js";

export const EMBED_WEIGHT = "model.embed_tokens.weight";
export const HEAD_WEIGHT = "lm_head.weight";

/** The trainable rows of a weight (an optimizer parameter and graph input): model.embed_tokens.trainable_tokens. */
export const tokenRowsName = (weight: string): string => weight.replace(/\.weight$/, ".trainable_tokens");

/** The weights whose rows belong to tokens: the embedding and, when the model has one, its own output layer. */
export const tokenRowWeights = (source: WeightSource): string[] => [
  EMBED_WEIGHT,
  ...(source.names.includes(HEAD_WEIGHT) ? [HEAD_WEIGHT] : []),
];

/**
 * `source` with `rows` rows in its embedding (and untied output layer), the rows of `ids` set to the mean of the
 * other rows the base had.
 */
export function withNewTokenRows(source: WeightSource, ids: readonly number[], rows: number): WeightSource {
  const grown = new Set(tokenRowWeights(source));
  return {
    names: source.names,
    shape: (name) => (grown.has(name) ? [rows, source.shape(name)[1]!] : source.shape(name)),
    async read(name) {
      const base = await source.read(name);
      return grown.has(name) ? withMeanRows(base, source.shape(name)[1]!, ids, rows) : base;
    },
  };
}

/** A row-major weight [rows of w, width] grown to `rows` rows, the rows of `ids` set to the mean of its other rows. */
export function withMeanRows(w: Float32Array, width: number, ids: readonly number[], rows: number): Float32Array {
  const baseRows = w.length / width;
  const fresh = new Set(ids);
  const out = new Float32Array(rows * width);
  out.set(w.subarray(0, Math.min(baseRows, rows) * width));
  const mean = new Float64Array(width);
  let counted = 0;
  for (let r = 0; r < baseRows; r++) {
    if (fresh.has(r)) continue;
    for (let i = 0; i < width; i++) mean[i]! += w[r * width + i]!;
    counted++;
  }
  for (const id of ids) for (let i = 0; i < width; i++) out[id * width + i] = mean[i]! / Math.max(1, counted);
  return out;
}

/** The rows of `ids` of each token-row weight of `source` (the starting values of the trainable rows). */
export async function tokenRowValues(source: WeightSource, ids: readonly number[]): Promise<Map<string, Float32Array>> {
  const values = new Map<string, Float32Array>();
  for (const weight of tokenRowWeights(source)) {
    const [, width] = source.shape(weight) as [number, number];
    const all = await source.read(weight);
    const rows = new Float32Array(ids.length * width);
    ids.forEach((id, k) => rows.set(all.subarray(id * width, (id + 1) * width), k * width));
    values.set(tokenRowsName(weight), rows);
  }
  return values;
}

/**
 * `weights` with the rows of `ids` replaced by trainable tensors (`rowsOf(weight)`, [ids, width]):
 * W + Pᵀ·(R − W[ids]), P the one-hot [ids, rows] of the ids, so the gradient reaches R through a matmul. The tied
 * output layer reads the same replaced embedding.
 */
export function withTrainedRows(
  g: Graph,
  weights: Weights,
  ids: readonly number[],
  rowsOf: (weight: string) => Tensor | undefined,
): Weights {
  const made = new Map<string, Tensor>();
  return {
    get(name) {
      const known = made.get(name);
      if (known) return known;
      const w = weights.get(name);
      const rows = w && (name === EMBED_WEIGHT || name === HEAD_WEIGHT) ? rowsOf(name) : undefined;
      if (!w || !rows) return w;
      const index = g.constant(
        ids.map((id) => BigInt(id)),
        "int64",
        [ids.length],
      );
      const oneHotT = cast(equal(unsqueeze(arange(g, w.shape[0]!), 1), unsqueeze(index, 0)), w.dtype);
      const replaced = add(w, matmul(oneHotT, sub(cast(rows, w.dtype), gather(w, index))));
      made.set(name, replaced);
      return replaced;
    },
  };
}
