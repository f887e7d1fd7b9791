// PEFT's LoRA format without files (browser-safe): adapter_config.json's content and the adapter_model.safetensors
// tensors, named base_model.model.<module>.lora_A.weight [r, in] and base_model.model.<module>.lora_B.weight [out, r];
// merging an adapter into a weight. peft.ts saves and loads them on disk.
import { textTowerModuleName } from "@neural/hf-config";
import type { TensorToWrite } from "@neural/safetensors";
import type { LoraSpec, TrainableParam } from "./train-step.js";

export class AdapterError extends Error {
  override name = "AdapterError";
}

export interface LoraAdapter {
  /** HF module path (e.g. model.layers.0.self_attn.q_proj) → A [rank, in] and B [out, rank]. */
  modules: Map<string, { a: Float32Array; b: Float32Array; in: number; out: number }>;
  rank: number;
  alpha: number;
  dropout: number;
  rsLora: boolean;
  /** Short names (q_proj, ...) as PEFT's target_modules. */
  targetModules: string[];
  baseModel?: string;
  /**
   * Rows trained for tokens added to the base's vocabulary (PEFT's trainable_token_indices), by the text model's
   * weight (model.embed_tokens.weight, and lm_head.weight when untied): the rows' values, [indices, width].
   */
  tokenRows?: Map<string, { indices: number[]; values: Float32Array; width: number }>;
}

/** What W gains: scale · B·A, with scale = alpha / r (or alpha / √r with rsLoRA). */
export function loraScale(adapter: Pick<LoraAdapter, "alpha" | "rank" | "rsLora">): number {
  return adapter.alpha / (adapter.rsLora ? Math.sqrt(adapter.rank) : adapter.rank);
}

export const PEFT_PREFIX = "base_model.model.";

/** adapter_config.json of an adapter (PEFT's keys). */
export function peftAdapterConfig(adapter: LoraAdapter): Record<string, unknown> {
  return {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    base_model_name_or_path: adapter.baseModel ?? null,
    r: adapter.rank,
    lora_alpha: adapter.alpha,
    lora_dropout: adapter.dropout,
    use_rslora: adapter.rsLora,
    target_modules: adapter.targetModules,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    ...(adapter.tokenRows?.size
      ? {
          trainable_token_indices: Object.fromEntries(
            [...adapter.tokenRows].map(([weight, rows]) => [shortModuleName(weight), rows.indices]),
          ),
        }
      : {}),
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    use_dora: false,
    revision: null,
  };
}

/** The adapter of trained LoRA tensors (<module>.lora_A and .lora_B), in PEFT's terms. */
/** `textTower`: the base is a multimodal model whose text layers PEFT names model.language_model.layers... */
export function loraAdapterOf(
  params: readonly TrainableParam[],
  values: ReadonlyMap<string, Float32Array>,
  lora: LoraSpec,
  baseModel?: string,
  textTower = false,
): LoraAdapter {
  const modules: LoraAdapter["modules"] = new Map();
  for (const p of params) {
    if (!p.name.endsWith(".lora_A")) continue;
    const module = p.name.slice(0, -".lora_A".length);
    const b = params.find((q) => q.name === `${module}.lora_B`)!;
    modules.set(textTower ? textTowerModuleName(module) : module, {
      a: values.get(p.name)!,
      b: values.get(b.name)!,
      in: p.shape[1]!,
      out: b.shape[0]!,
    });
  }
  const tokenRows: NonNullable<LoraAdapter["tokenRows"]> = new Map();
  for (const p of params) {
    if (!p.name.endsWith(TOKEN_ROWS_SUFFIX) || !lora.trainableTokens) continue;
    const module = p.name.slice(0, -TOKEN_ROWS_SUFFIX.length);
    tokenRows.set(`${textTower ? textTowerModuleName(module) : module}.weight`, {
      indices: [...lora.trainableTokens],
      values: values.get(p.name)!,
      width: p.shape[1]!,
    });
  }
  return {
    modules,
    rank: lora.rank,
    alpha: lora.alpha,
    dropout: lora.dropout,
    rsLora: lora.rsLora,
    targetModules: [...lora.targets],
    ...(baseModel !== undefined ? { baseModel } : {}),
    ...(tokenRows.size ? { tokenRows } : {}),
  };
}

const TOKEN_ROWS_SUFFIX = ".trainable_tokens";
/** PEFT's key for a module in trainable_token_indices: its last name (embed_tokens, lm_head). */
const shortModuleName = (weight: string) => weight.replace(/\.weight$/, "").replace(/^.*\./, "");

/** PEFT's tensor of trained token rows (the wrapped module's token_adapter), for a weight's name. */
export const tokenRowsTensorName = (weight: string): string =>
  `${PEFT_PREFIX}${weight.replace(/\.weight$/, "")}.token_adapter.trainable_tokens_delta`;

/** Replaces the rows of `indices` of a row-major W [rows, width] by `values`, growing W to `rows` rows first. */
export function replaceTokenRows(
  w: Float32Array,
  rows: number,
  token: { indices: readonly number[]; values: Float32Array; width: number },
): Float32Array {
  const { width } = token;
  if (w.length % width !== 0) throw new AdapterError(`merge: a weight of ${w.length} values has no rows of ${width}`);
  const out = new Float32Array(rows * width);
  out.set(w.subarray(0, Math.min(w.length, rows * width)));
  token.indices.forEach((id, k) => {
    if (id >= rows) throw new AdapterError(`merge: token row ${id} is outside the ${rows} rows`);
    out.set(token.values.subarray(k * width, (k + 1) * width), id * width);
  });
  return out;
}

/** The tensors of adapter_model.safetensors (float32), modules in natural order. */
export function peftTensors(adapter: LoraAdapter): TensorToWrite[] {
  const tensors: TensorToWrite[] = [];
  for (const [module, w] of [...adapter.modules].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))) {
    tensors.push({ name: `${PEFT_PREFIX}${module}.lora_A.weight`, dtype: "F32", shape: [adapter.rank, w.in], data: w.a });
    tensors.push({ name: `${PEFT_PREFIX}${module}.lora_B.weight`, dtype: "F32", shape: [w.out, adapter.rank], data: w.b });
  }
  for (const [weight, rows] of adapter.tokenRows ?? []) {
    tensors.push({ name: tokenRowsTensorName(weight), dtype: "F32", shape: [rows.indices.length, rows.width], data: rows.values });
  }
  return tensors;
}

/** W + scale·B·A for a row-major W [out, in]; returns a new array (W is not modified). */
export function mergeLoraWeight(
  w: Float32Array,
  lora: { a: Float32Array; b: Float32Array; in: number; out: number },
  rank: number,
  scale: number,
): Float32Array {
  const { a, b, in: inF, out: outF } = lora;
  if (w.length !== inF * outF) throw new AdapterError(`merge: weight has ${w.length} values, the adapter expects ${outF}×${inF}`);
  const merged = Float32Array.from(w);
  const row = new Float64Array(inF);
  for (let o = 0; o < outF; o++) {
    row.fill(0);
    for (let k = 0; k < rank; k++) {
      const coef = b[o * rank + k]!;
      if (coef === 0) continue;
      const aRow = k * inF;
      for (let i = 0; i < inF; i++) row[i]! += coef * a[aRow + i]!;
    }
    const base = o * inF;
    for (let i = 0; i < inF; i++) merged[base + i] = merged[base + i]! + scale * row[i]!;
  }
  return merged;
}
