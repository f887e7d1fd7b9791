import { DatasetError, datasetTexts, saveTokenizer, trainTokenizer, type PreTokenizerName } from "@neural/dataset";
import { EXIT, type Command } from "../command.js";

export const tokenizerTrain: Command = {
  name: "tokenizer train",
  options: [
    { name: "dataset", type: "string", description: "JSONL dataset to learn from", unset: "required" },
    { name: "vocab_size", type: "number", description: "vocabulary size including special tokens", default: 4096 },
    { name: "output", type: "string", description: "directory for tokenizer.json and tokenizer_config.json", unset: "required" },
    {
      name: "pretokenizer",
      type: "string",
      description: "split pattern llama.cpp knows by name",
      choices: ["qwen2", "llama-bpe", "gpt-2"],
      default: "qwen2",
    },
    { name: "min_frequency", type: "number", description: "merge only pairs seen at least this often", default: 2 },
  ],
  async run(args, io) {
    const o = args.options;
    if (o.dataset === undefined || o.output === undefined) {
      io.err("neural tokenizer train: --dataset and --output are required");
      return EXIT.usage;
    }
    try {
      const t0 = performance.now();
      const trained = await trainTokenizer(datasetTexts(o.dataset as string), {
        vocabSize: o.vocab_size as number,
        pretokenizer: o.pretokenizer as PreTokenizerName,
        minFrequency: o.min_frequency as number,
        onProgress: (done, total) => io.status(`tokenizer: ${done}/${total} merges`),
      });
      io.status("");
      await saveTokenizer(o.output as string, trained);
      io.out(
        `tokenizer: ${trained.vocabSize} tokens (${trained.merges} merges, pre-tokenizer ${o.pretokenizer as string}) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${o.output as string}`,
      );
      if (trained.vocabSize < (o.vocab_size as number))
        io.err(`note: the data supports only ${trained.vocabSize} tokens (asked for ${o.vocab_size as number})`);
      return EXIT.ok;
    } catch (error) {
      if (error instanceof DatasetError || error instanceof RangeError) {
        io.err(`neural tokenizer train: ${error.message}`);
        return error instanceof DatasetError ? EXIT.problems : EXIT.usage;
      }
      throw error;
    }
  },
};
