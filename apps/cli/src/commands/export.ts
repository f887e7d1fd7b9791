import { mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { AdapterError, mergeAdapter, ModelSourceError } from "@neural/lora-trainer";
import {
  GGUF_ARCHITECTURES,
  NonFiniteTensorError,
  OUT_TYPES,
  convertHfToGguf,
  convertLoraToGguf,
  isAdapterDir,
  openGguf,
  readAdapterConfig,
  type ConvertProgress,
  type ConvertResult,
  type OutType,
} from "@neural/gguf-writer";
import { CHATML_STOP, LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { QuantizePool } from "@neural/quantize/parallel";
import { removeDeadTempFiles } from "@neural/safetensors";
import { checkNumber } from "../args.js";
import { EXIT, type Command, type Io } from "../command.js";
import { downloadReporter, HF_TOKEN_OPTION, hubAccess, modelSourceMessage } from "../download.js";
import { version } from "../run.js";
import { defaultModelfilePath, fromPath, modelfileTemplate, renderModelfile } from "./modelfile.js";

/** llama-quantize's usual mixes: the ones we cannot write are accepted here and refused with a clear message. */
const CHOICES = [...OUT_TYPES, "Q3_K_M", "Q3_K_S", "Q2_K"] as const;

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export const exportCommand: Command = {
  name: "export",
  options: [
    {
      name: "model_dir",
      type: "string",
      description:
        "HF model directory (config.json, *.safetensors, tokenizer.json), a LoRA adapter directory, or a run's checkpoint folder",
      unset: "required",
    },
    {
      name: "output",
      type: "string",
      description: "the .gguf file to write (written to a temp file, renamed when complete)",
      unset: "required",
    },
    { name: "quantization", type: "string", description: "tensor type mix", choices: CHOICES, default: "Q4_K_M" },
    { name: "no_quantize", type: "boolean", description: "write F16 (same as --quantization F16)" },
    {
      name: "base_model",
      type: "string",
      description: "base model directory for an adapter (default: adapter_config.json's base_model_name_or_path)",
    },
    {
      name: "lora_adapter",
      type: "boolean",
      description: "write a LoRA adapter directory as a GGUF adapter that llama.cpp applies at load time",
    },
    {
      name: "name",
      type: "string",
      description:
        "general.name (default: the model's, from config.json _name_or_path, else its family's; llama.cpp keys tokenizer rules on it)",
    },
    { name: "threads", type: "number", description: "quantization worker threads (0: all cores)", default: 0 },
    {
      name: "allow_non_finite",
      type: "boolean",
      description: "write weights that are NaN, infinite or too large for their type as they are (llama.cpp computes garbage from them)",
    },
    { name: "verify", type: "boolean", description: "load the result in llama.cpp (child process), generate from a ChatML prompt, report" },
    { name: "verify_prompt", type: "string", description: "user message for --verify", default: "Hello! In one sentence, what are you?" },
    { name: "modelfile", type: "string", description: "where to write the Ollama Modelfile (default: beside the GGUF, NAME.Modelfile)" },
    { name: "no_modelfile", type: "boolean", description: "write no Ollama Modelfile" },
    { name: "json", type: "boolean", description: "print the result as JSON" },
    HF_TOKEN_OPTION,
  ],
  async run(args, io) {
    const o = args.options;
    const modelDir = o.model_dir as string | undefined;
    const output = o.output as string | undefined;
    if (!modelDir || !output) {
      io.err("neural export: --model_dir and --output are required\n(see neural export --help)");
      return EXIT.usage;
    }
    if (!output.endsWith(".gguf")) {
      io.err(`neural export: --output must end in .gguf (got "${output}")`);
      return EXIT.usage;
    }
    checkNumber(args, "threads", { integer: true, min: 0 });
    let quantization = o.quantization as string;
    if (o.no_quantize) {
      if (args.given.has("quantization") && quantization !== "F16") {
        io.err(`neural export: --no_quantize writes F16 but --quantization ${quantization} was given`);
        return EXIT.usage;
      }
      quantization = "F16";
    }
    if (!(OUT_TYPES as readonly string[]).includes(quantization)) {
      io.err(`neural export: ${quantization} is not supported; choose one of ${OUT_TYPES.join(", ")}`);
      return EXIT.usage;
    }
    await mkdir(dirname(output) || ".", { recursive: true });
    await removeDeadTempFiles(dirname(output) || ".");
    const started = Date.now();
    const onProgress = (p: ConvertProgress) =>
      io.status(`export: [${p.index + 1}/${p.total}] ${p.tensor}  ${mb(p.bytesWritten)} / ${mb(p.totalBytes)}`);
    const refuseNonFinite = (message: string) => {
      io.status("");
      io.err(`neural export: ${message}; nothing written (--allow_non_finite writes it anyway)`);
      return EXIT.problems;
    };

    let result: ConvertResult;
    let temp: string | undefined;
    if ((await isAdapterDir(modelDir)) && !o.lora_adapter) {
      // An adapter is merged into its base first (W + scale·B·A), then exported like any model.
      const cfg = await readAdapterConfig(modelDir);
      const base =
        (o.base_model as string | undefined) ?? (typeof cfg.base_model_name_or_path === "string" ? cfg.base_model_name_or_path : undefined);
      if (base === undefined) {
        io.err(`neural export: ${modelDir} is a LoRA adapter and names no base model; give it with --base_model DIR`);
        return EXIT.usage;
      }
      temp = await mkdtemp(join(tmpdir(), "neural-merge-"));
      io.err(`export: merging the LoRA adapter ${modelDir} into ${base}`);
      try {
        await mergeAdapter({
          adapterDir: modelDir,
          baseModel: base,
          outputDir: temp,
          onProgress: (i, n, t) => io.status(`merge: [${i + 1}/${n}] ${t}`),
          modelSource: { ...hubAccess(o.hf_token), onProgress: downloadReporter(io) },
        });
      } catch (error) {
        await rm(temp, { recursive: true, force: true });
        if (error instanceof AdapterError || error instanceof ModelSourceError) {
          io.status("");
          io.err(`neural export: ${error instanceof ModelSourceError ? modelSourceMessage(error) : error.message}`);
          return EXIT.problems;
        }
        throw error;
      }
    }
    const sourceDir = temp ?? modelDir;
    if (!temp && (await isAdapterDir(modelDir))) {
      const cfg = await readAdapterConfig(modelDir);
      const base =
        (o.base_model as string | undefined) ?? (typeof cfg.base_model_name_or_path === "string" ? cfg.base_model_name_or_path : undefined);
      const baseOk = base !== undefined && (await stat(join(base, "config.json")).catch(() => undefined)) !== undefined;
      if (!baseOk) {
        io.err(
          `neural export: the adapter's base model ${base === undefined ? "is unknown" : `"${base}" is not a local model directory`}; give it with --base_model DIR`,
        );
        return EXIT.usage;
      }
      if (quantization !== "F32" && quantization !== "F16") {
        if (args.given.has("quantization"))
          io.err(`neural export: adapters are written as F32 or F16; writing F32 instead of ${quantization}`);
        quantization = "F32";
      }
      io.err(`export: LoRA adapter ${modelDir} (base ${base}) -> ${output} (${quantization})`);
      try {
        result = await convertLoraToGguf({
          adapterDir: modelDir,
          baseModelDir: base!,
          output,
          outType: quantization as "F32" | "F16",
          onProgress,
          allowNonFinite: o.allow_non_finite === true,
          ...(o.name ? { name: o.name as string } : {}),
        });
      } catch (error) {
        if (!(error instanceof NonFiniteTensorError)) throw error;
        return refuseNonFinite(error.message);
      }
    } else {
      if (o.lora_adapter) {
        io.err(`neural export: --lora_adapter needs an adapter directory (adapter_config.json) but ${modelDir} has none`);
        return EXIT.usage;
      }
      io.err(`export: ${modelDir} -> ${output} (${quantization})`);
      const pool = makePool(quantization as OutType, o.threads as number);
      try {
        result = await convertHfToGguf({
          modelDir: sourceDir,
          output,
          outType: quantization as OutType,
          onProgress,
          allowNonFinite: o.allow_non_finite === true,
          ...(pool ? { pool } : {}),
          ...(o.name !== undefined ? { name: o.name as string } : {}),
        });
      } catch (error) {
        if (!(error instanceof NonFiniteTensorError)) throw error;
        // A merged adapter's weights live in a temporary folder: name what the user gave instead.
        const message = temp ? `${modelDir} merged into its base${error.message.slice(error.file.length)}` : error.message;
        return refuseNonFinite(message);
      } finally {
        await pool?.close();
        if (temp) await rm(temp, { recursive: true, force: true });
      }
    }
    io.status("");
    for (const warning of result.warnings) io.err(`warning: ${warning}`);
    // An Ollama Modelfile with the training prompt format beside a model (an adapter GGUF needs its base: none).
    let modelfile: string | undefined;
    if (!o.no_modelfile && !o.lora_adapter) {
      modelfile = (o.modelfile as string | undefined) ?? defaultModelfilePath(output);
      const template = await modelfileTemplate([modelDir, sourceDir]);
      await writeFileAtomic(modelfile, renderModelfile(fromPath(modelfile, output), template, `neural export ${version()}`));
    }
    const seconds = (Date.now() - started) / 1000;
    const counts = new Map<string, number>();
    for (const t of result.tensors) counts.set(t.type, (counts.get(t.type) ?? 0) + 1);
    const summary = {
      output: isAbsolute(result.output) ? result.output : result.output,
      architecture: result.arch,
      name: result.name,
      quantization: result.outType,
      bytes: result.fileSize,
      tensors: result.tensors.length,
      types: Object.fromEntries(counts),
      seconds,
      ...(modelfile ? { modelfile } : {}),
    } as Record<string, unknown>;
    let ok = true;
    if (o.verify) {
      if (o.lora_adapter) {
        io.err("export: --verify loads models; an adapter is checked by loading it with its base GGUF (skipped)");
      } else {
        const v = await verify(output, o.verify_prompt as string, io);
        summary.verify = v;
        ok = v.ok;
      }
    }
    if (o.json) io.out(JSON.stringify(summary, null, 2));
    else {
      io.out(
        `${result.output}: "${result.name}", ${mb(result.fileSize)}, ${result.tensors.length} tensors (${[...counts].map(([t, n]) => `${n} ${t}`).join(", ")}), ${result.arch}, ${result.outType}, ${seconds.toFixed(1)} s`,
      );
      if (modelfile) io.out(`${modelfile}: Ollama Modelfile (ollama create ${basename(output, ".gguf")} -f ${modelfile})`);
      const v = summary.verify as VerifyReport | undefined;
      if (v) {
        io.out(`verify: ${v.ok ? "ok" : "FAILED"}: ${v.checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.what}`).join("; ")}`);
        if (v.generation !== undefined)
          io.out(`verify: ${v.tokens} tokens in ${v.seconds.toFixed(2)} s, stopped by ${v.stoppedBy}: ${JSON.stringify(v.generation)}`);
        if (v.error) io.out(`verify: ${v.error}`);
      }
    }
    return ok ? EXIT.ok : EXIT.problems;
  },
};

async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.partial-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, file).catch(async (error: unknown) => {
    await rm(temp, { force: true });
    throw error;
  });
}

/** Worker threads for the quantized mixes (@neural/quantize/parallel). */
function makePool(mix: OutType, threads: number): QuantizePool | undefined {
  if (mix === "F32" || threads === 1) return undefined;
  return new QuantizePool(threads > 0 ? { threads } : {});
}

export interface VerifyReport {
  ok: boolean;
  checks: Array<{ what: string; ok: boolean }>;
  generation?: string;
  tokens: number;
  seconds: number;
  stoppedBy?: string;
  error?: string;
}

/** Loads the file in llama.cpp (child process), checks the serving essentials, generates from a ChatML prompt. */
export async function verify(path: string, prompt: string, io: Io): Promise<VerifyReport> {
  const checks: VerifyReport["checks"] = [];
  const r = await openGguf(path);
  try {
    const tokens = (r.get("tokenizer.ggml.tokens") ?? []) as string[];
    const types = (r.get("tokenizer.ggml.token_type") ?? []) as number[];
    const control = (t: string) => {
      const i = tokens.indexOf(t);
      return i >= 0 && types[i] === 3;
    };
    const arch = String(r.get("general.architecture"));
    checks.push({ what: `architecture ${arch}`, ok: Object.values(GGUF_ARCHITECTURES).some((a) => a.arch === arch) });
    checks.push({ what: "chat template", ok: typeof r.get("tokenizer.chat_template") === "string" });
    checks.push({ what: "<|im_start|>/<|im_end|> are control tokens", ok: control("<|im_start|>") && control("<|im_end|>") });
    checks.push({ what: "eos id", ok: r.get("tokenizer.ggml.eos_token_id") !== undefined });
  } finally {
    await r.close();
  }
  io.status("verify: loading in llama.cpp...");
  const started = Date.now();
  let model: LlamaModelProcess | undefined;
  try {
    model = await LlamaModelProcess.load(path, { contextSize: 512 });
    checks.push({ what: "llama.cpp loads it", ok: true });
    const gen = await model.generate(chatmlPrompt([{ role: "user", content: prompt }]), { maxTokens: 32, stop: CHATML_STOP });
    checks.push({ what: "generates", ok: gen.tokens.length > 0 });
    io.status("");
    return {
      ok: checks.every((c) => c.ok),
      checks,
      generation: gen.text,
      tokens: gen.tokens.length,
      seconds: (Date.now() - started) / 1000,
      stoppedBy: gen.stoppedBy,
    };
  } catch (error) {
    io.status("");
    checks.push({ what: "llama.cpp loads it", ok: false });
    return { ok: false, checks, tokens: 0, seconds: (Date.now() - started) / 1000, error: (error as Error).message };
  } finally {
    await model?.close();
  }
}
