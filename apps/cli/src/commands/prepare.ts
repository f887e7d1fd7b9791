import {
  batches,
  createTokenizer,
  DatasetError,
  datasetTexts,
  epochOrder,
  formatIssue,
  IGNORE_INDEX,
  loadTokenizer,
  pack,
  packingEfficiency,
  prepareDatasetFile,
  TemplateError,
  TokenizerError,
  trainTokenizer,
  unpacked,
  type TemplateName,
  type TextTokenizer,
} from "@neural/dataset";
import { checkNumber } from "../args.js";
import { EXIT, type Command } from "../command.js";

export const prepare: Command = {
  name: "prepare",
  options: [
    { name: "dataset", type: "string", description: "JSONL dataset", default: "datasets/tlp.jsonl" },
    { name: "tokenizer", type: "string", description: "tokenizer or model dir (default: train a BPE tokenizer on the dataset)" },
    { name: "vocab_size", type: "number", description: "vocabulary of the tokenizer trained when --tokenizer is absent", default: 2048 },
    { name: "template", type: "string", description: "prompt template", choices: ["chatml", "alpaca", "model"], default: "chatml" },
    { name: "max_length", type: "number", description: "longest sequence in tokens", default: 512 },
    { name: "overlong", type: "string", description: "what to do with longer examples", choices: ["drop", "truncate"], default: "drop" },
    { name: "packing", type: "boolean", description: "pack several examples per sequence", default: true },
    { name: "batch_size", type: "number", description: "sequences per batch", default: 4 },
    { name: "validation_split", type: "number", description: "share held out for evaluation", default: 0.1 },
    { name: "train_on_inputs", type: "boolean", description: "learn the prompts too" },
    { name: "max_samples", type: "number", description: "use only the first N valid records", unset: "all" },
    { name: "seed", type: "number", description: "split and shuffle seed", default: 42 },
  ],
  async run(args, io) {
    const o = args.options;
    checkNumber(args, "vocab_size", { integer: true, min: 259 });
    checkNumber(args, "max_length", { integer: true, min: 1 });
    checkNumber(args, "batch_size", { integer: true, min: 1 });
    checkNumber(args, "validation_split", { min: 0, below: 1 });
    checkNumber(args, "max_samples", { integer: true, min: 1 });
    checkNumber(args, "seed", { integer: true, min: 0 });
    const file = o.dataset as string;
    try {
      let tokenizer: TextTokenizer;
      if (o.tokenizer !== undefined) tokenizer = await loadTokenizer(o.tokenizer as string);
      else {
        const trained = await trainTokenizer(datasetTexts(file), { vocabSize: o.vocab_size as number });
        tokenizer = createTokenizer({ tokenizer: trained.tokenizerJson, config: trained.tokenizerConfig });
        io.out(`tokenizer: trained on ${file}: ${trained.vocabSize} tokens (byte-level BPE, ChatML special tokens)`);
      }
      const maxLength = o.max_length as number;
      const data = await prepareDatasetFile(file, {
        tokenizer,
        template: o.template as TemplateName,
        maxLength,
        overlong: o.overlong as "drop" | "truncate",
        validationSplit: o.validation_split as number,
        seed: o.seed as number,
        trainOnInputs: o.train_on_inputs === true,
        ...(o.max_samples !== undefined ? { maxSamples: o.max_samples as number } : {}),
      });
      const s = data.stats;
      io.out(`dataset: ${file}: ${s.records} records, ${s.valid} valid, ${s.invalid} invalid`);
      for (const issue of s.issues.slice(0, 5)) io.out(`  ${formatIssue(issue)}`);
      if (s.invalid > 5) io.out(`  ... and ${s.invalid - 5} more`);
      const drops = Object.entries(s.dropped).filter(([, n]) => n > 0);
      io.out(`dropped: ${drops.length ? drops.map(([why, n]) => `${n} ${why.replace(/_/g, " ")}`).join(", ") : "none"}`);
      io.out(`split: ${data.train.length} train, ${data.eval.length} eval (seed ${o.seed as number})`);
      io.out(
        `train tokens: ${s.trainTokens} (${s.trainLearnedTokens} learned, ${((100 * s.trainLearnedTokens) / Math.max(1, s.trainTokens)).toFixed(1)}%)`,
      );

      const order = epochOrder(data.train.length, o.seed as number, 0).map((i) => data.train[i]!.encoded);
      const padId = tokenizer.pad?.id ?? tokenizer.eos?.id ?? 0;
      const batchOptions = { batchSize: o.batch_size as number, padId };
      const packed = batches(pack(order, maxLength), batchOptions);
      const plain = batches(unpacked(order), batchOptions);
      const chosen = o.packing ? packed : plain;
      io.out(
        `batches: ${chosen.length} of ${o.batch_size as number} (${o.packing ? "packed" : "unpacked"}); slots used: packed ${pct(packingEfficiency(packed))}, unpacked ${pct(packingEfficiency(plain))}`,
      );
      const first = data.train[0]!;
      io.out(`example (line ${first.line}, [learned] tokens in brackets):`);
      io.out(showMask(first.encoded.inputIds, first.encoded.labels, tokenizer));
      return EXIT.ok;
    } catch (error) {
      if (error instanceof DatasetError || error instanceof TokenizerError || error instanceof TemplateError) {
        io.err(`neural prepare: ${error.message}`);
        return EXIT.problems;
      }
      throw error;
    }
  },
};

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function showMask(ids: Int32Array, labels: Int32Array, tokenizer: TextTokenizer): string {
  let out = "";
  let run: number[] = [];
  let learning = false;
  const flush = () => {
    if (run.length) out += learning ? `[${tokenizer.decode(run)}]` : tokenizer.decode(run);
    run = [];
  };
  ids.forEach((id, i) => {
    const learn = labels[i] !== IGNORE_INDEX;
    if (learn !== learning) flush();
    learning = learn;
    run.push(id);
  });
  flush();
  return out;
}
