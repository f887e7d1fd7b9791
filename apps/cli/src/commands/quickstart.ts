// The whole path on a built-in default, offline: generate a TLP dataset, train a BPE tokenizer and a small model from
// scratch on the domain's text, fine-tune it with LoRA to answer in ChatML (NornicDB's serving format), export Q8_0
// and Q4_K_M GGUF files, and ask llama.cpp the held-out questions.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { saveTokenizer, trainTokenizer } from "@neural/dataset";
import { runGenerator } from "@neural/generators";
import { tlpGenerator } from "@neural/generator-tlp";
import { CHATML_STOP, LlamaModelProcess, chatmlPrompt } from "@neural/llama";
import { resolveTrainConfig, type TrainConfig } from "@neural/lora-trainer";
import { checkNumber, UsageError } from "../args.js";
import { EXIT, type Command, type Io } from "../command.js";
import { defaultModelfilePath } from "./modelfile.js";
import { exportQuickstartGgufs } from "./quickstart-export.js";
import { heimdallQuickstart } from "./quickstart-heimdall.js";
import { trainInWorker } from "./train.js";

interface Row {
  instruction: string;
  input: string;
  output: string;
  category: string;
}

export const quickstart: Command = {
  name: "quickstart",
  options: [
    {
      name: "task",
      type: "string",
      description: "tlp: TLP 2.0 classification; heimdall: NornicDB's Heimdall assistant, judged by NornicDB's acceptance rules",
      default: "tlp",
      choices: ["tlp", "heimdall"],
    },
    { name: "output_dir", type: "string", description: "where everything is written", default: "quickstart" },
    { name: "seed", type: "number", description: "seed of the data, the split and the initialization", default: 42 },
    { name: "threads", type: "number", description: "CPU threads for training (default: all cores)" },
    {
      name: "pretrain_rows",
      type: "number",
      description: "documents for the from-scratch stage (heimdall: rows whose short parts are its texts, default 1200)",
      default: 2000,
    },
    {
      name: "finetune_rows",
      type: "number",
      description: "questions for the LoRA stage (10 % held out; heimdall: rows, default 160; heimdall model default: 64 wide, 2 layers)",
      default: 1500,
    },
    { name: "heldout_rows", type: "number", description: "heimdall: rows held out for the final table", default: 50 },
    { name: "vocab_size", type: "number", description: "heimdall: tokens of the BPE tokenizer", default: 4096 },
    { name: "hidden_size", type: "number", description: "size of the new model", default: 128 },
    { name: "num_hidden_layers", type: "number", description: "layers of the new model", default: 4 },
    { name: "pretrain_epochs", type: "number", description: "passes over the documents", default: 2 },
    { name: "finetune_epochs", type: "number", description: "passes over the questions", default: 3 },
  ],
  async run(args, io) {
    const o = args.options;
    for (const name of ["pretrain_rows", "finetune_rows", "hidden_size", "num_hidden_layers", "threads", "seed"])
      checkNumber(args, name, { integer: true, min: name === "seed" ? 0 : 1 });
    for (const name of ["pretrain_epochs", "finetune_epochs"]) checkNumber(args, name, { above: 0 });
    if ((o.hidden_size as number) % 4 !== 0)
      throw new UsageError(`--hidden_size must be a multiple of 4 (the new model's attention heads), got ${String(o.hidden_size)}`);
    if (o.task === "heimdall") {
      for (const name of ["heldout_rows", "vocab_size"]) checkNumber(args, name, { integer: true, min: 1 });
      const given = (name: string, fallback: number) => (args.given.has(name) ? (o[name] as number) : fallback);
      return heimdallQuickstart(
        {
          out: o.output_dir === "quickstart" ? "quickstart-heimdall" : (o.output_dir as string),
          seed: o.seed as number,
          ...(o.threads !== undefined ? { threads: o.threads as number } : {}),
          pretrainRows: given("pretrain_rows", 1200),
          finetuneRows: given("finetune_rows", 160),
          heldOutRows: o.heldout_rows as number,
          hiddenSize: given("hidden_size", 64),
          layers: given("num_hidden_layers", 2),
          pretrainEpochs: given("pretrain_epochs", 6),
          finetuneEpochs: given("finetune_epochs", 3),
          vocabSize: o.vocab_size as number,
        },
        io,
      );
    }
    const out = o.output_dir as string;
    const seed = o.seed as number;
    const threads = (o.threads as number | undefined) ?? undefined;
    const started = Date.now();
    const step = (n: number, text: string) => io.err(`\n[${n}/6] ${text} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    await mkdir(path.join(out, "data"), { recursive: true });

    step(1, "generating a TLP 2.0 classification dataset");
    const total = (o.pretrain_rows as number) + (o.finetune_rows as number);
    const all = path.join(out, "data", "tlp.jsonl");
    await runGenerator(tlpGenerator, { count: total, seed, output: all, format: "instruction" });
    const rows = (await readFile(all, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Row);
    const pretrain = rows.slice(0, o.pretrain_rows as number);
    const finetune = rows.slice(o.pretrain_rows as number);
    const textFile = path.join(out, "data", "pretrain.jsonl");
    const chatFile = path.join(out, "data", "finetune.jsonl");
    // Stage 1 reads the domain as plain text: descriptions, labels and the reasons behind them.
    await writeFile(textFile, pretrain.map((r) => JSON.stringify({ text: `${r.input}\n${r.output}` })).join("\n") + "\n");
    // Stage 2 asks the question as NornicDB would and expects the label alone.
    await writeFile(
      chatFile,
      finetune
        .map((r) =>
          JSON.stringify({
            messages: [
              { role: "user", content: `${r.instruction}\n\n${r.input}` },
              { role: "assistant", content: r.output.split("\n")[0] },
            ],
            category: r.category,
          }),
        )
        .join("\n") + "\n",
    );
    io.err(`${all}: ${rows.length} rows -> ${textFile} (${pretrain.length} documents), ${chatFile} (${finetune.length} questions)`);

    step(2, "training a byte-level BPE tokenizer with ChatML special tokens");
    const tokenizerDir = path.join(out, "tokenizer");
    const trained = await trainTokenizer(
      (function* () {
        yield "system\nuser\nassistant\n";
        for (const r of rows) yield `${r.instruction}\n\n${r.input}\n${r.output}`;
      })(),
      { vocabSize: 2048 },
    );
    await saveTokenizer(tokenizerDir, trained);
    io.err(`${tokenizerDir}: ${trained.vocabSize} tokens`);

    const common: Partial<TrainConfig> = {
      max_length: 256,
      batch_size: 16,
      gradient_accumulation: 1,
      weight_decay: 0,
      gradient_checkpointing: false,
      logging_steps: 10,
      eval_steps: 50,
      save_steps: 50,
      seed,
      device: "cpu",
      max_new_tokens: 16,
      ...(threads !== undefined ? { threads } : {}),
    };
    const hidden = o.hidden_size as number;
    step(3, `training a ${o.num_hidden_layers as number}-layer, ${hidden}-wide model from scratch on the documents`);
    const baseDir = path.join(out, "base");
    const base = await trainInWorker(
      resolveTrainConfig({
        flags: {
          ...common,
          from_scratch: true,
          tokenizer: tokenizerDir,
          hidden_size: hidden,
          num_hidden_layers: o.num_hidden_layers as number,
          num_attention_heads: 4,
          intermediate_size: 2 * hidden,
          dataset: textFile,
          output_dir: baseDir,
          epochs: o.pretrain_epochs as number,
          learning_rate: 2e-3,
          warmup_steps: 20,
          eval_generate: false,
        },
      }).config,
      io,
    );
    if (base.code !== EXIT.ok) return base.code;

    step(4, "fine-tuning it with LoRA to answer TLP questions in ChatML");
    const adapterDir = path.join(out, "adapter");
    const tuned = await trainInWorker(
      resolveTrainConfig({
        flags: {
          ...common,
          base_model: baseDir,
          dataset: chatFile,
          output_dir: adapterDir,
          epochs: o.finetune_epochs as number,
          learning_rate: 2e-3,
          warmup_steps: 10,
          lora_r: 16,
          lora_alpha: 32,
          lora_dropout: 0,
          eval_steps: 1000,
        },
      }).config,
      io,
    );
    if (tuned.code !== EXIT.ok) return tuned.code;

    step(5, "merging the adapter and exporting GGUF (Q8_0, Q4_K_M)");
    const { mergedDir, ggufs } = await exportQuickstartGgufs(
      { out, adapterDir, baseDir, task: "tlp", command: "neural quickstart", ...(threads !== undefined ? { threads } : {}) },
      io,
    );

    step(6, "asking llama.cpp the held-out questions");
    const heldOut = (await readFile(path.join(adapterDir, "eval_split.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
    const answers: Record<string, string[]> = {};
    for (const [type, file] of Object.entries(ggufs)) answers[type] = await askLlamaCpp(file, heldOut, io);
    const expected = heldOut.map((r) => r.messages.at(-1)!.content.trim());
    const accuracy = (type: string) => answers[type]!.filter((a, i) => a === expected[i]).length / expected.length;
    const engine = new Map((tuned.result?.lastEval?.samples ?? []).map((s) => [s.prompt, s.generated]));
    const agreement = heldOut.filter((r, i) => {
      const ours = engine.get(r.messages.findLast((m) => m.role === "user")!.content);
      return ours !== undefined && ours === answers.Q8_0![i];
    }).length;
    const compared = heldOut.filter((r) => engine.has(r.messages.findLast((m) => m.role === "user")!.content)).length;

    printTable(io, heldOut, expected, answers);
    const summary = {
      heldOut: expected.length,
      accuracy: Object.fromEntries(Object.keys(ggufs).map((t) => [t, accuracy(t)])),
      engineAgreementQ8_0: compared ? agreement / compared : null,
      lossCurves: [path.join(baseDir, "loss_curve.svg"), path.join(adapterDir, "loss_curve.svg")],
      files: { dataset: all, tokenizer: tokenizerDir, base: baseDir, adapter: adapterDir, merged: mergedDir, ...ggufs },
      seconds: Math.round((Date.now() - started) / 1000),
    };
    await writeFile(path.join(out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
    io.out("");
    for (const t of Object.keys(ggufs))
      io.out(`accuracy through llama.cpp, ${t}: ${(100 * accuracy(t)).toFixed(1)}% of ${expected.length} held-out questions`);
    if (compared) io.out(`llama.cpp (Q8_0) gives our engine's answer on ${agreement} of ${compared} questions`);
    io.out(`loss curves: ${summary.lossCurves.join(", ")}`);
    io.out(`files: ${Object.values(summary.files).join(", ")}, ${path.join(out, "summary.json")}`);
    // From a checkout (the TypeScript sources) the command is pnpm's; installed, it is `neural`.
    const neural = import.meta.url.endsWith(".ts") ? "npx -y pnpm@12.4.2 neural" : "neural";
    io.out(`try it: ${neural} run ${ggufs.Q8_0}   (or with Ollama: ollama create tlp -f ${defaultModelfilePath(ggufs.Q8_0!)})`);
    io.out(`done in ${summary.seconds} s`);
    return EXIT.ok;
  },
};

/** Greedy answers from llama.cpp (child process) to each conversation's last question, as NornicDB would ask it. */
async function askLlamaCpp(file: string, rows: { messages: { role: string; content: string }[] }[], io: Io): Promise<string[]> {
  const model = await LlamaModelProcess.load(file, { contextSize: 512 });
  try {
    const out: string[] = [];
    for (const [i, row] of rows.entries()) {
      io.status(`llama.cpp ${path.basename(file)}: ${i + 1}/${rows.length}`);
      const generation = await model.generate(chatmlPrompt(row.messages.slice(0, -1)), { maxTokens: 16, stop: CHATML_STOP });
      out.push(generation.text.trim());
    }
    io.status("");
    return out;
  } finally {
    await model.close();
  }
}

function printTable(
  io: Io,
  rows: { messages: { role: string; content: string }[] }[],
  expected: string[],
  answers: Record<string, string[]>,
): void {
  const types = Object.keys(answers);
  const width = 60;
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n));
  io.out(`\n${cut("held-out question (information)", width)}  ${cut("expected", 17)}  ${types.map((t) => cut(t, 19)).join("  ")}`);
  rows.forEach((row, i) => {
    const question =
      row.messages
        .at(-2)!
        .content.split("\n")
        .find((l) => /^[A-Z][a-z ]+: /.test(l))
        ?.replace(/^[^:]+: /, "") ?? row.messages.at(-2)!.content;
    const marks = types.map((t) => cut(`${answers[t]![i] === expected[i] ? "✓" : "✗"} ${answers[t]![i]}`, 19));
    io.out(`${cut(question, width)}  ${cut(expected[i]!, 17)}  ${marks.join("  ")}`);
  });
}
