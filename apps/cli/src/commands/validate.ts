import {
  DatasetError,
  formatIssue,
  loadTokenizer,
  resolveTemplate,
  stripCodeFence,
  TemplateError,
  TokenizerError,
  validateFile,
  type AnswerCheck,
  type TemplateName,
  type ValidationReport,
} from "@neural/dataset";
import { EXIT, type Command, type Io } from "../command.js";

/** --check-cypher: each answer (without a code fence) through Neo4j's Cypher parser. */
const cypherCheck: AnswerCheck = {
  name: "cypher",
  failure: "do not parse as Cypher",
  async check(answer) {
    // Neo4j's parser is a large module: loaded only when asked for.
    const { checkCypher } = await import("@neural/cypher");
    const result = checkCypher(stripCodeFence(answer));
    if (result.ok) return undefined;
    const d = result.diagnostics.find((x) => x.severity !== "warning");
    return d ? `Cypher ${d.line}:${d.column}: ${d.message}` : "Cypher does not parse";
  },
};

export const validate: Command = {
  name: "validate",
  positionals: [{ name: "file", description: "a .jsonl file (or a JSON array)", required: true }],
  options: [
    {
      name: "tokenizer",
      type: "string",
      description: "measure lengths in this tokenizer's tokens (a model or tokenizer dir)",
      unset: "no token counts",
    },
    {
      name: "template",
      type: "string",
      description: "template used to render examples for lengths",
      choices: ["chatml", "alpaca", "model"],
      default: "chatml",
    },
    { name: "max_length", type: "number", description: "report examples longer than this", unset: "no length check" },
    { name: "check_cypher", type: "boolean", description: "parse every answer with Neo4j's Cypher parser" },
    { name: "max_duplicate_ratio", type: "number", description: "duplicate share above which the check fails", default: 0 },
    {
      name: "max_category_ratio",
      type: "number",
      description: "largest/smallest category ratio above which the check fails",
      unset: "warn above 3",
    },
    { name: "max_overlong_ratio", type: "number", description: "share over --max_length above which the check fails", unset: "warn" },
    { name: "max_shown", type: "number", description: "how many errors and duplicate groups to list", default: 20 },
    { name: "json", type: "boolean", description: "print the report as JSON (schema: @neural/dataset validationReportSchema)" },
  ],
  async run(args, io) {
    const o = args.options;
    const file = args.positionals[0]!;
    let report: ValidationReport;
    try {
      const tokenizer = o.tokenizer !== undefined ? await loadTokenizer(o.tokenizer as string) : undefined;
      const template = resolveTemplate(o.template as TemplateName, tokenizer);
      report = await validateFile(file, {
        template,
        ...(tokenizer ? { tokenizer } : {}),
        ...(o.max_length !== undefined ? { maxLength: o.max_length as number } : {}),
        maxDuplicateRatio: o.max_duplicate_ratio as number,
        ...(o.max_category_ratio !== undefined ? { maxCategoryRatio: o.max_category_ratio as number } : {}),
        ...(o.max_overlong_ratio !== undefined ? { maxOverlongRatio: o.max_overlong_ratio as number } : {}),
        maxShown: o.max_shown as number,
        ...(o.check_cypher ? { checks: [cypherCheck] } : {}),
        onProgress: (n) => io.status(`validate: ${n.toLocaleString("en-US")} records`),
      });
      io.status("");
    } catch (error) {
      if (error instanceof DatasetError || error instanceof TokenizerError || error instanceof TemplateError) {
        io.err(`neural validate: ${error.message}`);
        return EXIT.problems;
      }
      throw error;
    }
    if (o.json) io.out(JSON.stringify(report, null, 2));
    else printReport(report, io);
    return report.ok ? EXIT.ok : EXIT.problems;
  },
};

function printReport(r: ValidationReport, io: Io): void {
  const lines: string[] = [];
  const list = (entries: [string, number][]) => entries.map(([k, v]) => `${k} ${v}`).join(", ");
  lines.push(`${r.file}: ${r.records} records, ${r.valid} valid, ${r.invalid} invalid`);
  const formats = Object.entries(r.formats).filter(([, n]) => n > 0);
  if (formats.length) lines.push(`formats: ${list(formats)}`);
  if (r.preference) {
    const p = r.preference;
    lines.push(
      p.pairs
        ? `preference pairs: ${p.pairs} (chosen/rejected)`
        : `labelled completions (KTO): ${p.desirable} desirable, ${p.undesirable} undesirable`,
    );
    const l = p.promptLengths;
    if (l) lines.push(`prompt lengths (${l.unit}): min ${l.min}, p50 ${l.p50}, p95 ${l.p95}, max ${l.max}, mean ${l.mean.toFixed(1)}`);
  }
  const categories = Object.entries(r.categories);
  if (categories.length) {
    lines.push(`categories: ${list(categories)}${r.uncategorized ? `, (none) ${r.uncategorized}` : ""}`);
    if (r.categoryBalance) lines.push(`category balance: largest/smallest = ${r.categoryBalance.ratio.toFixed(2)}`);
  }
  if (r.errors.total) {
    lines.push(`errors (${r.errors.total}):`);
    for (const issue of r.errors.shown) lines.push(`  ${formatIssue(issue)}`);
    if (r.errors.omitted) lines.push(`  ... and ${r.errors.omitted} more`);
  }
  const dup = r.duplicates.normalized;
  lines.push(
    `duplicates: ${dup.rows} rows (${r.duplicates.exact.rows} exact, ${dup.rows - r.duplicates.exact.rows} after whitespace/case normalization)`,
  );
  for (const group of dup.groups) lines.push(`  lines ${group.lines.join(", ")}`);
  if (dup.omittedGroups) lines.push(`  ... and ${dup.omittedGroups} more groups`);
  if (r.lengths) {
    const l = r.lengths;
    lines.push(`lengths (${l.unit}): min ${l.min}, p50 ${l.p50}, p95 ${l.p95}, max ${l.max}, mean ${l.mean.toFixed(1)}`);
    const peak = Math.max(...l.histogram.map((h) => h.count));
    for (const h of l.histogram) {
      if (h.count === 0) continue;
      lines.push(`  ${`${h.from}-${h.to - 1}`.padStart(13)} ${"#".repeat(Math.max(1, Math.round((h.count / peak) * 40)))} ${h.count}`);
    }
    if (l.maxLength !== undefined) lines.push(`over max_length ${l.maxLength}: ${l.overMaxLength}`);
  }
  for (const [name, c] of Object.entries(r.checks)) {
    lines.push(`${name}: ${c.checked} checked, ${c.failed} failed`);
    for (const issue of c.shown) lines.push(`  ${formatIssue(issue)}`);
    if (c.omitted) lines.push(`  ... and ${c.omitted} more`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  for (const p of r.problems) lines.push(`problem: ${p}`);
  lines.push(r.ok ? "result: OK" : `result: ${r.problems.length} problem${r.problems.length === 1 ? "" : "s"}`);
  io.out(lines.join("\n"));
}
