// The reference log-probabilities of a DPO or KTO run, cached beside it (reference_logps.json): computed once, from
// the model as it starts (with LoRA: the base with the adapter as it starts, PEFT's zero B, so no second copy of the
// model), reused by a resumed run, and recomputed when the key (model, template, tokenizer, data) changes.
import type { TypedArray } from "@neural/graph";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { writeDurable } from "./checkpoint.js";
import { needsReference } from "./preference.js";
import { referenceKey, referenceLogps, type PreferenceData } from "./preference-run.js";
import type { GraphRunner } from "./sessions.js";
import type { Note, PreparedRun } from "./setup.js";

export const REFERENCE_FILE = "reference_logps.json";

interface CacheFile {
  key: string;
  train: number[];
  eval: number[];
}

/**
 * Fills `data.reference` from the cache in `outputDir`, or computes it with `startWeights()` (the trainable
 * tensors as the run starts) and writes the cache. Returns whether it was computed.
 */
export async function ensureReference(
  run: PreparedRun,
  data: PreferenceData,
  runner: GraphRunner,
  outputDir: string,
  startWeights: () => Promise<Record<string, TypedArray>>,
  emit: (note: Note) => void,
): Promise<{ computed: boolean }> {
  if (!needsReference(data.spec.method)) return { computed: false };
  const file = path.join(outputDir, REFERENCE_FILE);
  const key = referenceKey(run, data);
  const cached = await readFile(file, "utf8").then(parseCache, () => undefined);
  if (cached && cached.key === key && cached.train.length === 2 * data.train.length && cached.eval.length === 2 * data.eval.length) {
    data.reference = { train: Float64Array.from(cached.train), eval: Float64Array.from(cached.eval) };
    emit({ type: "info", message: `reference log-probabilities: reused ${file}` });
    return { computed: false };
  }
  if (cached)
    emit({ type: "info", message: `reference log-probabilities: ${file} was made for another model, template or data; recomputing` });
  else if (cached === null)
    emit({ type: "warning", message: `reference log-probabilities: ${file} is not a cache this version wrote; recomputing` });
  emit({ type: "info", message: `reference log-probabilities: computing ${2 * (data.train.length + data.eval.length)} sequences once` });
  data.reference = await referenceLogps(run, data, runner, await startWeights());
  const out: CacheFile = { key, train: Array.from(data.reference.train), eval: Array.from(data.reference.eval) };
  await writeDurable(file, JSON.stringify(out) + "\n");
  return { computed: true };
}

/** The cache file's contents, or null when it is not one (torn, edited, another version). */
function parseCache(text: string): CacheFile | null {
  try {
    const value = JSON.parse(text) as Partial<CacheFile>;
    const numbers = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === "number");
    return typeof value.key === "string" && numbers(value.train) && numbers(value.eval) ? (value as CacheFile) : null;
  } catch {
    return null;
  }
}
