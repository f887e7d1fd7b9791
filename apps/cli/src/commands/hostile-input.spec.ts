// Hostile input costs bounded time and memory: a 50 MB row, a tokenizer.json with a backtracking regex or a 10 MB
// token. Each command runs as a user runs it, in its own process, whose peak RSS (getrusage) it reports on exit. The
// bounds are generous (about twice what these runs take: 0.5 GiB for prepare, 1.0 for train, 0.7 for validate, 0.5
// for the token) and far below what they cost before the guards: 3.6 GiB for prepare and for train with the 50 MB
// row, a regex still running when killed at 90 s, 2.3 GiB to accept the token. SHOW_PEAKS=1 prints each run's peak.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeTinyModel } from "@neural/testkit";
import { beforeAll, describe, expect, it } from "vitest";

const main = path.resolve(fileURLToPath(import.meta.url), "../../main.ts");
const dir = mkdtempSync(path.join(tmpdir(), "neural-hostile-"));
const peakProbe = path.join(dir, "peak-rss.mjs");
const GiB = 2 ** 30;

interface Run {
  code: number | null;
  output: string;
  peakBytes: number;
  seconds: number;
  killed: boolean;
}

/** Runs the CLI in a child process; kills it after `limitSeconds`. */
function cli(args: string[], limitSeconds: number): Promise<Run> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--import", pathToFileURL(peakProbe).href, "--conditions=source", main, ...args],
      {
        cwd: path.resolve(main, "../../../.."),
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limitSeconds * 1000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const peak = /peak-rss-kb=(\d+)/.exec(output);
      if (process.env.SHOW_PEAKS)
        console.log(
          `neural ${args[0]}: exit ${code}, ${peak ? `peak RSS ${(Number(peak[1]) / 1024).toFixed(0)} MiB` : "no peak reported"}, ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      resolve({ code, output, peakBytes: peak ? Number(peak[1]) * 1024 : Infinity, seconds: (performance.now() - started) / 1000, killed });
    });
  });
}

let modelDir: string;
let dataset: string;

/** A copy of the tiny model whose tokenizer.json went through `edit`. */
function hostileModel(name: string, edit: (tokenizer: Record<string, any>) => void): string {
  const copy = path.join(dir, name);
  cpSync(modelDir, copy, { recursive: true });
  const file = path.join(copy, "tokenizer.json");
  const tokenizer = JSON.parse(readFileSync(file, "utf8"));
  edit(tokenizer);
  writeFileSync(file, JSON.stringify(tokenizer));
  return copy;
}

beforeAll(async () => {
  writeFileSync(peakProbe, 'process.on("exit", () => process.stderr.write(`\\npeak-rss-kb=${process.resourceUsage().maxRSS}\\n`));\n');
  modelDir = (await writeTinyModel(path.join(dir, "model"), { family: "qwen2", seed: 1, dtype: "F32" })).dir;
  // A long word makes `(\S+\s*)*!` backtrack for hours on the old code.
  const rows = Array.from({ length: 20 }, (_, i) => JSON.stringify({ instruction: `Say ${i} ${"a".repeat(40)}`, output: `Answer ${i}` }));
  dataset = path.join(dir, "data.jsonl");
  writeFileSync(dataset, rows.join("\n") + "\n");
}, 60_000);

describe("a 50 MB row (valid JSON) costs what max_length tokens cost", () => {
  let big: string;
  beforeAll(() => {
    big = path.join(dir, "big.jsonl");
    const rows = readFileSync(dataset, "utf8").trim().split("\n");
    rows.splice(
      5,
      0,
      JSON.stringify({ instruction: "Summarize.", output: "The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil(50e6 / 45)) }),
    );
    writeFileSync(big, rows.join("\n") + "\n");
  });

  it("neural prepare drops it as too long, under 1.5 GiB", async () => {
    const run = await cli(["prepare", "--dataset", big, "--tokenizer", modelDir, "--max_length", "512"], 280);
    expect(run.output).toMatch(/21 records, 21 valid, 0 invalid/);
    expect(run.output).toMatch(/dropped: 1 too long/);
    expect(run.code).toBe(0);
    expect(run.peakBytes).toBeLessThan(1.5 * GiB);
  }, 300_000);

  it("neural validate names its line, under 1.5 GiB", async () => {
    const run = await cli(["validate", big, "--tokenizer", modelDir, "--max_length", "512"], 280);
    expect(run.output).toMatch(/warning: 1 example longer than max_length 512 tokens \(4\.8%\): line 6\n/);
    expect(run.code).toBe(0);
    expect(run.peakBytes).toBeLessThan(1.5 * GiB);
  }, 300_000);

  it("neural train drops it as too long and trains, under 2 GiB", async () => {
    const run = await cli(
      [
        "train",
        "--base_model",
        modelDir,
        "--dataset",
        big,
        "--output_dir",
        path.join(dir, "out-big"),
        "--max_length",
        "64",
        "--max_steps",
        "1",
        "--batch_size",
        "2",
        "--save_steps",
        "1",
        "--no-eval_generate",
        "--threads",
        "1",
        "--device",
        "cpu",
      ],
      280,
    );
    expect(run.output).toMatch(/warning: 1 example dropped: too long/);
    expect(run.code).toBe(0);
    expect(run.peakBytes).toBeLessThan(2 * GiB);
  }, 300_000);
});

describe("a hostile tokenizer.json is refused before it costs anything", () => {
  it("a backtracking split regex, (\\S+\\s*)*!, is refused by validate, prepare and train at once", async () => {
    const redos = hostileModel("redos", (t) => (t.pre_tokenizer.pretokenizers[0].pattern.Regex = "(\\S+\\s*)*!"));
    const runs = await Promise.all([
      cli(["validate", dataset, "--tokenizer", redos], 90),
      cli(["prepare", "--dataset", dataset, "--tokenizer", redos], 90),
      cli(
        [
          "train",
          "--base_model",
          redos,
          "--dataset",
          dataset,
          "--output_dir",
          path.join(dir, "out-redos"),
          "--max_steps",
          "1",
          "--device",
          "cpu",
        ],
        90,
      ),
    ]);
    for (const run of runs) {
      expect(run.killed, run.output).toBe(false);
      expect(run.output).toMatch(
        /pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex: the regular expression "\(\\\\S\+\\\\s\*\)\*!" is not one llama\.cpp knows/,
      );
      expect(run.output).not.toMatch(/\n\s+at /);
      expect(run.code).toBe(1);
    }
  }, 120_000);

  it("a 10 MB added token is refused under 1 GiB", async () => {
    const huge = hostileModel("huge-token", (t) =>
      t.added_tokens.push({ id: t.added_tokens.at(-1).id + 1, content: "x".repeat(10 * 2 ** 20), special: true }),
    );
    const run = await cli(["validate", dataset, "--tokenizer", huge], 90);
    expect(run.output).toMatch(/added_tokens\[\d+\]\.content: a token of 10485760 characters \(at most 1024\)/);
    expect(run.code).toBe(1);
    expect(run.peakBytes).toBeLessThan(1 * GiB);
  }, 120_000);
});

describe("a hostile config.json is refused before it costs anything", () => {
  it("num_hidden_layers 1e9 (export) and head_dim 1e9 (train): one line each, exit 1, under 0.7 GiB", async () => {
    const edited = (name: string, edit: (config: Record<string, unknown>) => void) => {
      const copy = path.join(dir, name);
      cpSync(modelDir, copy, { recursive: true });
      const config = JSON.parse(readFileSync(path.join(copy, "config.json"), "utf8"));
      edit(config);
      writeFileSync(path.join(copy, "config.json"), JSON.stringify(config));
      return copy;
    };
    const layers = edited("layers-1e9", (c) => (c.num_hidden_layers = 1e9));
    const headDim = edited("head-dim-1e9", (c) => (c.head_dim = 1e9));
    const runs = await Promise.all([
      cli(["export", "--model_dir", layers, "--output", path.join(dir, "layers.gguf"), "--no_modelfile"], 90),
      cli(
        [
          "train",
          "--base_model",
          headDim,
          "--dataset",
          dataset,
          "--output_dir",
          path.join(dir, "out-head-dim"),
          "--max_steps",
          "1",
          "--device",
          "cpu",
        ],
        90,
      ),
    ]);
    expect(runs[0]!.output).toMatch(
      /neural export: .*layers-1e9\/config\.json: num_hidden_layers: 1000000000 is more than any model has \(at most 1024\)\n/,
    );
    expect(runs[1]!.output).toMatch(
      /neural train: .*head-dim-1e9\/config\.json: head_dim: 1000000000 is more than any model has \(at most 4096\)\n/,
    );
    for (const run of runs) {
      expect(run.output).not.toMatch(/\n\s+at /);
      expect(run.code).toBe(1);
      expect(run.peakBytes).toBeLessThan(0.7 * GiB);
    }
  }, 120_000);
});
