// neural pairs through llama.cpp on a GGUF whose answer is known ("[1]" to everything): every verifier scores it,
// ties are dropped and counted, and the output is written whole. Pairs from real variety are shown by
// bench/preference-learning.ts (a trained model, one DPO round on its pairs).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { writeScriptedGguf, type ScriptedGguf } from "../scripted-gguf.spec-helper.js";
import { neural } from "../testing.js";
import type { PairsReport } from "./pairs.js";

const root = await mkdtemp(join(tmpdir(), "cli-pairs-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let m: ScriptedGguf;
const dataset = join(root, "prompts.jsonl");
beforeAll(async () => {
  m = await writeScriptedGguf(join(root, "model"), "[1]");
  const rows = [{ prompt: "a list?", completion: "[1]" }, { instruction: "another list?", output: "[2]" }, { prompt: "just a prompt" }, { text: "no prompt here" }];
  await writeFile(dataset, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await writeFile(join(root, "array.json"), JSON.stringify({ type: "array", items: { type: "integer" } }));
  await writeFile(join(root, "object.json"), JSON.stringify({ type: "object" }));
});

const run = async (...extra: string[]) => {
  const output = join(root, `pairs-${extra.join("-").replace(/[^a-z]/g, "")}.jsonl`);
  const r = await neural("pairs", "--model", m.path, "--dataset", dataset, "--samples", "2", "--temperature", "0.7", "--max_tokens", "8", "--output", output, "--json", ...extra);
  return { r, output, report: r.code === 0 ? (JSON.parse(r.stdout) as PairsReport) : undefined };
};

it("exact: rows need a reference answer; answers that all pass or all fail are ties, counted and dropped", async () => {
  const { r, report, output } = await run("--verifier", "exact");
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/prompts\.jsonl:3: --verifier exact needs a reference answer/);
  expect(r.stderr).toMatch(/prompts\.jsonl:4/);
  expect(report).toMatchObject({ prompts: 2, answers: 4, passed: 2, outcomes: { paired: 0, all_pass: 1, all_fail: 1 } });
  expect(await readFile(output, "utf8")).toBe("");
});

it("json-schema and cypher score prompt-only rows; heimdall's hook is named", async () => {
  expect((await run("--verifier", "json-schema", "--schema", join(root, "array.json"))).report).toMatchObject({ prompts: 3, passed: 6, outcomes: { all_pass: 3 } });
  expect((await run("--verifier", "json-schema", "--schema", join(root, "object.json"))).report).toMatchObject({ prompts: 3, passed: 0, outcomes: { all_fail: 3 } });
  expect((await run("--verifier", "cypher")).report).toMatchObject({ prompts: 3, passed: 0, outcomes: { all_fail: 3 } });
  const heimdall = await run("--verifier", "heimdall");
  expect(heimdall.r.code).toBe(2);
  expect(heimdall.r.stderr).toMatch(/--verifier heimdall is not in this build yet/);
  const noSchema = await run("--verifier", "json-schema");
  expect(noSchema.r.code).toBe(2);
  expect(noSchema.r.stderr).toMatch(/--schema/);
});
