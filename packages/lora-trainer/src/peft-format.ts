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
export function loraAdapterOf(params: readonly TrainableParam[], values: ReadonlyMap<string, Float32Array>, lora: LoraSpec, baseModel?: string, textTower = false): LoraAdapter {
  const modules: LoraAdapter["modules"] = new Map();
  for (const p of params) {
    if (!p.name.endsWith(".lora_A")) continue;
    const module = p.name.slice(0, -".lora_A".length);
    const b = params.find((q) => q.name === `${module}.lora_B`)!;
    modules.set(textTower ? textTowerModuleName(module) : module, { a: values.get(p.name)!, b: values.get(b.name)!, in: p.shape[1]!, out: b.shape[0]! });
  }
  return { modules, rank: lora.rank, alpha: lora.alpha, dropout: lora.dropout, rsLora: lora.rsLora, targetModules: [...lora.targets], ...(baseModel !== undefined ? { baseModel } : {}) };
}

/** The tensors of adapter_model.safetensors (float32), modules in natural order. */
export function peftTensors(adapter: LoraAdapter): TensorToWrite[] {
  const tensors: TensorToWrite[] = [];
  for (const [module, w] of [...adapter.modules].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))) {
    tensors.push({ name: `${PEFT_PREFIX}${module}.lora_A.weight`, dtype: "F32", shape: [adapter.rank, w.in], data: w.a });
    tensors.push({ name: `${PEFT_PREFIX}${module}.lora_B.weight`, dtype: "F32", shape: [w.out, adapter.rank], data: w.b });
  }
  return tensors;
}

/** W + scale·B·A for a row-major W [out, in]; returns a new array (W is not modified). */
export function mergeLoraWeight(w: Float32Array, lora: { a: Float32Array; b: Float32Array; in: number; out: number }, rank: number, scale: number): Float32Array {
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
