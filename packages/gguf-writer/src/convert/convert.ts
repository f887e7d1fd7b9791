// Hugging Face model directory -> GGUF, streamed: tensors are read from the (possibly sharded) safetensors one range
// of rows at a time, renamed, permuted where the architecture needs it, encoded to their ggml type and written in
// order, so peak memory is one chunk of rows, not a tensor and never the model. The work is model.ts's (browser-safe);
// this file opens directories and files (Node).
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint, openFileSink, type ByteSink } from "@neural/safetensors";
import { GgufConvertError } from "./errors.js";
import { checkModelFolder, parseHfConfig } from "@neural/hf-config";
import { archInfo } from "./arch.js";
import { convertModel, type ConvertResult, type HfModel, type ModelConvertOptions } from "./model.js";
import { FILE_TYPE_OF } from "./types-policy.js";

export interface ConvertOptions extends ModelConvertOptions {
  /** HF model directory: config.json, safetensors (single or sharded), tokenizer.json, tokenizer_config.json. */
  modelDir: string;
  /** Output .gguf path (written to a temp file, renamed when complete). Ignored when `sink` is given. */
  output?: string;
  sink?: ByteSink;
}

async function readJson(path: string, required: boolean): Promise<Record<string, any> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new GgufConvertError(`cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, path);
  }
  try {
    return JSON.parse(text) as Record<string, any>;
  } catch (error) {
    throw new GgufConvertError(`not valid JSON: ${(error as Error).message}`, path);
  }
}

/** Opens a HF model directory (config, weights, tokenizer). Close `checkpoint` when done. */
export async function openHfModel(dir: string): Promise<HfModel> {
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new GgufConvertError("not a directory", dir);
  if (await stat(join(dir, "adapter_config.json")).catch(() => undefined)) {
    throw new GgufConvertError(
      "this is a LoRA adapter directory, not a model: merge it into its base model first (or convert it as a GGUF adapter)",
      dir,
    );
  }
  const config = (await readJson(join(dir, "config.json"), true))!;
  const tokenizer = await readJson(join(dir, "tokenizer.json"), false);
  const tokenizerConfig = await readJson(join(dir, "tokenizer_config.json"), false);
  const chatTemplateFile = await readFile(join(dir, "chat_template.jinja"), "utf8").catch(() => undefined);
  const model = parseHfConfig(config, join(dir, "config.json"));
  const checkpoint = await openCheckpoint(dir).catch((error: Error) => {
    throw new GgufConvertError(error.message, dir, "weights");
  });
  try {
    checkModelFolder({
      config: model,
      configFile: join(dir, "config.json"),
      tensors: checkpoint.names.map((name) => checkpoint.info(name)),
      ...(tokenizer ? { tokenizer, tokenizerFile: join(dir, "tokenizer.json") } : {}),
    });
  } catch (error) {
    await checkpoint.close();
    throw error;
  }
  return { dir, config, model, info: archInfo(model), checkpoint, tokenizer, tokenizerConfig, chatTemplateFile };
}

/** Converts a HF model directory to a GGUF file. */
export async function convertHfToGguf(options: ConvertOptions): Promise<ConvertResult> {
  const outType = options.outType ?? "F16";
  if (!(outType in FILE_TYPE_OF)) throw new GgufConvertError(`unknown output type ${outType}`, options.modelDir, "outType");
  if (!options.sink && !options.output) throw new GgufConvertError("no output path or sink given", options.modelDir, "output");
  const model = await openHfModel(options.modelDir);
  try {
    const sink = options.sink ?? (await openFileSink(options.output!));
    const result = await convertModel(model, sink, options);
    return { ...result, output: options.output ?? sink.name };
  } finally {
    await model.checkpoint.close();
  }
}
