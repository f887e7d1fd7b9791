// `neural eval --task heimdall F.gguf --dataset held-out.jsonl`: each held-out row of `neural generate heimdall` is
// sent to llama.cpp as NornicDB sends it on its path (ChatML or raw text, its call-site limits and stop strings,
// greedy where NornicDB is greedy) and the answer is judged by NornicDB's own rules for that path.
import { formatIssue, readRecordsFromFile } from "@neural/dataset";
import {
  builtinRegistry,
  caseFromRow,
  formatReport,
  HeldOutRowError,
  judgeAnswer,
  loadRegistryFile,
  summarize,
  type HeimdallReport,
  type HeldOutCase,
  type Registry,
  type Verdict,
} from "@neural/generator-heimdall";
import { LlamaModelProcess, NORNICDB_CALL_SITES, nornicdbGenerate } from "@neural/llama";
import { EXIT, type Io } from "../command.js";

export interface HeimdallEvalOptions {
  file: string;
  dataset: string;
  /** A registry file (`--actions`), else the built-in one of each row's naming. */
  actions?: string;
  limit?: number;
  contextSize: number;
  threads?: number;
}

export interface HeimdallEvalResult {
  report: HeimdallReport;
  verdicts: Verdict[];
  /** Rows whose prompt and answer budget do not fit the context. */
  tooLong: number;
}

/** Reads the held-out rows, each with its case (a bad row is an error naming file, line and field). */
export async function readHeldOut(dataset: string, limit = 0): Promise<{ line: number; c: HeldOutCase; row: unknown }[]> {
  const cases: { line: number; c: HeldOutCase; row: unknown }[] = [];
  for await (const event of readRecordsFromFile(dataset)) {
    if (limit > 0 && cases.length >= limit) break;
    if (event.issue) throw new HeldOutRowError("", formatIssue(event.issue));
    try {
      cases.push({ line: event.line, c: caseFromRow(event.value), row: event.value });
    } catch (error) {
      if (error instanceof HeldOutRowError)
        throw new HeldOutRowError(error.field, `${dataset}:${event.line}${error.field ? ` (${error.field})` : ""}: ${error.message}`);
      throw error;
    }
  }
  return cases;
}

/** The registry each row is judged with: the `--actions` file when given, else the built-in one of the row's naming. */
export async function registryResolver(actions?: string): Promise<(naming: string) => Registry> {
  const custom = actions ? await loadRegistryFile(actions) : undefined;
  const registries = new Map<string, Registry>();
  return (naming) => {
    if (custom) return custom;
    const key = naming === "underscore" ? "underscore" : "dotted";
    let r = registries.get(key);
    if (!r) registries.set(key, (r = builtinRegistry(key)));
    return r;
  };
}

export async function evaluateHeimdall(options: HeimdallEvalOptions, io?: Pick<Io, "status">): Promise<HeimdallEvalResult> {
  const cases = await readHeldOut(options.dataset, options.limit);
  const registryFor = await registryResolver(options.actions);
  const verdicts: Verdict[] = [];
  let tooLong = 0;
  const model = await LlamaModelProcess.load(options.file, {
    contextSize: options.contextSize,
    ...(options.threads ? { threads: options.threads } : {}),
  });
  try {
    for (const [i, { c }] of cases.entries()) {
      io?.status(`heimdall eval ${i + 1}/${cases.length}  accepted so far ${verdicts.filter((v) => v.pass).length}/${verdicts.length}`);
      const site = NORNICDB_CALL_SITES[c.path];
      const promptTokens = await model.tokenize(c.prompt, { special: true, addSpecial: true });
      const room = model.info.contextSize - promptTokens.length;
      if (room < 1) {
        tooLong++;
        continue;
      }
      const answer = await nornicdbGenerate(model, c.prompt, { ...site, maxTokens: Math.min(site.maxTokens, room) });
      verdicts.push(judgeAnswer(c, answer.text, registryFor(c.naming)));
    }
  } finally {
    io?.status("");
    await model.close();
  }
  return { report: summarize(verdicts), verdicts, tooLong };
}

/** The command's side: runs the evaluation and prints the table (or JSON). */
export async function runHeimdallEval(options: HeimdallEvalOptions & { json?: boolean; minAccuracy?: number }, io: Io): Promise<number> {
  let result: HeimdallEvalResult;
  try {
    result = await evaluateHeimdall(options, io);
  } catch (error) {
    if (error instanceof HeldOutRowError || (error as Error).name === "GeneratorOptionsError") {
      io.err(`neural eval: ${(error as Error).message}`);
      return EXIT.problems;
    }
    throw error;
  }
  const { report, tooLong } = result;
  if (options.json) io.out(JSON.stringify({ file: options.file, dataset: options.dataset, tooLong, ...report }, null, 2));
  else {
    io.out(
      `${options.file} on ${options.dataset}: NornicDB's acceptance per path (llama.cpp, prompts and sampling as NornicDB serves them)\n`,
    );
    io.out(formatReport(report));
  }
  if (tooLong) io.err(`skipped ${tooLong} rows whose prompt does not fit --context_size ${options.contextSize}`);
  const rate = report.total ? report.passed / report.total : 0;
  return options.minAccuracy !== undefined && rate < options.minAccuracy ? EXIT.problems : EXIT.ok;
}
