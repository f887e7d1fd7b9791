// Helpers for the model tests: build a forward graph for some token rows, run it in ONNX Runtime, read the logits.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Graph, type Tensor } from "@neural/graph";
import { createSession, saveGraph, toOrt } from "@neural/graph/node";
import type { ModelConfig } from "./config.js";
import { type ForwardOptions, buildForward } from "./transformer.js";
import { type WeightSource, graphWeights } from "./weights.js";

export interface Row {
  ids: number[];
  positions?: number[];
  segments?: number[];
}

export const scratch = (): string => mkdtempSync(join(tmpdir(), "lora-trainer-models-"));

/** Logits [row][position] (vocab-sized arrays) of our forward in ORT, float32 or float64. */
export async function forwardLogits(
  config: ModelConfig,
  source: WeightSource,
  rows: Row[],
  options: {
    dtype?: "float32" | "float64";
    dir?: string;
    forward?: (g: Graph) => ForwardOptions;
    extraFeeds?: Record<string, Float32Array | Float64Array>;
  } = {},
): Promise<Float64Array[][]> {
  const dtype = options.dtype ?? "float32";
  const B = rows.length;
  const S = Math.max(...rows.map((r) => r.ids.length));
  const g = new Graph({ dims: { batch: B, seq: S } });
  const inputIds = g.input("input_ids", "int64", ["batch", "seq"]);
  const positionIds = g.input("position_ids", "int64", ["batch", "seq"]);
  const packed = rows.some((r) => r.segments);
  const segmentIds = packed ? g.input("segment_ids", "int64", ["batch", "seq"]) : undefined;
  const weights = graphWeights(g, source, { dtype });
  const { logits } = buildForward(g, config, weights, { inputIds, positionIds, segmentIds }, options.forward?.(g) ?? {});
  g.output("logits", logits!);
  const path = await saveGraph(g, options.dir ?? scratch());
  const { session } = await createSession(path, { intraOpNumThreads: 1, graphOptimizationLevel: dtype === "float64" ? "basic" : "all" });
  const pad = (f: (r: Row) => number[], fill: number) =>
    BigInt64Array.from(
      rows.flatMap((r) => [...f(r), ...Array(S - r.ids.length).fill(fill)]),
      (v) => BigInt(v),
    );
  const feeds: Record<string, ReturnType<typeof toOrt>> = {
    input_ids: toOrt(
      "int64",
      [B, S],
      pad((r) => r.ids, 0),
    ),
    position_ids: toOrt(
      "int64",
      [B, S],
      pad((r) => r.positions ?? r.ids.map((_, i) => i), 0),
    ),
  };
  if (segmentIds)
    feeds.segment_ids = toOrt(
      "int64",
      [B, S],
      pad((r) => r.segments ?? r.ids.map(() => 1), -1),
    );
  for (const [name, data] of Object.entries(options.extraFeeds ?? {})) {
    const t = g.inputs.find((i) => i.name === name)!;
    feeds[name] = toOrt(t.dtype, t.shape, data);
  }
  const out = (await session.run(feeds)).logits!.data as Float32Array | Float64Array;
  await session.release();
  const V = config.vocabSize;
  return rows.map((r, b) => r.ids.map((_, i) => Float64Array.from(out.subarray((b * S + i) * V, (b * S + i + 1) * V))));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export type { Tensor };
