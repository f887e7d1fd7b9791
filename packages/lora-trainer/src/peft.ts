// LoRA adapters in PEFT's format, so Python users (and llama.cpp's convert_lora_to_gguf.py) can use ours:
// adapter_config.json + adapter_model.safetensors with tensors named
// base_model.model.<module>.lora_A.weight [r, in] and base_model.model.<module>.lora_B.weight [out, r].
import { textModelTensorName } from "@neural/hf-config";
import { openSafetensors, saveSafetensors } from "@neural/safetensors";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeDurable } from "./checkpoint.js";
import { AdapterError, peftAdapterConfig, peftTensors, type LoraAdapter } from "./peft-format.js";

export { AdapterError, loraScale, mergeLoraWeight, peftAdapterConfig, peftTensors, PEFT_PREFIX, type LoraAdapter } from "./peft-format.js";

export async function savePeftAdapter(dir: string, adapter: LoraAdapter): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveSafetensors(path.join(dir, "adapter_model.safetensors"), peftTensors(adapter), { metadata: { format: "pt" } });
  await writeDurable(path.join(dir, "adapter_config.json"), JSON.stringify(peftAdapterConfig(adapter), null, 2) + "\n");
}

export async function loadPeftAdapter(dir: string): Promise<LoraAdapter> {
  const configPath = path.join(dir, "adapter_config.json");
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(configPath, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new AdapterError(
      `${configPath}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not found (not an adapter directory)" : (error as Error).message}`,
    );
  }
  if (config.peft_type !== undefined && config.peft_type !== "LORA")
    throw new AdapterError(`${configPath}: peft_type ${String(config.peft_type)} is not LORA`);
  const rank = config.r;
  if (typeof rank !== "number" || !Number.isInteger(rank) || rank < 1)
    throw new AdapterError(`${configPath}: r must be a positive integer`);
  if (typeof config.lora_alpha !== "number") throw new AdapterError(`${configPath}: lora_alpha must be a number`);
  if (config.use_dora) throw new AdapterError(`${configPath}: DoRA adapters are not supported`);
  const file = await openSafetensors(path.join(dir, "adapter_model.safetensors"));
  const modules: LoraAdapter["modules"] = new Map();
  let tokenRows: LoraAdapter["tokenRows"];
  try {
    for (const name of file.names) {
      const m = /^(?:base_model\.model\.)?(.+)\.lora_A(?:\.default)?\.weight$/.exec(name);
      if (!m) continue;
      // The text model's module name (a multimodal model's model.language_model.layers... are model.layers...).
      const module = (textModelTensorName(`${m[1]!}.weight`) ?? `${m[1]!}.weight`).slice(0, -".weight".length);
      const bName = name.replace(/lora_A(\.default)?\.weight$/, "lora_B$1.weight");
      if (!file.has(bName)) throw new AdapterError(`${dir}: ${name} has no matching ${bName}`);
      const [r, inF] = file.info(name).shape as [number, number];
      const [outF, rb] = file.info(bName).shape as [number, number];
      if (r !== rank || rb !== rank) throw new AdapterError(`${dir}: ${module} has rank ${r}/${rb}, adapter_config.json says ${rank}`);
      modules.set(module, { a: await file.readFloat32(name), b: await file.readFloat32(bName), in: inF, out: outF });
    }
    tokenRows = await loadTokenRows(file, config, dir);
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
    targetModules: Array.isArray(targets)
      ? targets.map(String)
      : [...new Set([...modules.keys()].map((k) => k.slice(k.lastIndexOf(".") + 1)))],
    ...(typeof config.base_model_name_or_path === "string" ? { baseModel: config.base_model_name_or_path } : {}),
    ...(tokenRows?.size ? { tokenRows } : {}),
  };
}

type SafetensorsFile = Awaited<ReturnType<typeof openSafetensors>>;

/**
 * PEFT's trained token rows (<module>.token_adapter.trainable_tokens_delta [indices, width]) with their indices from
 * adapter_config.json's trainable_token_indices: a list (the embedding's) or one list per module name.
 */
async function loadTokenRows(file: SafetensorsFile, config: Record<string, unknown>, dir: string): Promise<LoraAdapter["tokenRows"]> {
  const rows: NonNullable<LoraAdapter["tokenRows"]> = new Map();
  const declared = config.trainable_token_indices;
  for (const name of file.names) {
    const m = /^(?:base_model\.model\.)?(.+)\.token_adapter\.trainable_tokens_delta(?:\.default)?$/.exec(name);
    if (!m) continue;
    const weight = textModelTensorName(`${m[1]!}.weight`) ?? `${m[1]!}.weight`;
    const short = m[1]!.replace(/^.*\./, "");
    const indices = Array.isArray(declared)
      ? short === "lm_head"
        ? undefined
        : declared
      : typeof declared === "object" && declared !== null
        ? (declared as Record<string, unknown>)[short]
        : undefined;
    const [count, width] = file.info(name).shape as [number, number];
    if (!Array.isArray(indices) || indices.length !== count || !indices.every((i) => Number.isInteger(i) && i >= 0 && i < 1 << 24)) {
      throw new AdapterError(
        `${path.join(dir, "adapter_config.json")}: trainable_token_indices must list the ${count} token ids of ${name}`,
      );
    }
    rows.set(weight, { indices: indices as number[], values: await file.readFloat32(name), width });
  }
  return rows;
}
