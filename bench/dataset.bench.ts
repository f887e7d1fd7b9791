// The data pipeline's throughput and memory: read + template + tokenize + pack, streaming, on generated files of two
// sizes. Anchor: reading and JSON.parse alone, in the same run. Peak RSS must not grow with the file size.
//   pnpm bench dataset [-- --rows 100000,300000]
import { spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  encodeRecords,
  loadTokenizer,
  packStream,
  Random,
  readRecordsFromFile,
  saveTokenizer,
  trainTokenizer,
  type EncodeStats,
} from "@neural/dataset";
import { machine, writeSection } from "./results.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "out");
const MAX_LENGTH = 1024;

const WORDS = (
  "graph node relationship query cypher match return where order limit person movie city company acted directed knows " +
  "works lives born released rating title name age year between shortest path count average sum collect distinct " +
  "classify information traffic light protocol clear green amber strict red share community organization public " +
  "customer employee record salary report incident vendor advisory partner network internal external confidential " +
  "the a of to and in for with on by is are was be this that it from as at an or not which can may should"
).split(" ");

function sentence(rng: Random, words: number): string {
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(WORDS[rng.int(WORDS.length)]!);
  const s = parts.join(" ");
  return s[0]!.toUpperCase() + s.slice(1) + (rng.int(4) === 0 ? "?" : ".");
}

async function generate(file: string, rows: number): Promise<void> {
  const rng = new Random(rows);
  const stream = createWriteStream(file);
  for (let i = 0; i < rows; i++) {
    const question = sentence(rng, 8 + rng.int(40));
    const answer = Array.from({ length: 1 + rng.int(6) }, () => sentence(rng, 5 + rng.int(25))).join(" ");
    const record =
      i % 5 < 3
        ? { instruction: question, input: rng.int(2) ? sentence(rng, 10 + rng.int(30)) : "", output: answer, category: `c${i % 7}` }
        : {
            messages: [
              { role: "system", content: "Answer briefly." },
              { role: "user", content: question },
              { role: "assistant", content: answer },
            ],
          };
    if (!stream.write(JSON.stringify(record) + "\n")) await new Promise<void>((r) => stream.once("drain", () => r()));
  }
  await new Promise<void>((resolve, reject) => stream.end((error?: Error) => (error ? reject(error) : resolve())));
}

async function child(mode: string, file: string, tokenizerDir: string): Promise<void> {
  const t0 = performance.now();
  let rows = 0;
  let tokens = 0;
  let sequences = 0;
  if (mode === "anchor") {
    for await (const event of readRecordsFromFile(file)) if (!event.issue) rows++;
  } else {
    const tokenizer = await loadTokenizer(tokenizerDir);
    const stats: EncodeStats = { records: 0, valid: 0, invalid: 0, issues: [], dropped: { too_long: 0, nothing_to_learn: 0 } };
    async function* encoded() {
      for await (const prepared of encodeRecords(readRecordsFromFile(file), file, { tokenizer, maxLength: MAX_LENGTH }, stats)) {
        tokens += prepared.encoded.inputIds.length;
        yield prepared.encoded;
      }
    }
    for await (const sequence of packStream(encoded(), MAX_LENGTH)) {
      sequences++;
      void sequence;
    }
    rows = stats.valid;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ rows, tokens, sequences, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function run(
  mode: string,
  file: string,
  tokenizerDir: string,
): { rows: number; tokens: number; sequences: number; seconds: number; maxRssMiB: number } {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--conditions=source", fileURLToPath(import.meta.url), "--child", mode, file, tokenizerDir],
    {
      encoding: "utf8",
    },
  );
  if (result.status !== 0) throw new Error(`child ${mode} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") return child(argv[1]!, argv[2]!, argv[3]!);
  const rowsArg = argv.indexOf("--rows");
  const sizes = (rowsArg >= 0 ? argv[rowsArg + 1]! : "100000,300000").split(",").map(Number);
  mkdirSync(out, { recursive: true });
  const files = new Map<number, string>();
  for (const rows of sizes) {
    const file = path.join(out, `dataset-${rows}.jsonl`);
    if (!existsSync(file)) {
      console.log(`generating ${rows} rows -> ${file}`);
      await generate(file, rows);
    }
    files.set(rows, file);
  }
  const tokenizerDir = path.join(out, "tokenizer-4096");
  if (!existsSync(path.join(tokenizerDir, "tokenizer.json"))) {
    const sample = path.join(out, "dataset-sample.jsonl");
    await generate(sample, 3000);
    async function* texts() {
      for await (const e of readRecordsFromFile(sample)) if (!e.issue) yield JSON.stringify(e.value);
    }
    const trained = await trainTokenizer(texts(), { vocabSize: 4096 });
    await saveTokenizer(tokenizerDir, trained);
  }
  const lines: string[] = [];
  for (const rows of sizes) {
    const file = files.get(rows)!;
    const mib = statSync(file).size / 2 ** 20;
    const anchor = run("anchor", file, tokenizerDir);
    const pipeline = run("pipeline", file, tokenizerDir);
    const line =
      `| ${rows.toLocaleString("en-US")} | ${mib.toFixed(0)} MiB | ${Math.round(anchor.rows / anchor.seconds).toLocaleString("en-US")} | ` +
      `${Math.round(pipeline.rows / pipeline.seconds).toLocaleString("en-US")} | ${Math.round(pipeline.tokens / pipeline.seconds).toLocaleString("en-US")} | ` +
      `${(pipeline.seconds / anchor.seconds).toFixed(1)}× | ${anchor.maxRssMiB.toFixed(0)} MiB | ${pipeline.maxRssMiB.toFixed(0)} MiB |`;
    console.log(line);
    lines.push(line);
  }
  const body = [
    `Machine: ${machine()}. Command: \`pnpm bench dataset\` (bench/dataset.bench.ts). Each figure comes from its own child process.`,
    `Pipeline = stream JSONL → per-record format check → ChatML template → tokenize (byte-level BPE, 4,096 tokens, @huggingface/tokenizers) → labels → packStream (max_length ${MAX_LENGTH}).`,
    "Anchor = the same file streamed and JSON.parse'd only. 60 % instruction rows, 40 % chat rows, generated by the bench.",
    "",
    "| rows | file | anchor rows/s (read + parse) | pipeline rows/s | pipeline tokens/s | pipeline time ÷ anchor time | anchor peak RSS | pipeline peak RSS |",
    "|---|---|---|---|---|---|---|---|",
    ...lines,
  ].join("\n");
  writeSection("Dataset pipeline", body);
}

await main();
