import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { writeScriptedGguf, type ScriptedGguf } from "../scripted-gguf.spec-helper.js";
import { neural } from "../testing.js";
import type { EvalReport } from "./eval.js";

const root = await mkdtemp(join(tmpdir(), "cli-eval-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let m: ScriptedGguf;
const dataset = join(root, "capitals.jsonl");
beforeAll(async () => {
  m = await writeScriptedGguf(join(root, "paris"), "Paris"); // answers "Paris" to everything
  const rows = [
    { instruction: "Capital of France?", output: "Paris", category: "europe" },
    { instruction: "Capital of Italy?", output: "Rome", category: "europe" },
    { instruction: "Capital of France, again?", input: "(one word)", output: " Paris\n", category: "europe" }, // compared trimmed
    {
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Where is the Louvre?" },
        { role: "assistant", content: "Paris" },
      ],
      category: "museums",
    },
    { prompt: "Capital of Texas?", completion: "Austin" },
    { text: "plain text rows have no question: skipped" },
    { instruction: "" },
  ];
  await writeFile(dataset, rows.map((r) => JSON.stringify(r)).join("\n") + "\nnot json\n");
});

it("scores exact match over the rows through llama.cpp, per category, as text and JSON", async () => {
  const r = await neural("eval", m.path, "--dataset", dataset, "--max_tokens", "16");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/3\/5 exact match \(60\.0%\)/);
  expect(r.stdout).toMatch(/europe\s+3\s+2\s+66\.7%/);
  expect(r.stdout).toMatch(/museums\s+1\s+1\s+100\.0%/);
  expect(r.stdout).toMatch(/line 2 \[europe\]: expected "Rome", got "Paris"/);
  expect(r.stderr).toMatch(/skipped: .*capitals\.jsonl:7/); // the invalid row, named by line

  const j = await neural("eval", m.path, "--dataset", dataset, "--json", "--max_tokens", "16");
  const report = JSON.parse(j.stdout) as EvalReport;
  expect(report).toMatchObject({ evaluated: 5, correct: 3, accuracy: 0.6, skipped: { invalid: 2, text: 1, too_long: 0 } });
  expect(report.categories).toEqual({ europe: { rows: 3, correct: 2, accuracy: 2 / 3 }, museums: { rows: 1, correct: 1, accuracy: 1 } });
  expect(report.results[4]).toMatchObject({ line: 5, expected: "Austin", generated: "Paris", correct: false, stoppedBy: "eog" });
  expect(report.results.every((x) => x.generated === "Paris")).toBe(true);
});

it("--limit, --min_accuracy (exit 1 below it) and clear errors", async () => {
  const limited = await neural("eval", m.path, "--dataset", dataset, "--limit", "1", "--min_accuracy", "1");
  expect(limited.code).toBe(0);
  expect(limited.stdout).toMatch(/1\/1 exact match \(100\.0%\)/);
  expect((await neural("eval", m.path, "--dataset", dataset, "--min_accuracy", "0.9")).code).toBe(1);
  expect((await neural("eval", m.path)).code).toBe(2);
  const notGguf = await neural("eval", dataset, "--dataset", dataset);
  expect(notGguf.code).toBe(1);
  expect(notGguf.stderr).toMatch(/capitals\.jsonl \(magic\): .*not a GGUF file/);
  const noData = await neural("eval", m.path, "--dataset", join(root, "none.jsonl"));
  expect(noData.code).toBe(1);
  expect(noData.stderr).toMatch(/none\.jsonl.*file not found/);
});

it("scores preference rows by their chosen answer (and KTO rows labelled desirable), as a preference run's eval_split.jsonl", async () => {
  const pairs = join(root, "pairs.jsonl");
  const rows = [
    { prompt: "Capital of France?", chosen: "Paris", rejected: "Rome" },
    {
      prompt: [{ role: "user", content: "Capital of Italy?" }],
      chosen: [{ role: "assistant", content: "Rome" }],
      rejected: [{ role: "assistant", content: "Paris" }],
    },
    { prompt: "Capital of France?", completion: "Paris", label: true },
    { prompt: "Capital of France?", completion: "Lyon", label: false },
    // raw rows are sent as they are: the model answers "Paris" after "\n" (which ends every ChatML prompt) only
    { prompt: "Capital of France?\n", chosen: "Paris", rejected: "Rome", raw: true },
    { prompt: "Capital of France?", chosen: "Paris", rejected: "Rome", raw: true },
  ];
  await writeFile(pairs, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const r = await neural("eval", m.path, "--dataset", pairs, "--json", "--max_tokens", "16");
  const report = JSON.parse(r.stdout) as EvalReport;
  expect(report).toMatchObject({ evaluated: 5, correct: 3 });
  expect(report.results.slice(3).map((x) => x.correct)).toEqual([true, false]);
});
