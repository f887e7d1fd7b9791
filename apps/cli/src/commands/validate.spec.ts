import { Ajv } from "ajv";
import { validationReportSchema, type ValidationReport } from "@neural/dataset";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { neural } from "../testing.js";

const datasets = path.resolve(fileURLToPath(import.meta.url), "../../../../../datasets");
const file = (name: string) => path.join(datasets, name);
const checkSchema = new Ajv({ strict: true, allErrors: true }).compile(validationReportSchema);

async function report(...args: string[]): Promise<{ code: number; report: ValidationReport }> {
  const result = await neural("validate", ...args, "--json");
  const parsed = JSON.parse(result.stdout) as ValidationReport;
  expect(checkSchema(parsed), JSON.stringify(checkSchema.errors)).toBe(true);
  return { code: result.code, report: parsed };
}

describe("neural validate on the bundled datasets", () => {
  it.each([
    ["tlp.jsonl", { instruction: 40 }],
    ["chat.jsonl", { chat: 10 }],
    ["completion.jsonl", { completion: 8 }],
    ["prompt-completion.jsonl", { prompt_completion: 4 }],
    ["mixed.json", { instruction: 1, chat: 1, prompt_completion: 1, completion: 1 }],
  ])("%s is clean (exit 0)", async (name, formats) => {
    const { code, report: r } = await report(file(name));
    expect(code).toBe(0);
    expect(r.ok).toBe(true);
    expect(r.invalid).toBe(0);
    expect(r.formats).toMatchObject(formats);
  });

  it("knows TRL's preference rows: pairs, labelled completions, their prompt lengths, identical answers by line", async () => {
    const pairs = await report(file("preference.jsonl"));
    expect(pairs.code).toBe(0);
    expect(pairs.report.preference).toMatchObject({ pairs: 4, desirable: 0, undesirable: 0, promptLengths: { count: 4 } });
    const kto = await report(file("kto.jsonl"));
    expect(kto.code).toBe(0);
    expect(kto.report.preference).toMatchObject({ pairs: 0, desirable: 2, undesirable: 2 });
    const dir = await mkdtemp(path.join(tmpdir(), "neural-pairs-"));
    const same = path.join(dir, "same.jsonl");
    await writeFile(
      same,
      `${JSON.stringify({ prompt: "q", chosen: "a", rejected: "b" })}\n${JSON.stringify({ prompt: "q", chosen: "a", rejected: "a" })}\n`,
    );
    const text = await neural("validate", same);
    expect(text.code).toBe(1);
    expect(text.stdout + text.stderr).toMatch(/same\.jsonl:2: rejected: chosen and rejected are identical/);
    expect(text.stdout).toMatch(/preference pairs: 1/);
    expect(text.stdout).toMatch(/prompt lengths \(characters\)/);
  });

  it("balances the TLP categories and measures lengths in tokens with a tokenizer", async () => {
    const { report: r } = await report(file("tlp.jsonl"));
    expect(r.categories).toEqual({ amber: 8, amber_strict: 8, clear: 8, green: 8, red: 8 });
    expect(r.categoryBalance!.ratio).toBe(1);
    expect(r.lengths!.unit).toBe("characters");
    const dir = await mkdtemp(path.join(tmpdir(), "neural-tok-"));
    const trained = await neural("tokenizer", "train", "--dataset", file("tlp.jsonl"), "--vocab-size", "800", "--output", dir);
    expect(trained.code).toBe(0);
    const tokens = await report(file("tlp.jsonl"), "--tokenizer", dir, "--max_length", "64");
    expect(tokens.report.lengths!.unit).toBe("tokens");
    expect(tokens.report.lengths!.max).toBeLessThan(r.lengths!.max / 2);
    expect(tokens.report.lengths!.overMaxLength).toBeGreaterThan(0);
    expect(tokens.code).toBe(0); // over-long rows are a warning unless --max_overlong_ratio is given
    expect(tokens.report.warnings.join()).toMatch(/longer than max_length 64 tokens/);
  });

  it("reports every malformed line with line and column, and still reads the rest (exit 1)", async () => {
    const { code, report: r } = await report(file("bad/malformed.jsonl"));
    expect(code).toBe(1);
    expect(r.valid).toBe(3);
    expect(r.errors.shown.map((e) => [e.line, e.column])).toEqual([
      [2, 41],
      [3, 33],
      [5, 2],
    ]);
  });

  it("names the field of each bad record", async () => {
    const { code, report: r } = await report(file("bad/fields.jsonl"));
    expect(code).toBe(1);
    expect(r.valid).toBe(2);
    expect(r.errors.shown.map((e) => [e.line, e.field ?? null])).toEqual([
      [2, "output"],
      [3, "instruction"],
      [4, "messages[1].role"],
      [5, "messages"],
      [6, "completion"],
      [7, "text"],
      [8, null],
      [9, null],
    ]);
  });

  it("finds exact and normalized duplicates with their lines", async () => {
    const { code, report: r } = await report(file("bad/duplicates.jsonl"));
    expect(code).toBe(1);
    expect(r.duplicates.exact.groups).toEqual([{ lines: [1, 3] }]);
    expect(r.duplicates.normalized.groups).toEqual([{ lines: [1, 3] }, { lines: [2, 4] }]);
    expect((await report(file("bad/duplicates.jsonl"), "--max-duplicate-ratio", "0.5")).code).toBe(0);
  });

  it("handles an empty file without crashing (exit 1: nothing to train on)", async () => {
    const { code, report: r } = await report(file("bad/empty.jsonl"));
    expect(code).toBe(1);
    expect(r.records).toBe(0);
    expect(r.problems).toEqual(["no records: the file is empty"]);
  });

  it("warns about unbalanced categories, and fails when a threshold is given", async () => {
    const warned = await report(file("bad/unbalanced.jsonl"));
    expect(warned.code).toBe(0);
    expect(warned.report.warnings[0]).toMatch(/unbalanced/);
    expect((await report(file("bad/unbalanced.jsonl"), "--max_category_ratio", "3")).code).toBe(1);
  });

  it("counts examples over --max_length", async () => {
    const { code, report: r } = await report(file("tlp.jsonl"), "--max_length", "250", "--max-overlong-ratio", "0.1");
    expect(r.lengths!.overMaxLength).toBe(22);
    expect(code).toBe(1);
  });

  it("parses every answer with Neo4j's Cypher parser under --check-cypher, with the parser's message and position", async () => {
    const { code, report: r } = await report(file("bad/cypher.jsonl"), "--check-cypher");
    expect(code).toBe(1);
    expect(r.checks.cypher).toMatchObject({ checked: 5, failed: 2 });
    expect(r.checks.cypher!.shown.map((e) => e.line)).toEqual([2, 4]);
    expect(r.checks.cypher!.shown[0]!.message).toMatch(/^Cypher 1:\d+: /);
    const general = await report(file("chat.jsonl"), "--check-cypher");
    expect(general.report.checks.cypher!.failed).toBe(5); // the non-Cypher answers of a general chat file do not parse
  });

  it("exits 1 on a missing file, 2 on usage errors: an unknown flag, no file", async () => {
    expect((await neural("validate", file("nope.jsonl"))).code).toBe(1);
    expect((await neural("validate", file("nope.jsonl"))).stderr).toMatch(/nope\.jsonl: file not found/);
    expect((await neural("validate", file("tlp.jsonl"), "--max-lenght", "5")).stderr).toMatch(/did you mean --max_length/);
    expect((await neural("validate")).code).toBe(2);
  });

  it("prints a readable report", async () => {
    const { stdout } = await neural("validate", file("bad/malformed.jsonl"));
    expect(stdout).toContain("malformed.jsonl:2:41: invalid JSON");
    expect(stdout).toContain("result: 1 problem");
  });
});
