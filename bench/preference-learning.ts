// `npx tsx --conditions=source bench/preference-learning.ts [work-dir]`: preference tuning that learns, judged by
// llama.cpp. A tiny model is trained from scratch (neural train --method sft) on a generated task, uppercasing
// words, where each training answer comes in one of two styles at random: plain ("RED SUN", the chosen style) or
// chatty ("Sure! RED SUN", the rejected style), half each, so its greedy answers take either style. DPO and ORPO (LoRA on the SFT model) then learn
// from pairs of the two styles; each model is exported to Q8_0 GGUF and asked the held-out prompts through
// llama.cpp (greedy): the share of answers in the chosen style, and the share whose words are right (either style).
// Then one round from the model's own answers: neural pairs on the SFT model, DPO on those pairs, and the exact
// verifier's pass rate before and after. Every step is the CLI as a user runs it; a rerun with the same work dir
// skips the steps whose outputs exist. Results go to bench/RESULTS.md by hand, with the machine.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CHATML_STOP, chatmlPrompt, LlamaModelProcess } from "@neural/llama";

const WORDS = "red blue green gold iron wood stone glass river cloud storm light night sun moon star fire ice wind rain".split(" ");
const PREFIX = "Sure! ";
const work = process.argv[2] ?? path.join(tmpdir(), `preference-learning-${Date.now()}`);
mkdirSync(work, { recursive: true });
const cli = path.resolve("apps/cli/bin/neural.js");

let seed = 7;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const pick = () => WORDS[Math.floor(random() * WORDS.length)]!;
/** Prompts of 2 or 3 words, all distinct. */
const prompts = new Set<string>();
while (prompts.size < 1400) prompts.add(Array.from({ length: 2 + Math.floor(random() * 2) }, pick).join(" "));
const all = [...prompts];
const train = all.slice(100);
// held out: the first 100 prompts, and 300 more drawn after the training set was (none of them trained on)
while (prompts.size < 1700) prompts.add(Array.from({ length: 2 + Math.floor(random() * 2) }, pick).join(" "));
const heldOut = [...all.slice(0, 100), ...[...prompts].slice(1400)];
const question = (words: string) => `Uppercase: ${words}`;
const answer = (words: string) => words.toUpperCase();

const write = (name: string, rows: unknown[]) => {
  const file = path.join(work, name);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
};
const sft = write(
  "sft.jsonl",
  train.map((w) => ({ instruction: question(w), output: (random() < 0.5 ? PREFIX : "") + answer(w) })),
);
const pairs = write(
  "pairs.jsonl",
  train.slice(0, 600).map((w) => ({ prompt: question(w), chosen: answer(w), rejected: PREFIX + answer(w) })),
);
// KTO: the same answers as labelled rows, each prompt once (plain: desirable, chatty: undesirable)
const labelled = write(
  "labelled.jsonl",
  train.slice(0, 600).map((w, i) => ({ prompt: question(w), completion: (i % 2 ? PREFIX : "") + answer(w), label: i % 2 === 0 })),
);

/** Steps whose output exists in the work dir (a rerun with the same dir) are skipped. */
const neural = (...args: string[]) => {
  const output = args[args.indexOf(args[0] === "train" ? "--output_dir" : "--output") + 1]!;
  if (existsSync(args[0] === "train" ? path.join(output, "train_config.json") : output)) return;
  const t0 = performance.now();
  execFileSync(process.execPath, [cli, ...args], { stdio: ["ignore", args[0] === "pairs" ? 2 : "ignore", "inherit"] });
  console.error(`  ${args[0]}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
};
const common = [
  "--max_length",
  "64",
  "--threads",
  "2",
  "--device",
  "cpu",
  "--eval_generate",
  "false",
  "--gradient_checkpointing",
  "false",
  "--logging_steps",
  "10",
];

async function judge(gguf: string) {
  const model = await LlamaModelProcess.load(gguf, { threads: 1 });
  let chosenStyle = 0;
  let correct = 0;
  let plainAndRight = 0;
  try {
    for (const words of heldOut) {
      const g = await model.generate(chatmlPrompt([{ role: "user", content: question(words) }]), { maxTokens: 24, stop: CHATML_STOP });
      const text = g.text.trim();
      if (!text.startsWith(PREFIX.trim())) chosenStyle++;
      if (text.replace(PREFIX.trim(), "").trim() === answer(words)) correct++;
      if (text === answer(words)) plainAndRight++;
    }
  } finally {
    await model.close();
  }
  return { chosenStyle: chosenStyle / heldOut.length, correct: correct / heldOut.length, plainAndRight: plainAndRight / heldOut.length };
}

const results: Record<string, { chosenStyle: number; correct: number; plainAndRight: number }> = {};
console.error(`work dir ${work}`);
const sftDir = path.join(work, "sft");
neural(
  "train",
  "--from_scratch",
  "--hidden_size",
  "64",
  "--num_hidden_layers",
  "2",
  "--num_attention_heads",
  "4",
  "--intermediate_size",
  "128",
  "--vocab_size",
  "384",
  "--dataset",
  sft,
  "--output_dir",
  sftDir,
  "--epochs",
  "16",
  "--batch_size",
  "16",
  "--gradient_accumulation",
  "1",
  "--learning_rate",
  "3e-3",
  "--warmup_steps",
  "20",
  "--validation_split",
  "0.05",
  "--eval_steps",
  "100000",
  "--save_steps",
  "100000",
  ...common,
);
neural("export", "--model_dir", sftDir, "--output", path.join(work, "sft.gguf"), "--quantization", "Q8_0", "--no_modelfile");
results.sft = await judge(path.join(work, "sft.gguf"));
console.error(`  sft: ${JSON.stringify(results.sft)}`);

const KNOBS = {
  dpo: ["--beta", "0.1", "--learning_rate", "1e-3", "--rpo_alpha", "1"],
  orpo: ["--beta", "0.5", "--learning_rate", "1e-3"],
  simpo: ["--beta", "2", "--simpo_gamma", "0.5", "--cpo_alpha", "1", "--learning_rate", "1e-3"],
  kto: ["--beta", "0.1", "--learning_rate", "1e-3"],
};
for (const method of ["dpo", "orpo", "simpo", "kto"] as const) {
  const out = path.join(work, method);
  const knobs = KNOBS[method];
  neural(
    "train",
    "--method",
    method,
    "--base_model",
    sftDir,
    "--dataset",
    method === "kto" ? labelled : pairs,
    "--output_dir",
    out,
    "--max_steps",
    "60",
    "--batch_size",
    "4",
    "--gradient_accumulation",
    "2",
    "--warmup_steps",
    "5",
    "--lora_r",
    "8",
    "--lora_alpha",
    "16",
    "--lora_dropout",
    "0",
    "--validation_split",
    "0.05",
    "--eval_steps",
    "20",
    "--save_steps",
    "100000",
    ...knobs,
    ...common,
  );
  neural(
    "export",
    "--model_dir",
    out,
    "--base_model",
    sftDir,
    "--output",
    path.join(work, `${method}.gguf`),
    "--quantization",
    "Q8_0",
    "--no_modelfile",
  );
  results[method] = await judge(path.join(work, `${method}.gguf`));
  const metrics = readFileSync(path.join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  const margins = metrics
    .filter((m) => m.type === "train" && Number(m.step) % 10 === 0)
    .map((m) => Number(m["rewards/margins"]).toFixed(2));
  console.error(`  ${method}: ${JSON.stringify(results[method])}; train rewards/margins per 10 steps: ${margins.join(" → ")}`);
}

// One round from the model's own answers: neural pairs samples the SFT model on training prompts, the exact
// verifier (reference: the plain answer) passes plain, right answers; DPO on those pairs; the verifier's pass rate
// on the held-out prompts before and after, through llama.cpp.
const references = write(
  "references.jsonl",
  train.slice(600, 800).map((w) => ({ instruction: question(w), output: answer(w) })),
);
const ownPairs = path.join(work, "own-pairs.jsonl");
neural(
  "pairs",
  "--model",
  path.join(work, "sft.gguf"),
  "--dataset",
  references,
  "--verifier",
  "exact",
  "--samples",
  "4",
  "--temperature",
  "1",
  "--max_tokens",
  "24",
  "--threads",
  "1",
  "--output",
  ownPairs,
);
const pairCount = readFileSync(ownPairs, "utf8").split("\n").filter(Boolean).length;
const own = path.join(work, "dpo-own");
neural(
  "train",
  "--method",
  "dpo",
  "--base_model",
  sftDir,
  "--dataset",
  ownPairs,
  "--output_dir",
  own,
  "--max_steps",
  "60",
  "--batch_size",
  "4",
  "--gradient_accumulation",
  "2",
  "--warmup_steps",
  "5",
  "--lora_r",
  "8",
  "--lora_alpha",
  "16",
  "--lora_dropout",
  "0",
  "--validation_split",
  "0",
  "--save_steps",
  "100000",
  "--beta",
  "0.1",
  "--learning_rate",
  "1e-3",
  "--rpo_alpha",
  "1",
  ...common,
);
neural(
  "export",
  "--model_dir",
  own,
  "--base_model",
  sftDir,
  "--output",
  path.join(work, "dpo-own.gguf"),
  "--quantization",
  "Q8_0",
  "--no_modelfile",
);
results["dpo on its own pairs"] = await judge(path.join(work, "dpo-own.gguf"));
const passRate = (r: { plainAndRight: number }) => r.plainAndRight;
console.error(
  `  own pairs: ${pairCount}; exact-verifier pass rate on held-out prompts: sft ${passRate(results.sft!)} → dpo ${passRate(results["dpo on its own pairs"]!)}`,
);

console.log("| model | answers in the chosen style | words right | exact verifier passes (plain and right) |");
console.log("|---|---|---|---|");
for (const [name, r] of Object.entries(results))
  console.log(
    `| ${name} | ${(100 * r.chosenStyle).toFixed(0)} % | ${(100 * r.correct).toFixed(0)} % | ${(100 * r.plainAndRight).toFixed(0)} % |`,
  );
