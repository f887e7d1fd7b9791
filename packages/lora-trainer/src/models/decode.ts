// Generation with a KV cache. The decode graph runs the same transformer (transformer.ts) on a few new tokens per row
// and a cache of `slots` positions per layer: it writes the new keys/values at their positions and returns the
// logits and the updated cache, which the next step feeds back. Sampling (greedy, temperature, top-k, top-p) is done
// here in JavaScript with a seeded generator, so a seed reproduces a generation exactly.

import { Graph, GraphError, type TypedArray } from "@neural/graph";
import type { ModelConfig } from "./config.js";
import { type ForwardOptions, buildForward } from "./transformer.js";
import type { Weights } from "./weights.js";

export interface DecodeGraphOptions {
  /** Rows decoded together (default 1). */
  batch?: number;
  /** New tokens per row and step (default 1). */
  chunk?: number;
  /** Cache positions per row: the longest prompt + generation. */
  slots: number;
  /** Forward options other than the cache (e.g. LoRA). */
  forward?: (g: Graph) => Omit<ForwardOptions, "cache" | "logits">;
}

export const decodeNames = {
  inputIds: "input_ids",
  positionIds: "position_ids",
  logits: "logits",
  past: (layer: number, kind: "key" | "value") => `past.${layer}.${kind}`,
  present: (layer: number, kind: "key" | "value") => `present.${layer}.${kind}`,
};

/**
 * The decode-step graph. Inputs: input_ids and position_ids [batch, chunk] (int64), past.<l>.key/value
 * [batch, kv heads, slots, head dim]. Outputs: logits [batch, chunk, vocab], present.<l>.key/value.
 */
export function buildDecodeGraph(config: ModelConfig, weights: (g: Graph) => Weights, options: DecodeGraphOptions): Graph {
  const B = options.batch ?? 1;
  const T = options.chunk ?? 1;
  const g = new Graph({ name: "decode", dims: { batch: B, chunk: T, slots: options.slots } });
  const w = weights(g);
  const embed = w.get("model.embed_tokens.weight");
  if (!embed) throw new GraphError("decode: missing tensor model.embed_tokens.weight");
  const inputIds = g.input(decodeNames.inputIds, "int64", ["batch", "chunk"]);
  const positionIds = g.input(decodeNames.positionIds, "int64", ["batch", "chunk"]);
  const cacheShape = ["batch", config.numKvHeads, "slots", config.headDim];
  const keys = [...Array(config.numLayers).keys()].map((l) => g.input(decodeNames.past(l, "key"), embed.dtype, cacheShape));
  const values = [...Array(config.numLayers).keys()].map((l) => g.input(decodeNames.past(l, "value"), embed.dtype, cacheShape));
  const out = buildForward(
    g,
    config,
    w,
    { inputIds, positionIds },
    { ...(options.forward?.(g) ?? {}), cache: { keys, values }, logits: "all" },
  );
  g.output(decodeNames.logits, out.logits!);
  out.presentKeys!.forEach((t, l) => g.output(decodeNames.present(l, "key"), t));
  out.presentValues!.forEach((t, l) => g.output(decodeNames.present(l, "value"), t));
  return g;
}

export interface SamplingOptions {
  maxNewTokens: number;
  /** 0 (default) is greedy: the most likely token, the lowest id on ties. */
  temperature?: number;
  /** Nucleus sampling: keep the most likely tokens whose probabilities add up to topP (default 1: all). */
  topP?: number;
  /** Keep only the topK most likely tokens (default 0: all). */
  topK?: number;
  seed?: number;
  /** Generation of a row stops after one of these tokens (it is included in the output). */
  stopTokens?: readonly number[];
}

/** Pick the next token from logits. `random` returns uniform numbers in [0, 1). */
export function sampleToken(
  logits: ArrayLike<number>,
  options: Pick<SamplingOptions, "temperature" | "topP" | "topK">,
  random: () => number,
): number {
  const temperature = options.temperature ?? 0;
  if (temperature <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const order = [...Array(logits.length).keys()].sort((a, b) => logits[b]! - logits[a]! || a - b);
  const topK = options.topK && options.topK > 0 ? Math.min(options.topK, order.length) : order.length;
  const max = logits[order[0]!]!;
  const probs = order.slice(0, topK).map((i) => Math.exp((logits[i]! - max) / temperature));
  const total = probs.reduce((a, b) => a + b, 0);
  const topP = options.topP ?? 1;
  let keep = probs.length;
  if (topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < probs.length; i++) {
      cumulative += probs[i]! / total;
      if (cumulative >= topP) {
        keep = i + 1;
        break;
      }
    }
  }
  const kept = probs.slice(0, keep);
  const sum = kept.reduce((a, b) => a + b, 0);
  let u = random() * sum;
  for (let i = 0; i < kept.length; i++) {
    u -= kept[i]!;
    if (u < 0) return order[i]!;
  }
  return order[keep - 1]!;
}

/** A seeded uniform generator (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the decoder needs from a runtime: one decode step (an ORT session wrapped by the caller). */
export interface DecodeStep {
  /** Run the decode graph: ids and positions [batch × chunk], caches per layer; returns logits and the new caches. */
  run(
    ids: BigInt64Array,
    positions: BigInt64Array,
    keys: Float32Array[],
    values: Float32Array[],
  ): Promise<{ logits: Float32Array; keys: Float32Array[]; values: Float32Array[] }>;
}

/** A DecodeStep over whatever runs the decode graph (`run`: arrays in and out by name), with extra inputs (LoRA weights). */
export function decodeStep(
  run: (feeds: Record<string, TypedArray>) => Promise<Record<string, TypedArray>>,
  extra: Readonly<Record<string, TypedArray>> = {},
): DecodeStep {
  return {
    async run(ids, positions, keys, values) {
      const feeds: Record<string, TypedArray> = { ...extra, [decodeNames.inputIds]: ids, [decodeNames.positionIds]: positions };
      keys.forEach((k, l) => (feeds[decodeNames.past(l, "key")] = k));
      values.forEach((v, l) => (feeds[decodeNames.past(l, "value")] = v));
      const out = await run(feeds);
      return {
        logits: out[decodeNames.logits] as Float32Array,
        keys: keys.map((_, l) => out[decodeNames.present(l, "key")] as Float32Array),
        values: values.map((_, l) => out[decodeNames.present(l, "value")] as Float32Array),
      };
    },
  };
}

export interface GenerateOptions extends SamplingOptions {
  /** Called with each row's logits after each of its tokens (prompt included): for tests and scoring. */
  onLogits?: (row: number, position: number, logits: Float32Array) => void;
}

/**
 * Generate continuations of `prompts` (token ids), one row each, with a decode graph built for
 * `batch = prompts.length` (or more), `chunk = 1` and `slots` ≥ the longest prompt + maxNewTokens.
 * Prompts are fed one token per step; rows finish independently.
 */
export async function generate(
  step: DecodeStep,
  config: ModelConfig,
  geometry: { batch: number; slots: number },
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<number[][]> {
  const { batch, slots } = geometry;
  if (prompts.length === 0) return [];
  if (prompts.length > batch) throw new GraphError(`generate: ${prompts.length} prompts for a decode graph of batch ${batch}`);
  for (const p of prompts) {
    if (p.length === 0) throw new GraphError("generate: empty prompt");
    if (p.length + options.maxNewTokens > slots) {
      throw new GraphError(
        `generate: a prompt of ${p.length} tokens + ${options.maxNewTokens} new tokens exceeds the cache of ${slots} positions`,
      );
    }
  }
  const V = config.vocabSize;
  const cacheSize = batch * config.numKvHeads * slots * config.headDim;
  let keys: Float32Array[] = [...Array(config.numLayers)].map(() => new Float32Array(cacheSize));
  let values: Float32Array[] = [...Array(config.numLayers)].map(() => new Float32Array(cacheSize));
  const random = seededRandom(options.seed ?? 0);
  const stop = new Set(options.stopTokens ?? []);
  const rows = prompts.map((p) => ({ tokens: [...p], prompt: p.length, pos: 0, done: options.maxNewTokens === 0 }));
  const ids = new BigInt64Array(batch);
  const positions = new BigInt64Array(batch);
  while (rows.some((r) => !r.done)) {
    for (let b = 0; b < batch; b++) {
      const r = rows[b];
      // Finished (or padding) rows repeat their last slot; what they write there is never read again.
      const pos = r ? Math.min(r.pos, r.tokens.length - 1) : 0;
      ids[b] = BigInt(r ? r.tokens[pos]! : 0);
      positions[b] = BigInt(pos);
    }
    const out = await step.run(ids, positions, keys, values);
    keys = out.keys;
    values = out.values;
    rows.forEach((r, b) => {
      if (r.done) return;
      const logits = out.logits.subarray(b * V, (b + 1) * V);
      options.onLogits?.(b, r.pos, logits);
      r.pos++;
      if (r.pos < r.prompt) return; // still reading the prompt
      const next = sampleToken(logits, options, random);
      r.tokens.push(next);
      if (stop.has(next) || r.tokens.length - r.prompt >= options.maxNewTokens) r.done = true;
    });
  }
  return rows.map((r) => r.tokens.slice(r.prompt));
}
