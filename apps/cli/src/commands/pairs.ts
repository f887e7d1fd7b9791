// `neural pairs --model F.gguf --dataset prompts.jsonl --verifier exact|cypher|json-schema|heimdall --samples K
// --temperature T --output pairs.jsonl`: preference pairs from a model's own answers. Each prompt is answered K
// times through llama.cpp (sampled, seeds seed..seed+K-1), each answer is scored by the verifier, and a passing
// answer (chosen) is paired with a failing one (rejected); prompts whose answers all pass or all fail give none. The
// pairs are TRL's {prompt, chosen, rejected}, ready for neural train --method dpo. With --verifier heimdall the rows
// are `neural generate heimdall`'s: each is served as NornicDB serves its path (its exact prompt, stop strings and
// token limit, as `neural eval --task heimdall` does, but sampled) and judged by NornicDB's acceptance rules; pairs of
// the raw-text paths carry "raw": true, so training reads their prompt as the raw text NornicDB sends.
import { readFile, rename, writeFile } from "node:fs/promises";
import {
  exactVerifier,
  formatIssue,
  jsonSchemaVerifier,
  pairOf,
  readRecordsFromFile,
  stripCodeFence,
  toExample,
  createTemplate,
  type Message,
  type PairOutcome,
  type Verifier,
} from "@neural/dataset";
import { HeldOutRowError, judgeAnswer } from "@neural/generator-heimdall";
import { type LlamaModelProcess, NORNICDB_CALL_SITES } from "@neural/llama";
import { UsageError } from "../args.js";
import { EXIT, type Command, type Io } from "../command.js";
import { readHeldOut, registryResolver } from "./eval-heimdall.js";
import { ggufChatFormat, loadGguf, promptTokens } from "./gguf-chat.js";
import { llamaOptions, loadOptions } from "./run.js";

/** The verifiers by --verifier name, besides heimdall (whose judge needs the whole row: see heimdallItems). */
export const VERIFIERS: Record<string, (options: { schema?: string }) => Promise<Verifier>> = {
  exact: async () => exactVerifier,
  cypher: async () => {
    const { checkCypher } = await import("@neural/cypher");
    return {
      name: "cypher",
      needsExpected: false,
      check(answer) {
        const result = checkCypher(stripCodeFence(answer));
        if (result.ok) return { pass: true };
        const d = result.diagnostics.find((x) => x.severity !== "warning");
        return { pass: false, reason: d ? `Cypher ${d.line}:${d.column}: ${d.message}` : "Cypher does not parse" };
      },
    };
  },
  "json-schema": async ({ schema }) => {
    if (!schema) throw new UsageError("--verifier json-schema needs --schema FILE.json");
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(schema, "utf8"));
    } catch (error) {
      throw new UsageError(`--schema ${schema}: ${(error as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new UsageError(`--schema ${schema}: a JSON Schema is an object`);
    try {
      return jsonSchemaVerifier(parsed as Record<string, unknown>);
    } catch (error) {
      throw new UsageError(`--schema ${schema}: ${(error as Error).message}`);
    }
  },
};
const NAMES = ["exact", "cypher", "json-schema", "heimdall"] as const;

export interface PairsReport {
  model: string;
  dataset: string;
  verifier: string;
  prompts: number;
  samples: number;
  /** Prompts by outcome: a pair written, every (non-empty) answer passed, every one failed. */
  outcomes: Record<PairOutcome, number>;
  /** Sampled answers that passed, of all. */
  passed: number;
  answers: number;
  /** Answers left out of the pairs for being empty or blank (a pair file may not hold one: neural validate refuses it). */
  blank: number;
  output: string;
}

/** One prompt as it is sampled and scored. */
interface PairItem {
  /** TRL's prompt, as written to the pairs file. */
  prompt: Message[] | string;
  /** The prompt is raw text (NornicDB's raw paths): the pair is written with "raw": true, so it trains as raw text. */
  raw?: boolean;
  tokens(llama: LlamaModelProcess): Promise<number[]>;
  maxTokens: number;
  stop: readonly string[];
  /** NornicDB's stop rule (a token whose piece equals a stop string) instead of llama.cpp's tools'. */
  stopPerToken: boolean;
  /** The answer as judged and written (trimmed, or as NornicDB receives it). */
  answer(text: string): string;
  check(answer: string): Promise<boolean>;
}

interface PromptRow {
  line: number;
  messages: Message[];
  expected?: string;
}

/** A row's prompt (the turns before its last answer) and its answer; or a row of only a prompt (no reference). */
function promptRow(value: unknown, file: string, line: number): PromptRow | { issue: ReturnType<typeof formatIssue> } {
  if (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    "prompt" in value &&
    !("completion" in value) &&
    !("chosen" in value)
  ) {
    const p = (value as { prompt: unknown }).prompt;
    if (typeof p === "string" && p.trim()) return { line, messages: [{ role: "user", content: p }] };
    if (Array.isArray(p) && p.length && p.every((m) => typeof m?.role === "string" && typeof m?.content === "string"))
      return { line, messages: p as Message[] };
    return { issue: formatIssue({ file, line, field: "prompt", message: "must be a non-empty string or a list of messages" }) };
  }
  const converted = toExample(value, file, line);
  if ("issue" in converted) return { issue: formatIssue(converted.issue) };
  const e = converted.example;
  if (e.kind !== "chat") return { issue: formatIssue({ file, line, message: "a plain-text row has no prompt" }) };
  const last = e.messages.map((m) => m.role).lastIndexOf("assistant");
  return { line, messages: e.messages.slice(0, last), expected: e.messages[last]!.content };
}

export const pairsCommand: Command = {
  name: "pairs",
  options: [
    { name: "model", type: "string", description: "the .gguf model whose answers are scored", unset: "required" },
    {
      name: "dataset",
      type: "string",
      description:
        'prompts: rows with a reference answer (any training format), or {"prompt"} rows for verifiers that need none; heimdall: rows of neural generate heimdall',
      unset: "required",
    },
    {
      name: "verifier",
      type: "string",
      choices: NAMES,
      default: "exact",
      description: "exact (the reference answer), cypher (Neo4j's parser), json-schema (ajv, --schema), heimdall (NornicDB's rules)",
    },
    {
      name: "schema",
      type: "string",
      description: "the JSON Schema file of --verifier json-schema",
      unset: "required with --verifier json-schema",
    },
    {
      name: "actions",
      type: "string",
      description: "with --verifier heimdall: the action registry file the rows were generated with",
      unset: "the built-in registry",
    },
    { name: "samples", type: "number", default: 4, description: "answers sampled per prompt" },
    { name: "temperature", type: "number", default: 0.8, description: "sampling temperature (above 0)" },
    { name: "seed", type: "number", default: 1, description: "the first sample's seed (sample k uses seed + k)" },
    {
      name: "max_tokens",
      type: "number",
      description: "most tokens per answer",
      unset: "256; heimdall: NornicDB's limit on the row's path",
    },
    {
      name: "output",
      type: "string",
      description: "the pairs file to write (JSONL; written to a temp file, renamed when complete)",
      unset: "required",
    },
    ...llamaOptions.filter((o) => o.name !== "chatml"),
    { name: "json", type: "boolean", description: "print the counts as JSON" },
  ],
  async run(args, io) {
    const o = args.options;
    const model = o.model as string | undefined;
    const dataset = o.dataset as string | undefined;
    const output = o.output as string | undefined;
    if (!model || !dataset || !output) throw new UsageError("--model, --dataset and --output are required");
    const samples = o.samples as number;
    const temperature = o.temperature as number;
    const maxTokens = o.max_tokens as number | undefined;
    const seed = o.seed as number;
    if (!Number.isInteger(samples) || samples < 2 || samples > 64)
      throw new UsageError(`--samples must be an integer from 2 to 64, got ${samples}`);
    if (!(temperature > 0 && temperature <= 5)) throw new UsageError(`--temperature must be above 0 (and at most 5), got ${temperature}`);
    if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1))
      throw new UsageError(`--max_tokens must be an integer ≥ 1, got ${maxTokens}`);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be an integer ≥ 0, got ${seed}`);
    const name = o.verifier as string;
    const load = loadOptions(args);
    let items: PairItem[] | number;
    if (name === "heimdall") items = await heimdallItems(dataset, o.actions as string | undefined, maxTokens, io);
    else {
      const factory = VERIFIERS[name];
      if (!factory) throw new UsageError(`--verifier must be one of ${NAMES.join(", ")}`);
      const verifier = await factory({ ...(o.schema !== undefined ? { schema: o.schema as string } : {}) });
      items = await verifierItems(dataset, verifier, model, maxTokens ?? 256, io);
    }
    if (typeof items === "number") return items;
    if (items.length === 0) {
      io.err(`neural pairs: ${dataset} has no usable prompts`);
      return EXIT.problems;
    }

    const report: PairsReport = {
      model,
      dataset,
      verifier: name,
      prompts: items.length,
      samples,
      outcomes: { paired: 0, all_pass: 0, all_fail: 0 },
      passed: 0,
      answers: 0,
      blank: 0,
      output,
    };
    const lines: string[] = [];
    const llama = await loadGguf(model, load);
    try {
      for (const [i, item] of items.entries()) {
        io.status(`pairs ${i + 1}/${items.length}: ${report.outcomes.paired} pairs`);
        const tokens = await item.tokens(llama);
        const room = llama.info.contextSize - tokens.length;
        if (room < 1) continue;
        const scored: { text: string; pass: boolean }[] = [];
        for (let k = 0; k < samples; k++) {
          const g = await llama.generate(tokens, {
            maxTokens: Math.min(item.maxTokens, room),
            stop: item.stop,
            stopPerToken: item.stopPerToken,
            special: true,
            temperature,
            seed: seed + k,
          });
          const text = item.answer(g.text);
          scored.push({ text, pass: await item.check(text) });
        }
        report.answers += scored.length;
        report.passed += scored.filter((s) => s.pass).length;
        const usable = scored.filter((s) => /\S/.test(s.text));
        report.blank += scored.length - usable.length;
        const pair = pairOf(usable);
        report.outcomes[pair.outcome]++;
        if (pair.outcome === "paired")
          lines.push(
            JSON.stringify({ prompt: item.prompt, chosen: pair.chosen, rejected: pair.rejected, ...(item.raw ? { raw: true } : {}) }),
          );
      }
    } finally {
      io.status("");
      await llama.close();
    }
    const temp = `${output}.tmp-${process.pid}`;
    await writeFile(temp, lines.map((l) => l + "\n").join(""));
    await rename(temp, output);
    printReport(report, io, o.json === true);
    return EXIT.ok;
  },
};

/** Prompt rows for a verifier, served with the ChatML template and the GGUF's stop strings; skipped rows are named. */
async function verifierItems(dataset: string, verifier: Verifier, model: string, maxTokens: number, io: Io): Promise<PairItem[]> {
  const rows: PromptRow[] = [];
  let invalid = 0;
  for await (const event of readRecordsFromFile(dataset)) {
    const row = event.issue ? { issue: formatIssue(event.issue) } : promptRow(event.value, dataset, event.line);
    if ("issue" in row) {
      if (++invalid <= 5) io.err(`skipped: ${row.issue}`);
      continue;
    }
    if (verifier.needsExpected && row.expected === undefined) {
      if (++invalid <= 5) io.err(`skipped: ${dataset}:${row.line}: --verifier ${verifier.name} needs a reference answer`);
      continue;
    }
    rows.push(row);
  }
  if (invalid > 5) io.err(`skipped ${invalid} rows in all`);
  const template = createTemplate("chatml");
  const { stop } = await ggufChatFormat(model, { chatml: true });
  return rows.map((row) => ({
    prompt: row.messages,
    tokens: (llama) => promptTokens(llama, template.prompt(row.messages)),
    maxTokens,
    stop,
    stopPerToken: false,
    answer: (text) => text.trim(),
    check: async (answer) => (await verifier.check(answer, row.expected !== undefined ? { expected: row.expected } : {})).pass,
  }));
}

/**
 * Rows of `neural generate heimdall`, each served as NornicDB serves its path (the exact prompt, tokenized with
 * special tokens parsed; the path's stop strings and token limit) and judged by NornicDB's acceptance rules. The
 * pair's prompt is the row's: its messages before the answer (chat), or the raw prompt text (the other paths).
 * A bad row is an error (exit 1), as in neural eval --task heimdall.
 */
async function heimdallItems(
  dataset: string,
  actions: string | undefined,
  maxTokens: number | undefined,
  io: Io,
): Promise<PairItem[] | number> {
  let rows: Awaited<ReturnType<typeof readHeldOut>>;
  let registryFor: Awaited<ReturnType<typeof registryResolver>>;
  try {
    rows = await readHeldOut(dataset);
    registryFor = await registryResolver(actions);
  } catch (error) {
    if (error instanceof HeldOutRowError || (error as Error).name === "GeneratorOptionsError") {
      io.err(`neural pairs: ${(error as Error).message}`);
      return EXIT.problems;
    }
    throw error;
  }
  return rows.map(({ c, row }) => {
    const site = NORNICDB_CALL_SITES[c.path];
    const registry = registryFor(c.naming);
    return {
      prompt: c.path === "chat" ? (row as { messages: Message[] }).messages.slice(0, -1) : c.prompt,
      ...(c.path === "chat" ? {} : { raw: true }),
      tokens: (llama) => llama.tokenize(c.prompt, { special: true, addSpecial: true }),
      maxTokens: Math.min(maxTokens ?? site.maxTokens, site.maxTokens),
      stop: site.stop,
      stopPerToken: true,
      answer: (text) => text,
      check: async (answer) => judgeAnswer(c, answer, registry).pass,
    };
  });
}

function printReport(r: PairsReport, io: Io, json: boolean): void {
  if (json) return io.out(JSON.stringify(r, null, 2));
  const pct = (a: number, b: number) => `${b ? ((100 * a) / b).toFixed(1) : "0.0"}%`;
  io.out(`${r.model} on ${r.dataset}: ${r.prompts} prompts × ${r.samples} samples, verifier ${r.verifier}`);
  io.out(
    `  answers passing: ${r.passed}/${r.answers} (${pct(r.passed, r.answers)})${r.blank ? `; ${r.blank} empty, left out of the pairs` : ""}`,
  );
  io.out(
    `  prompts: ${r.outcomes.paired} paired, ${r.outcomes.all_pass} all passed (tie, dropped), ${r.outcomes.all_fail} all failed (tie, dropped)`,
  );
  io.out(`wrote ${r.outcomes.paired} pairs to ${r.output}`);
}
