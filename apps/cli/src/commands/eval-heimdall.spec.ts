import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { writeScriptedGguf, type ScriptedGguf } from "../scripted-gguf.spec-helper.js";
import { neural } from "../testing.js";

const root = await mkdtemp(join(tmpdir(), "cli-eval-heimdall-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let m: ScriptedGguf;
const dataset = join(root, "held-out.jsonl");
beforeAll(async () => {
  m = await writeScriptedGguf(join(root, "paris"), "Paris"); // answers "Paris" to every prompt ending in "\n"
  const g = await neural(
    "generate",
    "heimdall",
    "--count",
    "4",
    "--seed",
    "7",
    "--mix",
    "chat_action=1,chat_direct=1,qc=2",
    "--output",
    dataset,
  );
  expect(g.code).toBe(0);
}, 300_000);

it("judges each answer by NornicDB's rules per path, with both envelope rules, per action, and lists the wrong ones", async () => {
  const r = await neural("eval", "--task", "heimdall", m.path, "--dataset", dataset);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^chat +50\.0% 1\/2 +50\.0% \(2\) +50\.0% \(2\)$/m);
  expect(r.stdout).toMatch(/^qc +0\.0% 0\/2/m);
  expect(r.stdout).toMatch(/^chat chat_direct +100\.0% 1\/1/m);
  expect(r.stdout).toMatch(/^chat heimdall\.watcher\.\w+ +0\.0% 0\/\d/m);
  expect(r.stdout).toMatch(/\[chat heimdall\.watcher\.\w+\] no envelope \(prose\): "Paris"/);
  expect(r.stdout).toMatch(/\[qc qc\] fuzzy fallback: no JSON object: "Paris"/);
  const j = await neural("eval", "--task", "heimdall", m.path, "--dataset", dataset, "--json", "--min_accuracy", "0.5");
  expect(j.code).toBe(1);
  expect(JSON.parse(j.stdout)).toMatchObject({ total: 4, passed: 1 });
}, 600_000);

it("names the file, line and field of a row it cannot judge", async () => {
  const bad = join(root, "bad.jsonl");
  const lines = (await readFile(dataset, "utf8")).trim().split("\n");
  const row = JSON.parse(lines[1]!) as Record<string, unknown>;
  delete row.path;
  await writeFile(bad, [lines[0], JSON.stringify(row)].join("\n") + "\n");
  const r = await neural("eval", "--task", "heimdall", m.path, "--dataset", bad);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/bad\.jsonl:2 \(path\): must be one of chat, loop, synthesis, autocomplete, qc/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
