// Folding a LoRA adapter into its base model: W' = W + scale·B·A for each adapted module, written as a Hugging Face
// model directory (one tensor in memory at a time) that @neural/gguf-writer converts like any other model.
import { checkModelFolder, parseHfConfigText, textModelTensorName } from "@neural/hf-config";
import { openCheckpoint, saveSafetensors, type TensorToWrite } from "@neural/safetensors";
import { copyFile, mkdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { writeDurable } from "./checkpoint.js";
import { resolveModel, type ResolveModelOptions } from "./model-source.js";
import { AdapterError, loadPeftAdapter, loraScale, mergeLoraWeight, type LoraAdapter } from "./peft.js";
import { replaceTokenRows } from "./peft-format.js";
import { EMBED_WEIGHT, HEAD_WEIGHT, withMeanRows } from "./token-rows.js";

export interface MergeOptions {
  adapterDir: string;
  /** Base model (a directory or a Hugging Face id); default: the adapter's base_model_name_or_path. */
  baseModel?: string;
  outputDir: string;
  /** Element type of the merged weights. Default F32 (no rounding of the merged update). */
  dtype?: "F32" | "F16" | "BF16";
  modelSource?: ResolveModelOptions;
  onProgress?: (done: number, total: number, tensor: string) => void;
}

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "generation_config.json"];

export async function mergeAdapter(options: MergeOptions): Promise<{ outputDir: string; baseDir: string; merged: number }> {
  const adapter = await loadPeftAdapter(options.adapterDir);
  const baseSpec = options.baseModel ?? adapter.baseModel;
  if (!baseSpec) throw new AdapterError(`${options.adapterDir}: adapter_config.json names no base model; give one (--base_model)`);
  const base = await resolveModel(baseSpec, options.modelSource);
  const configFile = path.join(base.dir, "config.json");
  const configText = await readFile(configFile, "utf8");
  const model = parseHfConfigText(configText, configFile);
  const config = JSON.parse(configText) as Record<string, unknown>;
  const checkpoint = await openCheckpoint(base.dir);
  try {
    checkModelFolder({ config: model, configFile, tensors: checkpoint.names.map((name) => checkpoint.info(name)) });
    const scale = loraScale(adapter);
    const unused = new Set(adapter.modules.keys());
    const tokenRows = adapter.tokenRows ?? new Map();
    // Tokens the adapter added to the vocabulary grow the embedding (and an untied output layer) to cover them.
    const vocabRows = (name: string) => checkpoint.info(name).shape[0]!;
    const embedName = checkpoint.names.find((n) => textModelTensorName(n) === EMBED_WEIGHT);
    const baseRows = embedName ? vocabRows(embedName) : 0;
    const rows = Math.max(baseRows, ...[...tokenRows.values()].flatMap((t) => t.indices.map((i: number) => i + 1)));
    const tensors: TensorToWrite[] = checkpoint.names.map((name, index) => {
      // Adapters name the text model's modules (model.layers...), whatever prefix a multimodal checkpoint adds.
      const text = textModelTensorName(name);
      const module = text?.endsWith(".weight") ? text.slice(0, -".weight".length) : undefined;
      const lora = module !== undefined ? adapter.modules.get(module) : undefined;
      if (module !== undefined && lora) unused.delete(module);
      const info = checkpoint.info(name);
      const vocabWeight = text === EMBED_WEIGHT || text === HEAD_WEIGHT;
      const added = vocabWeight && tokenRows.size > 0 ? { rows: tokenRows.get(text!) } : undefined;
      return {
        name,
        dtype: options.dtype ?? "F32",
        shape: added ? [rows, ...info.shape.slice(1)] : info.shape,
        data: async () => {
          options.onProgress?.(index, checkpoint.names.length, name);
          const w = await checkpoint.readFloat32(name);
          if (added) return mergeTokenRows(w, info.shape[1]!, rows, tokenRows, added.rows);
          return lora ? mergeLoraWeight(w, lora, adapter.rank, scale) : w;
        },
      };
    });
    if (unused.size)
      throw new AdapterError(
        `${options.adapterDir}: the base model ${base.dir} has no weight for ${[...unused][0]} (is it the right base?)`,
      );
    await mkdir(options.outputDir, { recursive: true });
    await saveSafetensors(path.join(options.outputDir, "model.safetensors"), tensors, { metadata: { format: "pt" } });
    // The base's name, as transformers records the id a model was loaded from (a GGUF export names the model after it).
    const nameOrPath = base.repo ?? (typeof config._name_or_path === "string" && config._name_or_path ? config._name_or_path : baseSpec);
    const vocab = rows > baseRows ? withVocabSize(config, rows) : config;
    await writeDurable(
      path.join(options.outputDir, "config.json"),
      JSON.stringify(
        {
          ...vocab,
          _name_or_path: nameOrPath,
          torch_dtype: (options.dtype ?? "F32") === "F32" ? "float32" : options.dtype === "F16" ? "float16" : "bfloat16",
        },
        null,
        2,
      ) + "\n",
    );
    // The adapter directory's tokenizer (what training used) wins over the base's.
    for (const file of TOKENIZER_FILES) {
      const from = (await exists(path.join(options.adapterDir, file))) ? path.join(options.adapterDir, file) : path.join(base.dir, file);
      if (await exists(from)) await copyFile(from, path.join(options.outputDir, file));
    }
    return { outputDir: options.outputDir, baseDir: base.dir, merged: adapter.modules.size };
  } finally {
    await checkpoint.close();
  }
}

/**
 * An embedding or output weight with the adapter's token rows: the added rows at the mean of the base's other rows,
 * as training started them (grown to `rows` rows first), then the trained rows written in place.
 */
function mergeTokenRows(
  w: Float32Array,
  width: number,
  rows: number,
  all: NonNullable<LoraAdapter["tokenRows"]>,
  trained?: { indices: number[]; values: Float32Array; width: number },
): Float32Array {
  const added = [...new Set([...all.values()].flatMap((t) => t.indices))];
  const start = withMeanRows(w, width, added, rows);
  return trained ? replaceTokenRows(start, rows, trained) : start;
}

/** config.json with a new vocabulary size (a multimodal config's text model's too). */
function withVocabSize(config: Record<string, unknown>, rows: number): Record<string, unknown> {
  const text = config.text_config;
  return {
    ...config,
    vocab_size: rows,
    ...(typeof text === "object" && text !== null ? { text_config: { ...text, vocab_size: rows } } : {}),
  };
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );
