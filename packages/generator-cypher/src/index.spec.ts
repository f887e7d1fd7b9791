import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkCypher } from "@neural/cypher";
import { validateFile } from "@neural/dataset";
import { CapacityError, createRng, planGeneration, runGenerator } from "@neural/generators";
import { distributionGap, independentChecks, packInstallAndRun } from "@neural/generators/testing";
import { afterAll, describe, expect, it } from "vitest";
import { CATEGORIES, cypherGenerator, cypherSpaces, SCHEMAS } from "./index.js";

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function out(name: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), "cypher-"));
  return join(dir, name);
}

const equal = Object.fromEntries(CATEGORIES.map((c) => [c.name, 1]));
const rowsOf = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as { instruction: string; input: string; output: string; category: string });

describe("cypher generator", () => {
  it("has at least 10,000 unique rows at the default distribution, in several schemas", () => {
    const plan = planGeneration("cypher", cypherSpaces(), { count: 0 });
    expect(plan.maxCount).toBeGreaterThanOrEqual(10_000);
    expect(SCHEMAS.length).toBeGreaterThanOrEqual(5);
    expect(plan.categories.map((c) => c.category)).toEqual(CATEGORIES.map((c) => c.name));
  });

  it.each([1000, 10_000])(
    "--count %i: exactly that many rows; the validator (with the real Cypher parser) finds no format error, duplicate or bad query; categories within 2 points",
    async (count) => {
      const path = await out(`cypher-${count}.jsonl`);
      const summary = await runGenerator(cypherGenerator, { count, seed: 42, output: path });
      expect(summary).toMatchObject({ count, rejected: 0, duplicates: 0 });
      const text = await readFile(path, "utf8");
      const ours = independentChecks(text);
      expect(ours).toMatchObject({ rows: count, formatErrors: [], duplicates: 0 });
      expect(distributionGap(ours.categories, equal)).toBeLessThanOrEqual(2);
      const cypher = {
        name: "cypher",
        failure: "do not parse as Cypher",
        check: (q: string) => (checkCypher(q).ok ? undefined : "Cypher does not parse"),
      };
      const report = await validateFile(path, { checks: [cypher] });
      expect(report.records).toBe(count);
      expect(report.errors.total).toBe(0);
      expect(report.duplicates.normalized.rows).toBe(0);
      expect(report.checks.cypher).toMatchObject({ checked: count, failed: 0 });
      expect(distributionGap(report.categories, equal)).toBeLessThanOrEqual(2);
      if (count === 1000) {
        // Neo4j's semantic analysis on a sample of the written rows: no error, no warning.
        const rng = createRng("sample");
        for (const row of rng.sample(rowsOf(text), 40))
          expect({ q: row.output, d: checkCypher(row.output, { semantic: true }).diagnostics }).toEqual({ q: row.output, d: [] });
      }
    },
    120_000,
  );

  it("every query family passes Neo4j's semantic analysis (one query per family, rotating schemas)", () => {
    let k = 0;
    for (const category of CATEGORIES) {
      const families = category.families(SCHEMAS[0]!).length;
      for (let f = 0; f < families; f++) {
        const schema = SCHEMAS[k++ % SCHEMAS.length]!;
        const family = category.families(schema)[f]!;
        if (family.size === 0) continue;
        const { cypher } = family.at((k * 7919) % family.size);
        expect({ category: category.name, schema: schema.name, cypher, d: checkCypher(cypher, { semantic: true }).diagnostics }).toEqual({
          category: category.name,
          schema: schema.name,
          cypher,
          d: [],
        });
      }
    }
  }, 120_000);

  it("same seed is byte-identical, another seed differs", async () => {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => out(`${n}.jsonl`)));
    await runGenerator(cypherGenerator, { count: 300, seed: 1, output: a! });
    await runGenerator(cypherGenerator, { count: 300, seed: 1, output: b! });
    await runGenerator(cypherGenerator, { count: 300, seed: 2, output: c! });
    const [ta, tb, tc] = await Promise.all([a!, b!, c!].map((p) => readFile(p, "utf8")));
    expect(ta).toBe(tb);
    expect(ta).not.toBe(tc);
  });

  it("names its capacity when asked for too much, and honours options", async () => {
    const max = planGeneration("cypher", cypherSpaces(), { count: 0 }).maxCount;
    await expect(runGenerator(cypherGenerator, { count: max + 1, seed: 1, output: await out("too-many.jsonl") })).rejects.toThrow(
      CapacityError,
    );
    await expect(runGenerator(cypherGenerator, { count: max + 1, seed: 1, output: await out("too-many.jsonl") })).rejects.toThrow(
      new RegExp(`at most ${max} unique rows`),
    );
    const path = await out("movies.jsonl");
    // movies alone has no relationship between two nodes of one label, so no shortest paths: the error says so.
    await expect(
      runGenerator(cypherGenerator, { count: 100, seed: 1, output: path, generatorOptions: { schemas: ["movies"] } }),
    ).rejects.toThrow(/category "shortest_path" needs 5 but has 0/);
    await runGenerator(cypherGenerator, {
      count: 100,
      seed: 1,
      output: path,
      generatorOptions: { schemas: ["movies", "social"], schema_in_prompt: false },
    });
    const rows = rowsOf(await readFile(path, "utf8"));
    expect(rows.every((r) => r.input === "")).toBe(true);
    expect(rows.some((r) => /:Movie\b/.test(r.output))).toBe(true);
    expect(rows.some((r) => /:(Customer|Employee|Airport)\b/.test(r.output))).toBe(false);
    expect(() => cypherSpaces({ schemas: ["nope"] })).toThrow(/unknown schema "nope"/);
  });

  it("packs into a tarball that uses @neural/cypher's parser (not a second copy) and whose bin runs where it is installed", async () => {
    const packageDir = fileURLToPath(new URL("..", import.meta.url));
    const result = await packInstallAndRun(packageDir, "neural-generate-cypher", ["--num-examples", "200", "--output", "out/c.jsonl"]);
    expect(result.stdout).toMatch(/cypher: 200 rows/);
    const text = await readFile(join(result.dir, "out/c.jsonl"), "utf8");
    expect(independentChecks(text)).toMatchObject({ rows: 200, formatErrors: [], duplicates: 0 });
    for (const row of rowsOf(text)) expect(checkCypher(row.output).ok).toBe(true);
    await rm(join(result.dir, ".."), { recursive: true, force: true });
  }, 180_000);
});
