// Opening a Hugging Face model directory (Node): config.json and the safetensors checkpoint (single or sharded).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint } from "@neural/safetensors";
import { type ModelConfig, ModelConfigError, parseConfig } from "./config.js";
import { checkpointSource, type WeightSource } from "./weights.js";

export interface OpenedModel {
  dir: string;
  config: ModelConfig;
  /** The raw config.json. */
  rawConfig: Record<string, unknown>;
  /** The checkpoint's tensors (read lazily as float32). */
  source: WeightSource;
  close(): Promise<void>;
}

/** Read config.json and open the weights of a model directory. */
export async function openModel(dir: string): Promise<OpenedModel> {
  let text: string;
  try {
    text = await readFile(join(dir, "config.json"), "utf8");
  } catch (e) {
    throw new ModelConfigError(`cannot read ${join(dir, "config.json")}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ModelConfigError(`${join(dir, "config.json")} is not valid JSON: ${(e as Error).message}`);
  }
  const config = parseConfig(raw);
  const ckpt = await openCheckpoint(dir);
  return { dir, config, rawConfig: raw, source: checkpointSource(ckpt), close: () => ckpt.close() };
}
