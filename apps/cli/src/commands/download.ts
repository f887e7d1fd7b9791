import { ModelSourceError, resolveModel } from "@neural/lora-trainer";
import { EXIT, type Command } from "../command.js";
import { downloadReporter, HF_TOKEN_OPTION, hubAccess, modelSourceMessage } from "../download.js";

export const downloadCommand: Command = {
  name: "download",
  positionals: [
    { name: "model", description: 'a Hugging Face model id, e.g. "Qwen/Qwen2.5-0.5B-Instruct" (optionally @revision)', required: true },
  ],
  options: [{ name: "revision", type: "string", description: "branch, tag or commit", default: "main" }, HF_TOKEN_OPTION],
  async run(args, io) {
    const spec = args.positionals[0]!;
    try {
      const resolved = await resolveModel(spec, {
        revision: args.options.revision as string,
        ...hubAccess(args.options.hf_token),
        onProgress: downloadReporter(io),
      });
      io.status("");
      io.out(
        `${spec}: ${resolved.dir} (${resolved.source === "download" ? "downloaded" : resolved.source === "cache" ? "already in the cache" : "a local directory"})`,
      );
      return EXIT.ok;
    } catch (error) {
      io.status("");
      if (error instanceof ModelSourceError) {
        io.err(`neural download: ${modelSourceMessage(error)}`);
        return EXIT.problems;
      }
      throw error;
    }
  },
};
