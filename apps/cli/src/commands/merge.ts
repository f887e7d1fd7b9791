import { AdapterError, mergeAdapter, ModelSourceError } from "@neural/lora-trainer";
import { SafetensorsError } from "@neural/safetensors";
import { EXIT, type Command } from "../command.js";
import { downloadReporter, HF_TOKEN_OPTION, hubAccess, modelSourceMessage } from "../download.js";

export const mergeCommand: Command = {
  name: "merge",
  options: [
    {
      name: "model_dir",
      type: "string",
      description: "the adapter directory (adapter_config.json, adapter_model.safetensors)",
      unset: "required",
    },
    {
      name: "base_model",
      type: "string",
      description: "base model directory or Hugging Face id (default: the adapter's base_model_name_or_path)",
    },
    { name: "output", type: "string", description: "directory for the merged model", unset: "required" },
    { name: "dtype", type: "string", description: "element type of the merged weights", choices: ["F32", "F16", "BF16"], default: "F32" },
    HF_TOKEN_OPTION,
  ],
  async run(args, io) {
    const o = args.options;
    if (o.model_dir === undefined || o.output === undefined) {
      io.err("neural merge: --model_dir and --output are required");
      return EXIT.usage;
    }
    try {
      const result = await mergeAdapter({
        adapterDir: o.model_dir as string,
        ...(o.base_model !== undefined ? { baseModel: o.base_model as string } : {}),
        outputDir: o.output as string,
        dtype: o.dtype as "F32" | "F16" | "BF16",
        onProgress: (done, total, tensor) => io.status(`merge: [${done + 1}/${total}] ${tensor}`),
        modelSource: { ...hubAccess(o.hf_token), onProgress: downloadReporter(io) },
      });
      io.status("");
      io.out(`merged ${result.merged} adapted weights into ${result.baseDir} -> ${result.outputDir}`);
      return EXIT.ok;
    } catch (error) {
      if (error instanceof AdapterError || error instanceof ModelSourceError || error instanceof SafetensorsError) {
        io.status("");
        io.err(`neural merge: ${error instanceof ModelSourceError ? modelSourceMessage(error) : error.message}`);
        return EXIT.problems;
      }
      throw error;
    }
  },
};
