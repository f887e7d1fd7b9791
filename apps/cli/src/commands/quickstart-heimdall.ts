// `neural quickstart --task heimdall`: the TLP quickstart's path on the Heimdall pack. Generate rows in NornicDB's
// exact formats, train a BPE tokenizer and a small model from scratch on short domain texts, fine-tune it with LoRA
// on the rows (ChatML chat with the server's full system prompt, raw-text paths as the server sends them), export
// Q8_0 and Q4_K_M GGUF files, and judge the held-out rows through llama.cpp by NornicDB's own acceptance rules.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { saveTokenizer, trainTokenizer, loadTokenizer } from "@neural/dataset";
import { runGenerator } from "@neural/generators";
import { buildChatPrompt, formatReport, heimdallGenerator, type HeimdallRow } from "@neural/generator-heimdall";
import { resolveTrainConfig, type TrainConfig } from "@neural/lora-trainer";
import { EXIT, type Io } from "../command.js";
import { evaluateHeimdall } from "./eval-heimdall.js";
import { exportQuickstartGgufs } from "./quickstart-export.js";
import { trainInWorker } from "./train.js";

/** The quickstart's mix: the two paths it is judged on first, the others enough to learn their format. */
// The agentic loop is left out: its prompts (catalogue, primer and tool schemas) are the longest, and max_length sets
// the cost of every packed sequence.
export const QUICKSTART_MIX = "chat_action=42,chat_help=6,chat_direct=7,chat_rag=8,synthesis=27,autocomplete=5,qc=5";

const PRETRAIN_LENGTH = 384;

export interface HeimdallQuickstartOptions {
  out: string;
  seed: number;
  threads?: number;
  /** Rows whose short parts are the from-scratch stage's texts, rows for the LoRA stage, rows held out for the table. */
  pretrainRows: number;
  finetuneRows: number;
  heldOutRows: number;
  hiddenSize: number;
  layers: number;
  pretrainEpochs: number;
  finetuneEpochs: number;
  vocabSize: number;
}

/**
 * The end of a chat row's system prompt, short enough for stage 1: its graph-RAG context when it has one, the last
 * `examples` examples and the closing instruction — what sits right before the user's turn.
 */
function systemTail(system: string, examples: number): string {
  const context = system.indexOf("ADDITIONAL CONTEXT:\n");
  const start = system.indexOf("EXAMPLES:\n");
  const close = system.lastIndexOf("Respond with JSON action command only.");
  if (start < 0 || close < 0) return system.slice(Math.max(0, close));
  const list = system.slice(start + "EXAMPLES:\n".length, close).split(/(?<=\n\n)/);
  return (
    (context >= 0 ? system.slice(context, start) : "") + "EXAMPLES:\n" + list.slice(list.length - examples).join("") + system.slice(close)
  );
}

const textOf = (r: HeimdallRow) => ("messages" in r ? buildChatPrompt(r.messages.slice(0, -1)) + r.messages.at(-1)!.content : r.text);

export async function heimdallQuickstart(o: HeimdallQuickstartOptions, io: Io): Promise<number> {
  const started = Date.now();
  const step = (n: number, text: string) => io.err(`\n[${n}/6] ${text} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  const data = path.join(o.out, "data");

  step(1, "generating Heimdall rows in NornicDB's exact formats");
  const all = path.join(data, "heimdall.jsonl");
  // One generation, so the three parts share no row: pretraining texts, the LoRA rows, the held-out rows.
  const count = o.pretrainRows + o.finetuneRows + o.heldOutRows;
  await runGenerator(heimdallGenerator, { count, seed: o.seed, output: all, generatorOptions: { mix: QUICKSTART_MIX } });
  const rows = (await readFile(all, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as HeimdallRow);
  const pretrain = rows.slice(0, o.pretrainRows);
  const finetune = rows.slice(o.pretrainRows, o.pretrainRows + o.finetuneRows);
  const heldOut = rows.slice(o.pretrainRows + o.finetuneRows);
  const finetuneFile = path.join(data, "finetune.jsonl");
  const heldOutFile = path.join(data, "held-out.jsonl");
  // The LoRA stage also reads the pretraining rows' chat exchanges with the short end of their system prompt, whole
  // rows' answers only: many cheap, packed examples of the choice the long rows are judged on (an envelope or prose,
  // decided by the user's turn), which the full prompts alone teach too rarely for a model this small to read that turn.
  const shortChats = pretrain.flatMap((r, i) =>
    "messages" in r
      ? [{ messages: [{ role: "system", content: systemTail(r.messages[0]!.content, i % 4) }, r.messages[1]!, r.messages[2]!] }]
      : [],
  );
  await writeFile(finetuneFile, [...finetune, ...shortChats].map((r) => JSON.stringify(r)).join("\n") + "\n");
  await writeFile(heldOutFile, heldOut.map((r) => JSON.stringify(r)).join("\n") + "\n");
  // Stage 1 reads short texts: the system prompt's paragraphs once, each chat exchange as ChatML without the long
  // system prompt (the answer format and its end-of-turn token, cheaply), the short raw-text rows whole.
  const documents = new Set<string>();
  const firstChat = rows.find((r): r is Extract<HeimdallRow, { messages: unknown }> => "messages" in r);
  for (const paragraph of firstChat?.messages[0]!.content.split("\n\n") ?? []) if (paragraph.trim()) documents.add(paragraph);
  for (const [i, r] of [...pretrain, ...finetune].entries()) {
    if ("messages" in r)
      documents.add(
        `<|im_start|>system\n${systemTail(r.messages[0]!.content, i % 4)}<|im_end|>\n<|im_start|>user\n${r.messages[1]!.content}<|im_end|>\n<|im_start|>assistant\n${r.messages[2]!.content}<|im_end|>`,
      );
    // Synthesis prompts are long and their answers easy: the LoRA rows' ones are enough.
    else if (r.path === "qc" || r.path === "autocomplete" || (r.path === "synthesis" && finetune.includes(r))) documents.add(r.text);
  }
  const pretrainFile = path.join(data, "pretrain.jsonl");
  await writeFile(pretrainFile, [...documents].map((text) => JSON.stringify({ text })).join("\n") + "\n");
  io.err(
    `${all}: ${rows.length} rows -> ${pretrainFile} (${documents.size} documents), ${finetuneFile} (${finetune.length} + ${shortChats.length} short chats), ${heldOutFile} (${heldOut.length})`,
  );

  step(2, `training a byte-level BPE tokenizer (${o.vocabSize} tokens, ChatML special tokens)`);
  const tokenizerDir = path.join(o.out, "tokenizer");
  const trained = await trainTokenizer(
    (function* () {
      yield "system\nuser\nassistant\n";
      for (const r of [...pretrain, ...finetune]) yield textOf(r);
    })(),
    { vocabSize: o.vocabSize },
  );
  await saveTokenizer(tokenizerDir, trained);
  const tokenizer = await loadTokenizer(tokenizerDir);
  // The LoRA stage keeps every row whole: its longest row sets max_length.
  const longest = Math.max(...finetune.map((r) => tokenizer.encode(textOf(r)).length)) + 2;
  const maxLength = Math.ceil(longest / 64) * 64;
  io.err(`${tokenizerDir}: ${trained.vocabSize} tokens; longest row ${longest} tokens`);

  const common: Partial<TrainConfig> = {
    batch_size: 4,
    gradient_accumulation: 1,
    weight_decay: 0,
    gradient_checkpointing: false,
    logging_steps: 10,
    save_steps: 1000,
    seed: o.seed,
    device: "cpu",
    eval_generate: false,
    validation_split: 0.05,
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
  };
  step(3, `training a ${o.layers}-layer, ${o.hiddenSize}-wide model from scratch on the short texts`);
  const baseDir = path.join(o.out, "base");
  const base = await trainInWorker(
    resolveTrainConfig({
      flags: {
        ...common,
        // Short sequences: many optimizer steps for the tokens (the LoRA stage then reaches max_length).
        max_length: PRETRAIN_LENGTH,
        batch_size: 8,
        from_scratch: true,
        tokenizer: tokenizerDir,
        hidden_size: o.hiddenSize,
        num_hidden_layers: o.layers,
        num_attention_heads: 4,
        intermediate_size: 2 * o.hiddenSize,
        dataset: pretrainFile,
        output_dir: baseDir,
        epochs: o.pretrainEpochs,
        learning_rate: 3e-3,
        warmup_steps: 10,
        eval_steps: 1000,
      },
    }).config,
    io,
  );
  if (base.code !== EXIT.ok) return base.code;
  // The model's rotary positions have no learned table: its window is a number in config.json, widened here to
  // the LoRA stage's length, where it learns to use the longer context.
  const baseConfigFile = path.join(baseDir, "config.json");
  const baseConfig = JSON.parse(await readFile(baseConfigFile, "utf8")) as Record<string, unknown>;
  await writeFile(
    baseConfigFile,
    JSON.stringify({ ...baseConfig, max_position_embeddings: Math.max(maxLength, PRETRAIN_LENGTH) }, null, 2) + "\n",
  );

  step(4, `fine-tuning it with LoRA on the rows (ChatML chat, raw-text paths as sent), max_length ${maxLength}`);
  const adapterDir = path.join(o.out, "adapter");
  const tuned = await trainInWorker(
    resolveTrainConfig({
      flags: {
        ...common,
        max_length: maxLength,
        base_model: baseDir,
        dataset: finetuneFile,
        output_dir: adapterDir,
        epochs: o.finetuneEpochs,
        learning_rate: 3e-3,
        warmup_steps: 5,
        lora_r: 32,
        lora_alpha: 64,
        lora_dropout: 0,
        eval_steps: 1000,
      },
    }).config,
    io,
  );
  if (tuned.code !== EXIT.ok) return tuned.code;

  step(5, "merging the adapter and exporting GGUF (Q8_0, Q4_K_M)");
  const { mergedDir, ggufs } = await exportQuickstartGgufs(
    {
      out: o.out,
      adapterDir,
      baseDir,
      task: "heimdall",
      command: "neural quickstart --task heimdall",
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
    },
    io,
  );

  step(6, "judging the held-out rows through llama.cpp as NornicDB serves and parses them");
  const contextSize = Math.max(2048, Math.ceil((maxLength + 1024) / 256) * 256);
  const results: Record<string, Awaited<ReturnType<typeof evaluateHeimdall>>> = {};
  for (const [type, file] of Object.entries(ggufs)) {
    results[type] = await evaluateHeimdall({ file, dataset: heldOutFile, contextSize, ...(o.threads ? { threads: o.threads } : {}) }, io);
  }
  const q8 = results.Q8_0!.report;
  const rate = (type: string, p?: string) => {
    const r = results[type]!.report;
    const row = p ? r.byPath.find((x) => x.key === p) : { passed: r.passed, total: r.total };
    return row && row.total ? row.passed / row.total : null;
  };
  const summary = {
    heldOut: heldOut.length,
    acceptance: Object.fromEntries(
      Object.keys(ggufs).map((t) => [
        t,
        { all: rate(t), ...Object.fromEntries(results[t]!.report.byPath.map((p) => [p.key, p.passed / p.total])) },
      ]),
    ),
    files: { dataset: all, heldOut: heldOutFile, tokenizer: tokenizerDir, base: baseDir, adapter: adapterDir, merged: mergedDir, ...ggufs },
    lossCurves: [path.join(baseDir, "loss_curve.svg"), path.join(adapterDir, "loss_curve.svg")],
    seconds: Math.round((Date.now() - started) / 1000),
  };
  await writeFile(path.join(o.out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  io.out(`\nheld-out acceptance through llama.cpp (Q8_0), as NornicDB serves and parses the answers:\n`);
  io.out(formatReport(q8, 10));
  const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);
  io.out("");
  for (const t of Object.keys(ggufs))
    io.out(`${t}: all paths ${pct(rate(t))}, chat ${pct(rate(t, "chat"))}, synthesis ${pct(rate(t, "synthesis"))}`);
  io.out(`loss curves: ${summary.lossCurves.join(", ")}`);
  io.out(`files: ${Object.values(summary.files).join(", ")}, ${path.join(o.out, "summary.json")}`);
  const neural = import.meta.url.endsWith(".ts") ? "npx -y pnpm@12.4.2 neural" : "neural";
  io.out(`judge it again: ${neural} eval --task heimdall ${ggufs.Q8_0} --dataset ${heldOutFile}`);
  io.out(`done in ${summary.seconds} s`);
  return EXIT.ok;
}
