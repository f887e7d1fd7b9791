import type { CommandEntry } from "../command.js";
import { generatorNames } from "./generate.js";

// One line per command, each implemented in its own file in this folder and imported only when it runs.
export const commands: CommandEntry[] = [
  {
    name: "quickstart",
    summary: "Generate a dataset, train a model from scratch, fine-tune it with LoRA, export GGUF and check it in llama.cpp",
    load: async () => (await import("./quickstart.js")).quickstart,
  },
  {
    name: "validate",
    summary: "Check a dataset: formats, errors with their lines, duplicates, lengths, category balance, Cypher",
    load: async () => (await import("./validate.js")).validate,
  },
  {
    name: "tokenizer train",
    summary: "Train a byte-level BPE tokenizer (with ChatML special tokens) on a dataset",
    load: async () => (await import("./tokenizer.js")).tokenizerTrain,
  },
  {
    name: "prepare",
    summary: "Run the data pipeline (read, template, tokenize, mask, split, pack) and report what training would see",
    load: async () => (await import("./prepare.js")).prepare,
  },
  {
    name: "download",
    summary: "Fetch a Hugging Face model into the local cache (config, tokenizer, safetensors), to train offline later",
    load: async () => (await import("./download.js")).downloadCommand,
  },
  {
    name: "train",
    summary: "Fine-tune (LoRA or full) or train from scratch on a JSONL dataset",
    load: async () => (await import("./train.js")).trainCommand,
  },
  {
    name: "merge",
    summary: "Fold a LoRA adapter into its base model (W + scale·B·A) and write a Hugging Face model directory",
    load: async () => (await import("./merge.js")).mergeCommand,
  },
  {
    name: "export",
    summary:
      "Convert a Hugging Face model directory to GGUF for llama.cpp (quantized natively, no llama.cpp build), with an Ollama Modelfile",
    load: async () => (await import("./export.js")).exportCommand,
  },
  {
    name: "inspect",
    summary: "Show a GGUF file's metadata and tensors, a Hugging Face model folder's family and shapes, or (--families) what neural trains",
    load: async () => (await import("./inspect.js")).inspect,
  },
  {
    name: "run",
    summary: "Chat with a GGUF model through llama.cpp: one answer to --prompt (or piped stdin), or an interactive chat in a terminal",
    load: async () => (await import("./run.js")).runCommand,
  },
  {
    name: "eval",
    summary: "Exact-match accuracy of a GGUF model over a dataset (ChatML prompts, greedy answers through llama.cpp), per category",
    load: async () => (await import("./eval.js")).evalCommand,
  },
  {
    name: "pairs",
    summary:
      "Preference pairs from a GGUF model's own answers: sample through llama.cpp, score with a verifier, pair a passing answer with a failing one",
    load: async () => (await import("./pairs.js")).pairsCommand,
  },
  {
    name: "generate",
    summary: `Generate a synthetic dataset: ${generatorNames.join(", ")} (neural generate <name> --help)`,
    load: async (args) => (await import("./generate.js")).generateCommands(args),
  },
];
