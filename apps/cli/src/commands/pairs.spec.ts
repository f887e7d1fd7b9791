// neural pairs through llama.cpp on a GGUF whose answer is known ("[1]" to everything): every verifier scores it,
// ties are dropped and counted, and the output is written whole. Pairs from real variety are shown by
// bench/preference-learning.ts (a trained model, one DPO round on its pairs).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IGNORE_INDEX, loadTokenizer, preparePreferenceDataset, readRecordsFromFile } from "@neural/dataset";
import { builtinRegistry, caseFromRow, judgeAnswer } from "@neural/generator-heimdall";
import { NORNICDB_CALL_SITES, nornicdbGenerate, withLlamaModel } from "@neural/llama";
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
  const rows = [
    { prompt: "a list?", completion: "[1]" },
    { instruction: "another list?", output: "[2]" },
    { prompt: "just a prompt" },
    { text: "no prompt here" },
  ];
  await writeFile(dataset, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await writeFile(join(root, "array.json"), JSON.stringify({ type: "array", items: { type: "integer" } }));
  await writeFile(join(root, "object.json"), JSON.stringify({ type: "object" }));
});

const run = async (...extra: string[]) => {
  const output = join(root, `pairs-${extra.join("-").replace(/[^a-z]/g, "")}.jsonl`);
  const r = await neural(
    "pairs",
    "--model",
    m.path,
    "--dataset",
    dataset,
    "--samples",
    "2",
    "--temperature",
    "0.7",
    "--max_tokens",
    "8",
    "--output",
    output,
    "--json",
    ...extra,
  );
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

it("json-schema and cypher score prompt-only rows; heimdall names a row that is not a heimdall row", async () => {
  expect((await run("--verifier", "json-schema", "--schema", join(root, "array.json"))).report).toMatchObject({
    prompts: 3,
    passed: 6,
    outcomes: { all_pass: 3 },
  });
  expect((await run("--verifier", "json-schema", "--schema", join(root, "object.json"))).report).toMatchObject({
    prompts: 3,
    passed: 0,
    outcomes: { all_fail: 3 },
  });
  expect((await run("--verifier", "cypher")).report).toMatchObject({ prompts: 3, passed: 0, outcomes: { all_fail: 3 } });
  const heimdall = await run("--verifier", "heimdall");
  expect(heimdall.r.code).toBe(1);
  expect(heimdall.r.stderr).toMatch(/prompts\.jsonl:1 \(path\): must be one of chat, loop/);
  expect(heimdall.r.stderr).not.toMatch(/\n\s+at /);
  const noSchema = await run("--verifier", "json-schema");
  expect(noSchema.r.code).toBe(2);
  expect(noSchema.r.stderr).toMatch(/--schema/);
});

it("heimdall: each row is served with its exact NornicDB prompt, judged by NornicDB's rules, paired with the row's prompt", async () => {
  // "\n" leads to "Paris", "[1]" or straight to <|im_end|> (an empty answer), a third each when sampled; seeds 20…27
  // sample all three.
  const threeWay = await writeScriptedGguf(join(root, "three-way"), ["Paris", "[1]", ""]);
  const action = builtinRegistry("dotted").actions[0]!.name;
  const system = { role: "system", content: "You are Heimdall, NornicDB's assistant." };
  const raw = (prompt: string, answer: string) => ({ text: prompt + answer, prompt_end: prompt.length });
  const synthesisPrompt = "Present the result.\nYOUR RESPONSE:\n";
  const rows = [
    {
      path: "chat",
      category: "chat_direct",
      naming: "dotted",
      expect: { answer: "prose" },
      messages: [system, { role: "user", content: "Capital of France?" }, { role: "assistant", content: "Paris" }],
    },
    {
      path: "chat",
      category: "chat_action",
      naming: "dotted",
      expect: { action, params: {} },
      messages: [system, { role: "user", content: "Run it." }, { role: "assistant", content: `{"action":"${action}","params":{}}` }],
    },
    { path: "synthesis", category: "synthesis", naming: "dotted", expect: { message: "" }, ...raw(synthesisPrompt, "All healthy.") },
    {
      path: "qc",
      category: "qc",
      naming: "dotted",
      expect: { approved: [0], rejected: [] },
      ...raw("Review the edges.\n0.a→RELATED_TO(90%)\n", '{"approved":[0],"rejected":[]}'),
    },
  ];
  const heldOut = join(root, "heimdall.jsonl");
  await writeFile(heldOut, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const output = join(root, "heimdall-pairs.jsonl");
  const r = await neural(
    "pairs",
    "--model",
    threeWay.path,
    "--dataset",
    heldOut,
    "--verifier",
    "heimdall",
    "--samples",
    "8",
    "--temperature",
    "1",
    "--seed",
    "20",
    "--max_tokens",
    "8",
    "--output",
    output,
    "--json",
  );
  expect(r.code).toBe(0);
  // Empty answers fail every path but never enter a pair (the pairs file would be refused). Prose chat: "Paris" and
  // "[1]" both pass; an action row and QC: nothing sampled is an envelope or a decision. Synthesis: "[1]" fails.
  const report = JSON.parse(r.stdout) as PairsReport;
  expect(report).toMatchObject({ verifier: "heimdall", prompts: 4, answers: 32, outcomes: { paired: 1, all_pass: 1, all_fail: 2 } });
  expect(report.blank).toBeGreaterThan(0);
  const lines = (await readFile(output, "utf8")).trim().split("\n");
  expect(lines).toHaveLength(1);
  const pair = JSON.parse(lines[0]!) as { prompt: unknown; chosen: string; rejected: string };
  // a raw path's pair says so: training reads its prompt as the raw text NornicDB sends, not as a user turn
  expect(pair).toEqual({ prompt: synthesisPrompt, chosen: "Paris", rejected: "[1]", raw: true });
  // the training tokens: the prompt's exactly as nornicdbGenerate feeds llama.cpp for this row, then the answer's
  // and EOS (which ends a raw answer for NornicDB), learned
  const tokenizer = await loadTokenizer(join(root, "three-way"));
  const prepared = await preparePreferenceDataset(readRecordsFromFile(output), output, {
    tokenizer,
    template: "chatml",
    maxLength: 256,
    validationSplit: 0,
  });
  const trained = prepared.train[0]!;
  if (trained.kind !== "pair") throw new Error("expected a pair");
  await withLlamaModel(threeWay.path, {}, async (llama) => {
    const served = await nornicdbGenerate(llama, synthesisPrompt, NORNICDB_CALL_SITES.synthesis);
    expect(served.promptTokens.length).toBeGreaterThan(3);
    for (const [sequence, answer] of [
      [trained.chosen, "Paris"],
      [trained.rejected, "[1]"],
    ] as const) {
      const answerTokens = [...(await llama.tokenize(answer, { special: true })), tokenizer.eos!.id];
      expect([...sequence.inputIds]).toEqual([...served.promptTokens, ...answerTokens]);
      expect([...sequence.labels]).toEqual([...served.promptTokens.map(() => IGNORE_INDEX), ...answerTokens]);
    }
  });
  const c = caseFromRow(rows[2]);
  expect(judgeAnswer(c, pair.chosen, builtinRegistry("dotted")).pass).toBe(true);
  expect(judgeAnswer(c, pair.rejected, builtinRegistry("dotted"))).toMatchObject({
    pass: false,
    why: expect.stringMatching(/starts with \[/),
  });
}, 300_000);
