import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkCypher } from "@neural/cypher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { neural } from "../testing.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "neural-generate-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const lines = async (file: string) =>
  (await readFile(file, "utf8"))
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const repoRoot = path.resolve(fileURLToPath(import.meta.url), "../../../../..");

describe("neural generate", () => {
  it("lists the generators", async () => {
    const r = await neural("generate");
    expect(r.code).toBe(0);
    for (const name of ["cypher", "repo-patterns", "mtg", "coding", "tlp"]) expect(r.stdout).toContain(`  ${name}`);
    expect((await neural("generate", "nope")).code).toBe(2);
  });

  it.each([
    ["cypher", []],
    ["mtg", []],
    ["coding", ["--languages", "python,java"]],
    ["tlp", ["--format", "chat"]],
  ] as const)("generate %s writes exactly --count rows into a new folder and prints the summary", async (name, extra) => {
    const out = path.join(dir, name, "nested", "rows.jsonl");
    const r = await neural("generate", name, "--count", "60", "--seed", "7", "--output", out, ...extra);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${name}: 60 rows`));
    expect(r.stdout).toMatch(/requested\s+actual\s+capacity/);
    const rows = await lines(out);
    expect(rows).toHaveLength(60);
    expect(rows.every((row) => typeof row.category === "string")).toBe(true);
    if (name === "cypher") for (const row of rows) expect(checkCypher(row.output as string).ok).toBe(true);
  });

  it("accepts --num-examples and --num_examples as --count, snake and kebab option names", async () => {
    const a = path.join(dir, "a.jsonl");
    const b = path.join(dir, "b.jsonl");
    expect((await neural("generate", "tlp", "--num-examples", "25", "--output", a)).code).toBe(0);
    expect((await neural("generate", "tlp", "--num_examples=25", "--output", b)).code).toBe(0);
    expect(await readFile(a, "utf8")).toBe(await readFile(b, "utf8"));
    expect(await lines(a)).toHaveLength(25);
  });

  it("repo-patterns mines this repository", async () => {
    const out = path.join(dir, "repo.jsonl");
    const r = await neural(
      "generate",
      "repo-patterns",
      "--repo",
      repoRoot,
      "--language",
      "typescript",
      "--count",
      "40",
      "--output",
      out,
      "--max-file-size",
      "100000",
    );
    expect(r.code).toBe(0);
    expect(await lines(out)).toHaveLength(40);
  });

  it("too large a --count is refused with the maximum, exit 1, and no file", async () => {
    const out = path.join(dir, "none.jsonl");
    const r = await neural("generate", "tlp", "--count", "1000000", "--output", out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/tlp can produce at most \d+ unique rows/);
    await expect(readFile(out)).rejects.toThrow();
  });

  it("usage errors exit 2; --capacity and --help print", async () => {
    expect((await neural("generate", "mtg", "--format", "xml")).code).toBe(2);
    expect((await neural("generate", "repo-patterns", "--count", "5", "--output", path.join(dir, "x.jsonl"))).stderr).toMatch(
      /--repo PATH is required/,
    );
    const cap = await neural("generate", "coding", "--capacity");
    expect(cap.code).toBe(0);
    expect(cap.stdout).toMatch(/coding: at most \d+ unique rows/);
    const help = await neural("generate", "cypher", "--help");
    expect(help.stdout).toMatch(/--schemas/);
  });

  it("--output - writes rows to stdout and the summary to stderr", async () => {
    const r = await neural("generate", "tlp", "--count", "3", "--output", "-");
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(3);
    expect(r.stderr).toMatch(/tlp: 3 rows/);
  });

  it("the samples in datasets/generated are current (same seed, same bytes) and pass the validator", async () => {
    const samples = path.join(repoRoot, "datasets", "generated");
    for (const name of ["cypher", "mtg", "coding", "tlp"]) {
      const out = path.join(dir, `sample-${name}.jsonl`);
      expect((await neural("generate", name, "--count", "50", "--seed", "42", "--output", out)).code).toBe(0);
      expect({ name, same: (await readFile(out, "utf8")) === (await readFile(path.join(samples, `${name}.jsonl`), "utf8")) }).toEqual({
        name,
        same: true,
      });
    }
    for (const name of ["cypher", "mtg", "coding", "tlp", "repo-patterns"]) {
      const r = await neural("validate", path.join(samples, `${name}.jsonl`), "--json", ...(name === "cypher" ? ["--check-cypher"] : []));
      const report = JSON.parse(r.stdout) as {
        records: number;
        invalid: number;
        ok: boolean;
        duplicates: { normalized: { rows: number } };
        checks: { cypher?: { failed: number } };
      };
      expect({
        name,
        code: r.code,
        records: report.records,
        invalid: report.invalid,
        dups: report.duplicates.normalized.rows,
        cypherFailed: report.checks.cypher?.failed ?? 0,
      }).toEqual({ name, code: 0, records: 50, invalid: 0, dups: 0, cypherFailed: 0 });
    }
  });
});
