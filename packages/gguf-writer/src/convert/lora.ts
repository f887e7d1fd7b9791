// A PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) -> a GGUF adapter that llama.cpp applies at
// load time (general.type = adapter, adapter.type = lora, adapter.lora.alpha), as llama.cpp's convert_lora_to_gguf.py
// lays it out: for each adapted weight W (GGUF name N), N.lora_a with ne = [in, r] and N.lora_b with ne = [r, out];
// lora_b's rows get the same q/k permutation as W's rows.
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { openCheckpoint, openFileSink, type ByteSink } from "@neural/safetensors";
import { GgufStreamWriter } from "../writer.js";
import { gv, type GgmlTypeName, type GgufValue } from "../types.js";
import { parseHfConfig } from "@neural/hf-config";
import { archInfo, mapTensorName, permuteRows } from "./arch.js";
import { streamTensors, type ConvertProgress, type ConvertResult, type PlannedTensor } from "./model.js";
import { GgufConvertError } from "./errors.js";

export interface LoraConvertOptions {
  /** PEFT adapter directory. */
  adapterDir: string;
  /** The base model directory (only its config.json is read). */
  baseModelDir: string;
  output?: string;
  sink?: ByteSink;
  /** F32 (default) or F16. */
  outType?: "F32" | "F16";
  name?: string;
  onProgress?: (p: ConvertProgress) => void;
  /** Write weights that are NaN, infinite or too large for F16 as they come (default: NonFiniteTensorError). */
  allowNonFinite?: boolean;
}

export interface PeftAdapterConfig {
  r: number;
  lora_alpha: number;
  use_rslora?: boolean;
  use_dora?: boolean;
  target_modules?: string[] | string;
  rank_pattern?: Record<string, number>;
  alpha_pattern?: Record<string, number>;
  base_model_name_or_path?: string;
  [key: string]: unknown;
}

/** True if `dir` holds a PEFT adapter (adapter_config.json). */
export async function isAdapterDir(dir: string): Promise<boolean> {
  return readFile(join(dir, "adapter_config.json")).then(
    () => true,
    () => false,
  );
}

export async function readAdapterConfig(dir: string): Promise<PeftAdapterConfig> {
  const path = join(dir, "adapter_config.json");
  let cfg: PeftAdapterConfig;
  try {
    cfg = JSON.parse(await readFile(path, "utf8")) as PeftAdapterConfig;
  } catch (error) {
    throw new GgufConvertError(`cannot read: ${(error as Error).message}`, path);
  }
  if (!Number.isInteger(cfg.r) || cfg.r <= 0) throw new GgufConvertError(`r must be a positive integer, got ${cfg.r}`, path, "r");
  if (typeof cfg.lora_alpha !== "number" || !Number.isFinite(cfg.lora_alpha))
    throw new GgufConvertError("lora_alpha must be a number", path, "lora_alpha");
  if (cfg.use_dora) throw new GgufConvertError("DoRA adapters cannot be applied by llama.cpp; merge them instead", path, "use_dora");
  if (cfg.alpha_pattern && Object.keys(cfg.alpha_pattern).length) {
    throw new GgufConvertError(
      "per-module lora_alpha (alpha_pattern) cannot be expressed in a GGUF adapter (one alpha)",
      path,
      "alpha_pattern",
    );
  }
  return cfg;
}

/** Writes a PEFT LoRA adapter as a GGUF adapter for the base model's architecture. */
export async function convertLoraToGguf(options: LoraConvertOptions): Promise<ConvertResult> {
  const cfg = await readAdapterConfig(options.adapterDir);
  const configPath = join(options.baseModelDir, "config.json");
  let config: Record<string, any>;
  try {
    config = JSON.parse(await readFile(configPath, "utf8"));
  } catch (error) {
    throw new GgufConvertError(`cannot read the base model's config: ${(error as Error).message}`, configPath);
  }
  const hp = parseHfConfig(config, configPath);
  const info = archInfo(hp);
  const outType: GgmlTypeName = options.outType ?? "F32";
  const weightsPath = join(options.adapterDir, "adapter_model.safetensors");
  const ckpt = await openCheckpoint(weightsPath).catch((error: Error) => {
    throw new GgufConvertError(error.message, weightsPath);
  });
  try {
    const pairs = new Map<string, { a?: string; b?: string }>();
    for (const name of ckpt.names) {
      const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.default)?\.weight$/.exec(name);
      if (!m) {
        // a GGUF adapter cannot grow the vocabulary or replace embedding rows: only a merged model carries them
        const why = name.includes(".token_adapter.")
          ? "rows of tokens added to the vocabulary: merge the adapter first (neural merge), then export the merged model"
          : "embedding or modules_to_save adapters are not supported";
        throw new GgufConvertError(`not a lora_A/lora_B tensor (${why})`, weightsPath, name);
      }
      const base = `${m[1]}.weight`;
      const entry = pairs.get(base) ?? {};
      if (m[2] === "A") entry.a = name;
      else entry.b = name;
      pairs.set(base, entry);
    }
    if (!pairs.size) throw new GgufConvertError("the adapter has no LoRA tensors", weightsPath);
    const planned: PlannedTensor[] = [];
    for (const [base, { a, b }] of pairs) {
      if (!a || !b) throw new GgufConvertError("lora_A and lora_B must come in pairs", weightsPath, base);
      const mapping = mapTensorName(base, info, hp, weightsPath);
      if (!mapping || !mapping.name.endsWith(".weight") || mapping.name === "token_embd.weight") {
        throw new GgufConvertError("adapted module has no GGUF weight llama.cpp can adapt", weightsPath, base);
      }
      const [r, inp] = ckpt.info(a).shape as [number, number];
      const [out, rb] = ckpt.info(b).shape as [number, number];
      if (ckpt.info(a).shape.length !== 2 || ckpt.info(b).shape.length !== 2 || rb !== r) {
        throw new GgufConvertError(
          `lora_A [${ckpt.info(a).shape}] and lora_B [${ckpt.info(b).shape}] do not fit together`,
          weightsPath,
          base,
        );
      }
      const heads = mapping.permuteHeads;
      if (heads !== undefined && out !== heads * hp.headDim)
        throw new GgufConvertError(`${out} rows are not ${heads} heads`, weightsPath, b);
      planned.push({
        name: `${mapping.name}.lora_a`,
        ne: [inp, r],
        type: outType,
        rows: r,
        cols: inp,
        rowGroup: 1,
        read: (start, count) => ckpt.readFloat32(a, { start, count }),
        source: { file: ckpt.info(a).file, tensor: a },
      });
      planned.push({
        name: `${mapping.name}.lora_b`,
        ne: [r, out],
        type: outType,
        rows: out,
        cols: r,
        rowGroup: heads !== undefined ? hp.headDim : 1,
        read:
          heads !== undefined
            ? async (start, count) => permuteRows(await ckpt.readFloat32(b, { start, count }), count, r, hp.headDim)
            : (start, count) => ckpt.readFloat32(b, { start, count }),
        source: { file: ckpt.info(b).file, tensor: b },
      });
    }
    planned.sort((x, y) => {
      const lx = Number(/^blk\.(\d+)\./.exec(x.name)?.[1] ?? -1);
      const ly = Number(/^blk\.(\d+)\./.exec(y.name)?.[1] ?? -1);
      return lx - ly || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0);
    });
    // llama.cpp scales by alpha / rank (rank = lora_a's ne[1]); rsLoRA scales by alpha / sqrt(r).
    const alpha = cfg.use_rslora ? cfg.lora_alpha * Math.sqrt(cfg.r) : cfg.lora_alpha;
    if (cfg.use_rslora && cfg.rank_pattern && Object.keys(cfg.rank_pattern).length) {
      throw new GgufConvertError(
        "rsLoRA with per-module ranks cannot be expressed with one alpha",
        join(options.adapterDir, "adapter_config.json"),
        "rank_pattern",
      );
    }
    // An adapter's name is a label only: llama.cpp's tokenizer rules read the base model's.
    const name = options.name ?? basename(options.adapterDir);
    const metadata: Array<[string, GgufValue]> = [
      ["general.architecture", gv.str(info.arch)],
      ["general.type", gv.str("adapter")],
      ["general.name", gv.str(name)],
      ["adapter.type", gv.str("lora")],
      ["adapter.lora.alpha", gv.f32(alpha)],
      ["general.quantization_version", gv.u32(2)],
    ];
    if (!options.sink && !options.output) throw new GgufConvertError("no output path or sink given", options.adapterDir, "output");
    const sink = options.sink ?? (await openFileSink(options.output!));
    let writer: GgufStreamWriter;
    try {
      writer = new GgufStreamWriter(sink, metadata, planned);
    } catch (error) {
      await sink.abort();
      throw error;
    }
    try {
      await streamTensors(writer, planned, options);
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return {
      output: options.output ?? sink.name,
      arch: info.arch,
      outType: outType,
      tensors: writer.layout.tensors.map((t) => ({ name: t.name, type: t.type, ne: [...t.ne], bytes: t.bytes })),
      fileSize: writer.layout.fileSize,
      name,
      warnings: [],
    };
  } finally {
    await ckpt.close();
  }
}
