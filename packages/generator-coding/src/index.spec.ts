import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { validateFile } from "@neural/dataset";
import { planGeneration, runGenerator } from "@neural/generators";
import { distributionGap, independentChecks, packInstallAndRun } from "@neural/generators/testing";
import { checkSyntax, createParser } from "@neural/generators/tree-sitter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allTasks,
  codingGenerator,
  codingSpaces,
  evaluate,
  fnName,
  renderFunction,
  renderTests,
  testCases,
  witness,
  type Language,
} from "./index.js";

let dir: string | undefined;
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
async function out(name: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), "coding-"));
  return join(dir, name);
}

const FENCE_LANG: Record<string, Language> = { python: "python", go: "go", javascript: "javascript", java: "java" };
let parsers: Record<Language, Awaited<ReturnType<typeof createParser>>>;
beforeAll(async () => {
  parsers = {
    python: await createParser("python"),
    go: await createParser("go"),
    javascript: await createParser("javascript"),
    java: await createParser("java"),
  };
});

/** Our own pass over a file: every fenced code block, in every row, parsed with its language's grammar. */
function parseEveryBlock(text: string): { blocks: number; failures: string[] } {
  let blocks = 0;
  const failures: string[] = [];
  text
    .trimEnd()
    .split("\n")
    .forEach((line, i) => {
      const row = JSON.parse(line) as { input: string; output: string; category: string };
      for (const field of [row.input, row.output]) {
        for (const m of field.matchAll(/```(\w+)\n([\s\S]*?)\n```/g)) {
          blocks++;
          const lang = FENCE_LANG[m[1]!];
          if (!lang || !checkSyntax(parsers[lang], m[2]!).ok) failures.push(`line ${i + 1} (${row.category}, ${m[1]})`);
        }
      }
      if (row.category !== "understanding" && !/```\w+\n/.test(row.output))
        failures.push(`line ${i + 1}: ${row.category} answer without code`);
    });
  return { blocks, failures };
}

describe("the IR and its renderings", () => {
  const tasks = allTasks();

  it("runs the JavaScript rendering of every task and gets the evaluator's results", () => {
    for (const task of tasks) {
      const code = renderFunction(task.fn, "javascript").replace(/^export /m, "");
      const context = vm.createContext({});
      vm.runInContext(code, context);
      const fn = context[fnName(task.fn, "javascript")] as (...a: unknown[]) => unknown;
      for (const args of task.samples)
        expect({ id: task.id, args, got: fn(...structuredClone(args)) }).toEqual({ id: task.id, args, got: evaluate(task.fn, args) });
    }
  });

  it("runs the Python rendering of every task with python3, when it is installed", async (ctx) => {
    const python = spawnSync("python3", ["--version"]);
    if (python.status !== 0) ctx.skip();
    const script = tasks
      .map(
        (task) =>
          `${renderFunction(task.fn, "python")}\nprint(repr([${task.samples.map((args) => `${fnName(task.fn, "python")}(${args.map((a) => JSON.stringify(a).replace(/true/g, "True").replace(/false/g, "False")).join(", ")})`).join(", ")}]))\n`,
      )
      .join("\n");
    const path = await out("all.py");
    await writeFile(path, script);
    const lines = execFileSync("python3", [path], { encoding: "utf8", maxBuffer: 64 << 20 })
      .trimEnd()
      .split("\n");
    expect(lines.length).toBe(tasks.length);
    tasks.forEach((task, i) => {
      const expected = task.samples.map((args) => evaluate(task.fn, args));
      const pythonRepr = JSON.stringify(expected)
        .replace(/true/g, "True")
        .replace(/false/g, "False")
        .replace(/,/g, ", ")
        .replace(/"/g, "'");
      expect({ id: task.id, got: lines[i] }).toEqual({ id: task.id, got: pythonRepr });
    });
  });

  it("every rendering of every task, every planted bug and every test file parses with tree-sitter", () => {
    for (const task of tasks)
      for (const lang of ["python", "go", "javascript", "java"] as Language[]) {
        expect({ id: task.id, lang, ok: checkSyntax(parsers[lang], renderFunction(task.fn, lang, "Doc.")).ok }).toEqual({
          id: task.id,
          lang,
          ok: true,
        });
        expect({
          id: task.id,
          lang,
          tests: checkSyntax(parsers[lang], renderTests(task.fn, lang, testCases(task.fn, task.samples))).ok,
        }).toEqual({ id: task.id, lang, tests: true });
        for (const m of task.mutations)
          expect({ id: task.id, m: m.id, ok: checkSyntax(parsers[lang], renderFunction(m.fn, lang)).ok }).toEqual({
            id: task.id,
            m: m.id,
            ok: true,
          });
      }
  });

  it("planted bugs change behaviour on a sample input (most of them; the rest are never used)", () => {
    let observable = 0;
    let total = 0;
    for (const task of tasks)
      for (const m of task.mutations) {
        total++;
        if (witness(task, m)) observable++;
      }
    expect(observable / total).toBeGreaterThan(0.9);
  });
});

describe("coding generation", () => {
  const requested = { generation: 40, bug_fix: 30, understanding: 20, test_writing: 10 };

  it("claims more than 10,000 rows at 40/30/20/10", async () => {
    expect(planGeneration("coding", await codingSpaces(), { count: 0 }).maxCount).toBeGreaterThan(10_000);
  });

  it.each([1000, 10_000])(
    "--count %i: exact, valid, no duplicates, 40/30/20/10 within 2 points, every code block parses",
    async (count) => {
      const path = await out(`coding-${count}.jsonl`);
      const summary = await runGenerator(codingGenerator, { count, seed: 42, output: path });
      expect(summary).toMatchObject({ count, rejected: 0, duplicates: 0 });
      const text = await readFile(path, "utf8");
      expect(independentChecks(text)).toMatchObject({ rows: count, formatErrors: [], duplicates: 0 });
      const report = await validateFile(path);
      expect(report.records).toBe(count);
      expect(report.errors.total).toBe(0);
      expect(report.duplicates.normalized.rows).toBe(0);
      expect(distributionGap(report.categories, requested)).toBeLessThanOrEqual(2);
      const parsed = parseEveryBlock(text);
      expect(parsed.failures).toEqual([]);
      expect(parsed.blocks).toBeGreaterThan(count);
    },
    120_000,
  );

  it("covers all four languages, and --languages restricts them", async () => {
    const path = await out("langs.jsonl");
    await runGenerator(codingGenerator, { count: 400, seed: 1, output: path });
    const fields = (t: string) =>
      t
        .trimEnd()
        .split("\n")
        .map((l) => {
          const r = JSON.parse(l) as { input: string; output: string };
          return `${r.input}\n${r.output}`;
        })
        .join("\n");
    const text = fields(await readFile(path, "utf8"));
    for (const fence of ["```python\n", "```go\n", "```javascript\n", "```java\n"]) expect(text).toContain(fence);
    const goOnly = await out("go.jsonl");
    await runGenerator(codingGenerator, { count: 200, seed: 1, output: goOnly, generatorOptions: { languages: ["go"] } });
    const g = fields(await readFile(goOnly, "utf8"));
    expect(g).toContain("```go\n");
    expect(g).not.toMatch(/```(python|javascript|java)\n/);
  });

  it("same seed is byte-identical, another seed differs", async () => {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => out(`${n}.jsonl`)));
    await runGenerator(codingGenerator, { count: 300, seed: 9, output: a! });
    await runGenerator(codingGenerator, { count: 300, seed: 9, output: b! });
    await runGenerator(codingGenerator, { count: 300, seed: 10, output: c! });
    const [ta, tb, tc] = await Promise.all([a!, b!, c!].map((p) => readFile(p, "utf8")));
    expect(ta).toBe(tb);
    expect(ta).not.toBe(tc);
  });

  it("packs into a self-contained tarball (grammars included) whose bin runs offline", async () => {
    const packageDir = fileURLToPath(new URL("..", import.meta.url));
    const result = await packInstallAndRun(packageDir, "neural-generate-coding", ["--count", "120", "--output", "out/c.jsonl"]);
    expect(result.stdout).toMatch(/coding: 120 rows/);
    const text = await readFile(join(result.dir, "out/c.jsonl"), "utf8");
    expect(independentChecks(text)).toMatchObject({ rows: 120, formatErrors: [], duplicates: 0 });
    expect(parseEveryBlock(text).failures).toEqual([]);
    await rm(join(result.dir, ".."), { recursive: true, force: true });
  }, 180_000);
});
