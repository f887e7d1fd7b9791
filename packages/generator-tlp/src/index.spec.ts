import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { validateFile } from "@neural/dataset";
import { measureCapacity, planGeneration, runGenerator } from "@neural/generators";
import { distributionGap, independentChecks, packInstallAndRun } from "@neural/generators/testing";
import { afterAll, describe, expect, it } from "vitest";
import { categoryOf, classify, DATA_KINDS, explain, SHARING_CONTEXTS, tlpGenerator, tlpSpaces, TLP_LABELS } from "./index.js";

let dir: string;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function out(name: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), "tlp-"));
  return join(dir, name);
}

const balanced = Object.fromEntries(TLP_LABELS.map((l) => [categoryOf(l), 1]));

describe("tlp taxonomy", () => {
  it("labels with the stricter of content floor and intended audience", () => {
    const clearKind = DATA_KINDS.find((k) => k.floor === "CLEAR")!;
    const redKind = DATA_KINDS.find((k) => k.floor === "RED")!;
    const publicSite = SHARING_CONTEXTS.find((c) => c.label === "CLEAR")!;
    const isac = SHARING_CONTEXTS.find((c) => c.label === "GREEN")!;
    expect(classify(clearKind, publicSite)).toBe("CLEAR");
    expect(classify(clearKind, isac)).toBe("GREEN");
    expect(classify(redKind, publicSite)).toBe("RED");
    expect(explain(redKind, publicSite)).toMatch(/^TLP:RED\n\nThe content sets the bar: .* never be looser than the content allows\./);
    expect(explain(clearKind, isac)).toMatch(/^TLP:GREEN\n\nOn its content alone this could go as low as TLP:CLEAR/);
  });

  it("every label is reachable with thousands of unique rows, and the spaces are exact", () => {
    const capacity = measureCapacity(tlpSpaces());
    for (const [name, c] of capacity) {
      expect(c.unique, name).toBe(c.size);
      expect(c.unique, name).toBeGreaterThan(5000);
    }
    expect(planGeneration("tlp", tlpSpaces(), { count: 0 }).maxCount).toBeGreaterThanOrEqual(10_000);
  });
});

describe("tlp generation", () => {
  it.each([1000, 10_000])("--count %i gives exactly that many rows, zero format errors and duplicates, balanced labels", async (count) => {
    const path = await out(`tlp-${count}.jsonl`);
    const summary = await runGenerator(tlpGenerator, { count, seed: 42, output: path });
    expect(summary.count).toBe(count);
    const text = await readFile(path, "utf8");
    const ours = independentChecks(text);
    expect(ours).toMatchObject({ rows: count, formatErrors: [], duplicates: 0 });
    expect(distributionGap(ours.categories, balanced)).toBeLessThanOrEqual(2);
    const report = await validateFile(path);
    expect(report.records).toBe(count);
    expect(report.errors.total).toBe(0);
    expect(report.duplicates.normalized.rows).toBe(0);
    expect(distributionGap(report.categories, balanced)).toBeLessThanOrEqual(2);
    // Every answer starts with the label its category names.
    for (const line of text.trimEnd().split("\n")) {
      const row = JSON.parse(line) as { output: string; category: string };
      expect(categoryOf(row.output.slice(4, row.output.indexOf("\n")) as never)).toBe(row.category);
    }
  });

  it("same seed is byte-identical, another seed differs; chat rows work", async () => {
    const [a, b, c, d] = await Promise.all(["a", "b", "c", "d"].map((n) => out(`${n}.jsonl`)));
    await runGenerator(tlpGenerator, { count: 500, seed: 7, output: a! });
    await runGenerator(tlpGenerator, { count: 500, seed: 7, output: b! });
    await runGenerator(tlpGenerator, { count: 500, seed: 8, output: c! });
    await runGenerator(tlpGenerator, { count: 50, seed: 8, output: d!, format: "chat" });
    const [ta, tb, tc, td] = await Promise.all([a!, b!, c!, d!].map((p) => readFile(p, "utf8")));
    expect(ta).toBe(tb);
    expect(ta).not.toBe(tc);
    expect(JSON.parse(td!.split("\n")[0]!)).toMatchObject({ messages: [{ role: "user" }, { role: "assistant" }] });
  });

  it("packs into a self-contained tarball whose bin runs offline", async () => {
    const packageDir = fileURLToPath(new URL("..", import.meta.url));
    const result = await packInstallAndRun(packageDir, "neural-generate-tlp", [
      "--count",
      "200",
      "--output",
      "out/tlp.jsonl",
      "--seed",
      "3",
    ]);
    expect(result.stdout).toMatch(/tlp: 200 rows/);
    const text = await readFile(join(result.dir, "out/tlp.jsonl"), "utf8");
    expect(independentChecks(text)).toMatchObject({ rows: 200, formatErrors: [], duplicates: 0 });
    await rm(join(result.dir, ".."), { recursive: true, force: true });
  }, 120_000);
});
