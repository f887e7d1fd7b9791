// `neural eval FILE.gguf --dataset F.jsonl`: exact-match accuracy of a GGUF over a dataset, through llama.cpp. Each
// row's prompt is rendered as ChatML (what training used and NornicDB serves), answered greedily until an end of
// generation or a NornicDB stop string, and compared (trimmed) with the row's last assistant turn.
import {
  createTemplate,
  formatIssue,
  isPreferenceRecord,
  readRecordsFromFile,
  toExample,
  toPreferenceExample,
  type Message,
} from "@neural/dataset";
import { UsageError } from "../args.js";
import { EXIT, type Command } from "../command.js";
import { ggufChatFormat, loadGguf, promptTokens } from "./gguf-chat.js";
import { runHeimdallEval } from "./eval-heimdall.js";
import { llamaOptions, loadOptions } from "./run.js";

export interface EvalRow {
  line: number;
  category?: string;
  expected: string;
  generated: string;
  correct: boolean;
  stoppedBy: string;
}

export interface EvalReport {
  file: string;
  dataset: string;
  /** Rows compared. */
  evaluated: number;
  correct: number;
  accuracy: number;
  /** Per category (rows with a `category`), sorted by name. */
  categories: Record<string, { rows: number; correct: number; accuracy: number }>;
  /** Rows not compared: invalid records, plain-text rows (no prompt/answer), prompts longer than the context. */
  skipped: { invalid: number; text: number; too_long: number };
  results: EvalRow[];
}

const truncate = (s: string, n = 80) => {
  const one = JSON.stringify(s);
  return one.length > n ? `${one.slice(0, n - 4)}..."` : one;
};

export const evalCommand: Command = {
  name: "eval",
  positionals: [{ name: "file", description: "a .gguf model", required: true }],
  options: [
    {
      name: "dataset",
      type: "string",
      description: "a JSONL (or JSON array) dataset: each row's last assistant turn is the expected answer (a preference row's chosen one)",
      unset: "required",
    },
    {
      name: "task",
      type: "string",
      default: "exact",
      choices: ["exact", "heimdall"],
      description:
        "exact: exact match of the last assistant turn; heimdall: rows of `neural generate heimdall` judged by NornicDB's acceptance rules per path",
    },
    {
      name: "actions",
      type: "string",
      description: "with --task heimdall: the action registry file the rows were generated with (default: the built-in one)",
      unset: "the built-in registry",
    },
    { name: "max_tokens", type: "number", default: 256, description: "most tokens per answer" },
    { name: "limit", type: "number", default: 0, description: "evaluate only the first N rows (0 = all)" },
    { name: "min_accuracy", type: "number", description: "exit 1 when the accuracy (0..1) is below this", unset: "no minimum" },
    { name: "show", type: "number", default: 5, description: "mismatches to print" },
    ...llamaOptions.filter((o) => o.name !== "chatml"),
    { name: "json", type: "boolean", description: "print the report as JSON (with every row's expected and generated answer)" },
  ],
  async run(args, io) {
    const file = args.positionals[0]!;
    const dataset = args.options.dataset as string | undefined;
    if (!dataset) throw new UsageError("--dataset is required");
    const maxTokens = args.options.max_tokens as number;
    const limit = args.options.limit as number;
    const minAccuracy = args.options.min_accuracy as number | undefined;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new UsageError(`--max_tokens must be an integer ≥ 1, got ${maxTokens}`);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit must be an integer ≥ 0, got ${limit}`);
    if (minAccuracy !== undefined && !(minAccuracy >= 0 && minAccuracy <= 1))
      throw new UsageError(`--min_accuracy must be in [0, 1], got ${minAccuracy}`);
    const load = loadOptions(args);
    if (args.options.task === "heimdall") {
      return runHeimdallEval(
        {
          file,
          dataset,
          limit,
          // NornicDB's context (8192) unless --context_size asks for another.
          contextSize: args.given.has("context_size") ? load.contextSize : 8192,
          ...(load.threads ? { threads: load.threads } : {}),
          ...(typeof args.options.actions === "string" ? { actions: args.options.actions } : {}),
          ...(args.options.json ? { json: true } : {}),
          ...(minAccuracy !== undefined ? { minAccuracy } : {}),
        },
        io,
      );
    }

    // The rows first (a bad dataset fails before llama.cpp starts).
    const template = createTemplate("chatml");
    // raw: a raw-text preference row's prompt, sent as it is (not as a ChatML user turn)
    const rows: Array<{ line: number; category?: string; messages: Message[]; raw?: string; expected: string }> = [];
    const skipped = { invalid: 0, text: 0, too_long: 0 };
    for await (const event of readRecordsFromFile(dataset)) {
      if (limit > 0 && rows.length >= limit) break;
      if (!event.issue && isPreferenceRecord(event.value)) {
        // a preference row: its chosen answer (or a desirable completion) is the expected one
        const pref = toPreferenceExample(event.value, dataset, event.line);
        if ("issue" in pref) {
          if (++skipped.invalid <= 5) io.err(`skipped: ${formatIssue(pref.issue)}`);
        } else {
          const e = pref.example;
          const prompt = { line: event.line, messages: e.prompt, ...(e.raw ? { raw: e.prompt[0]!.content } : {}) };
          if (e.kind === "pair") rows.push({ ...prompt, expected: e.chosen });
          else if (e.label) rows.push({ ...prompt, expected: e.completion });
        }
        continue;
      }
      const parsed = event.issue ? { issue: event.issue } : toExample(event.value, dataset, event.line);
      if ("issue" in parsed) {
        skipped.invalid++;
        if (skipped.invalid <= 5) io.err(`skipped: ${formatIssue(parsed.issue)}`);
        continue;
      }
      const example = parsed.example;
      if (example.kind !== "chat") {
        skipped.text++;
        continue;
      }
      const last = example.messages.map((m) => m.role).lastIndexOf("assistant");
      rows.push({
        line: event.line,
        ...(example.category !== undefined ? { category: example.category } : {}),
        messages: example.messages.slice(0, last),
        expected: example.messages[last]!.content,
      });
    }
    if (skipped.invalid > 5) io.err(`skipped ${skipped.invalid} invalid rows in all (neural validate ${dataset} lists them)`);
    if (rows.length === 0) {
      io.err(`neural eval: ${dataset} has no rows with a prompt and an expected answer`);
      return EXIT.problems;
    }

    // The GGUF is checked by our reader first (a non-GGUF or truncated file is a GgufError naming the field); its own
    // chat template is not consulted, as NornicDB does not.
    const { stop } = await ggufChatFormat(file, { chatml: true });
    const results: EvalRow[] = [];
    const model = await loadGguf(file, load);
    try {
      for (const [i, row] of rows.entries()) {
        io.status(`eval ${i + 1}/${rows.length}  exact match so far ${results.filter((r) => r.correct).length}/${results.length}`);
        const tokens = await promptTokens(model, row.raw ?? template.prompt(row.messages));
        const room = model.info.contextSize - tokens.length;
        if (room < 1) {
          skipped.too_long++;
          continue;
        }
        const gen = await model.generate(tokens, { maxTokens: Math.min(maxTokens, room), stop, special: true });
        const generated = gen.text.trim();
        const expected = row.expected.trim();
        results.push({
          line: row.line,
          ...(row.category !== undefined ? { category: row.category } : {}),
          expected,
          generated,
          correct: generated === expected,
          stoppedBy: gen.stoppedBy,
        });
      }
    } finally {
      io.status("");
      await model.close();
    }
    if (skipped.too_long) io.err(`skipped ${skipped.too_long} rows whose prompt does not fit --context_size ${load.contextSize}`);

    const correct = results.filter((r) => r.correct).length;
    const byCategory = new Map<string, { rows: number; correct: number }>();
    for (const r of results) {
      if (r.category === undefined) continue;
      const c = byCategory.get(r.category) ?? { rows: 0, correct: 0 };
      c.rows++;
      if (r.correct) c.correct++;
      byCategory.set(r.category, c);
    }
    const categories = Object.fromEntries(
      [...byCategory].sort(([a], [b]) => a.localeCompare(b)).map(([name, c]) => [name, { ...c, accuracy: c.correct / c.rows }]),
    );
    const report: EvalReport = {
      file,
      dataset,
      evaluated: results.length,
      correct,
      accuracy: results.length ? correct / results.length : 0,
      categories,
      skipped,
      results,
    };

    if (args.options.json) io.out(JSON.stringify(report, null, 2));
    else {
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      io.out(
        `${file} on ${dataset}: ${correct}/${results.length} exact match (${pct(report.accuracy)}); ChatML prompts, greedy, llama.cpp`,
      );
      const names = Object.keys(categories);
      if (names.length) {
        const w = Math.max(8, ...names.map((n) => n.length));
        io.out("");
        io.out(`  ${"category".padEnd(w)}  ${"rows".padStart(6)}  ${"correct".padStart(7)}  accuracy`);
        for (const [name, c] of Object.entries(categories))
          io.out(`  ${name.padEnd(w)}  ${String(c.rows).padStart(6)}  ${String(c.correct).padStart(7)}  ${pct(c.accuracy).padStart(8)}`);
      }
      const show = args.options.show as number;
      const misses = results.filter((r) => !r.correct).slice(0, Math.max(0, show));
      if (misses.length) {
        io.out("");
        io.out(`first ${misses.length} mismatches:`);
        for (const m of misses)
          io.out(
            `  line ${m.line}${m.category !== undefined ? ` [${m.category}]` : ""}: expected ${truncate(m.expected)}, got ${truncate(m.generated)}`,
          );
      }
    }
    return minAccuracy !== undefined && report.accuracy < minAccuracy ? EXIT.problems : EXIT.ok;
  },
};
