// The trained model as files, in memory: model.safetensors + config.json (or, for LoRA, the PEFT adapter and the
// merged model), tokenizer.json + tokenizer_config.json, train_config.json, and the GGUF that llama.cpp loads,
// converted by @neural/gguf-writer from the same safetensors bytes `neural export` would read.
import type { TokenizerFiles } from "@neural/dataset";
import { convertModel, hfModel, type OutType } from "@neural/gguf-writer";
import {
  loraAdapterOf,
  loraScale,
  mergeLoraWeight,
  peftAdapterConfig,
  peftTensors,
  replaceTokenRows,
  type LoraSpec,
  type TrainableParam,
  type TrainConfig,
  type WeightSource,
} from "@neural/lora-trainer";
import { memorySink, memorySource, SafetensorsFile, writeSafetensors, type TensorToWrite } from "@neural/safetensors";

export interface ExportSettings {
  /** GGUF tensor type or quantization mix (default F16). */
  outType?: OutType;
  /** The GGUF's general.name (default: the dataset's or base model's name). */
  name?: string;
}

export interface OutputFile {
  /** File name (e.g. "model.gguf", "adapter_model.safetensors"). */
  name: string;
  bytes: Uint8Array;
  /** A MIME type for a download link. */
  type: string;
}

export interface TrainedModel {
  name: string;
  rawConfig: Record<string, unknown>;
  source: WeightSource;
  params: readonly TrainableParam[];
  values: ReadonlyMap<string, Float32Array>;
  tokenizer: TokenizerFiles;
  settings: TrainConfig;
  lora?: LoraSpec;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");

async function safetensorsBytes(tensors: readonly TensorToWrite[], name: string): Promise<Uint8Array> {
  const sink = memorySink(name);
  await writeSafetensors(sink, tensors, { metadata: { format: "pt" } });
  return sink.bytes();
}

/** Every output file; `progress` hears what is being written. */
export async function exportModel(
  model: TrainedModel,
  settings: ExportSettings,
  progress: (message: string) => void = () => {},
): Promise<OutputFile[]> {
  const files: OutputFile[] = [];
  let weights: TensorToWrite[];
  if (model.lora) {
    const adapter = loraAdapterOf(model.params, model.values, model.lora, model.name);
    files.push({
      name: "adapter_model.safetensors",
      bytes: await safetensorsBytes(peftTensors(adapter), "adapter_model.safetensors"),
      type: "application/octet-stream",
    });
    files.push({ name: "adapter_config.json", bytes: json(peftAdapterConfig(adapter)), type: "application/json" });
    // The GGUF is the merged model: W + scale·B·A folded into each adapted weight.
    const scale = loraScale(adapter);
    weights = model.source.names.map((name) => {
      const module = adapter.modules.get(name.replace(/\.weight$/, ""));
      // rows of tokens the run added to the vocabulary (the ChatML markers), trained beside the adapter
      const rows = adapter.tokenRows?.get(name);
      return {
        name,
        dtype: "F32" as const,
        shape: model.source.shape(name),
        data: async () => {
          const w = Float32Array.from(await model.source.read(name));
          const merged = module ? mergeLoraWeight(w, module, adapter.rank, scale) : w;
          return rows ? replaceTokenRows(merged, model.source.shape(name)[0]!, rows) : merged;
        },
      };
    });
  } else {
    weights = model.params.map((p) => ({ name: p.name, dtype: "F32" as const, shape: p.shape, data: model.values.get(p.name)! }));
  }
  progress("model.safetensors");
  const modelBytes = await safetensorsBytes(weights, "model.safetensors");
  files.push({ name: "model.safetensors", bytes: modelBytes, type: "application/octet-stream" });
  files.push({ name: "config.json", bytes: json(model.rawConfig), type: "application/json" });
  files.push({ name: "tokenizer.json", bytes: json(model.tokenizer.tokenizer), type: "application/json" });
  files.push({ name: "tokenizer_config.json", bytes: json(model.tokenizer.config), type: "application/json" });
  files.push({ name: "train_config.json", bytes: json(model.settings), type: "application/json" });

  const outType = settings.outType ?? "F16";
  progress(`GGUF ${outType}`);
  const checkpoint = await SafetensorsFile.fromSource(memorySource(modelBytes, "model.safetensors"));
  const sink = memorySink("model.gguf");
  await convertModel(
    hfModel({
      dir: model.name,
      config: model.rawConfig,
      checkpoint,
      tokenizer: model.tokenizer.tokenizer,
      tokenizerConfig: model.tokenizer.config,
    }),
    sink,
    { outType, name: settings.name ?? model.name },
  );
  await checkpoint.close();
  files.unshift({
    name: `${safeName(settings.name ?? model.name)}-${outType.toLowerCase()}.gguf`,
    bytes: sink.bytes(),
    type: "application/octet-stream",
  });
  return files;
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "model";
