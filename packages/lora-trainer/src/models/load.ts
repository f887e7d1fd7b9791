// Opening a Hugging Face model directory (Node): config.json and the safetensors checkpoint (single or sharded).
// The weights are seen under the text model's names (a multimodal checkpoint's language_model prefix dropped,
// its vision tower left out).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { checkModelFolder, textModelConfig, textModelTensorName } from "@neural/hf-config";
import { openCheckpoint } from "@neural/safetensors";
import { type ModelConfig, ModelConfigError, parseConfig } from "./config.js";
import { checkpointSource, type WeightSource } from "./weights.js";

export interface OpenedModel {
  dir: string;
  config: ModelConfig;
  /** config.json as read; for a multimodal checkpoint, its text model's (a Gemma3ForCausalLM config). */
  rawConfig: Record<string, unknown>;
  /** The checkpoint's tensors (read lazily as float32). */
  source: WeightSource;
  close(): Promise<void>;
}

/** Read config.json and open the weights of a model directory, checked against each other (no weights are read). */
export async function openModel(dir: string): Promise<OpenedModel> {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ModelConfigError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ModelConfigError(`not valid JSON: ${(e as Error).message}`, file);
  }
  const config = parseConfig(raw, file);
  const ckpt = await openCheckpoint(dir);
  try {
    checkModelFolder({ config, configFile: file, tensors: ckpt.names.map((name) => ckpt.info(name)) });
  } catch (error) {
    await ckpt.close();
    throw error;
  }
  return { dir, config, rawConfig: textModelConfig(raw), source: textModelSource(checkpointSource(ckpt)), close: () => ckpt.close() };
}

/** A checkpoint's tensors under the text model's names (unchanged for text-only checkpoints). */
export function textModelSource(source: WeightSource): WeightSource {
  const original = new Map<string, string>();
  for (const name of source.names) {
    const text = textModelTensorName(name);
    if (text !== undefined) original.set(text, name);
  }
  if ([...original].every(([a, b]) => a === b) && original.size === source.names.length) return source;
  return { names: [...original.keys()], shape: (n) => source.shape(original.get(n) ?? n), read: (n) => source.read(original.get(n) ?? n) };
}
