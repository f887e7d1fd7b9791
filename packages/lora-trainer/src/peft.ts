// LoRA adapters in PEFT's format, so Python users (and llama.cpp's convert_lora_to_gguf.py) can use ours:
// adapter_config.json + adapter_model.safetensors with tensors named
// base_model.model.<module>.lora_A.weight [r, in] and base_model.model.<module>.lora_B.weight [out, r].
import { openSafetensors, saveSafetensors, type TensorToWrite } from "@neural/safetensors";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeDurable } from "./checkpoint.js";

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

const PREFIX = "base_model.model.";

export async function savePeftAdapter(dir: string, adapter: LoraAdapter): Promise<void> {
  await mkdir(dir, { recursive: true });
  const config = {
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
  const tensors: TensorToWrite[] = [];
  for (const [module, w] of [...adapter.modules].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))) {
    tensors.push({ name: `${PREFIX}${module}.lora_A.weight`, dtype: "F32", shape: [adapter.rank, w.in], data: w.a });
    tensors.push({ name: `${PREFIX}${module}.lora_B.weight`, dtype: "F32", shape: [w.out, adapter.rank], data: w.b });
  }
  await saveSafetensors(path.join(dir, "adapter_model.safetensors"), tensors, { metadata: { format: "pt" } });
  await writeDurable(path.join(dir, "adapter_config.json"), JSON.stringify(config, null, 2) + "\n");
}

export async function loadPeftAdapter(dir: string): Promise<LoraAdapter> {
  const configPath = path.join(dir, "adapter_config.json");
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new AdapterError(`${configPath}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found (not an adapter directory)" : (error as Error).message}`);
  }
  if (config.peft_type !== undefined && config.peft_type !== "LORA") throw new AdapterError(`${configPath}: peft_type ${String(config.peft_type)} is not LORA`);
  const rank = config.r;
  if (typeof rank !== "number" || !Number.isInteger(rank) || rank < 1) throw new AdapterError(`${configPath}: r must be a positive integer`);
  if (typeof config.lora_alpha !== "number") throw new AdapterError(`${configPath}: lora_alpha must be a number`);
  if (config.use_dora) throw new AdapterError(`${configPath}: DoRA adapters are not supported`);
  const file = await openSafetensors(path.join(dir, "adapter_model.safetensors"));
  const modules: LoraAdapter["modules"] = new Map();
  try {
    for (const name of file.names) {
      const m = /^(?:base_model\.model\.)?(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
      if (!m) continue;
      const module = m[1]!;
      const bName = name.replace(/lora_A(\.default)?\.weight$/, "lora_B$1.weight");
      if (!file.has(bName)) throw new AdapterError(`${dir}: ${name} has no matching ${bName}`);
      const [r, inF] = file.info(name).shape as [number, number];
      const [outF, rb] = file.info(bName).shape as [number, number];
      if (r !== rank || rb !== rank) throw new AdapterError(`${dir}: ${module} has rank ${r}/${rb}, adapter_config.json says ${rank}`);
      modules.set(module, { a: await file.readFloat32(name), b: await file.readFloat32(bName), in: inF, out: outF });
    }
  } finally {
    await file.close();
  }
  if (modules.size === 0) throw new AdapterError(`${dir}: adapter_model.safetensors holds no LoRA tensors`);
  const targets = config.target_modules;
  return {
    modules,
    rank,
    alpha: config.lora_alpha,
    dropout: typeof config.lora_dropout === "number" ? config.lora_dropout : 0,
    rsLora: config.use_rslora === true,
    targetModules: Array.isArray(targets) ? targets.map(String) : [...new Set([...modules.keys()].map((k) => k.slice(k.lastIndexOf(".") + 1)))],
    ...(typeof config.base_model_name_or_path === "string" ? { baseModel: config.base_model_name_or_path } : {}),
  };
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
