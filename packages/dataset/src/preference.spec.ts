import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { IGNORE_INDEX } from "./encode.js";
import { chunked, testTokenizer } from "./fixtures.spec-helper.js";
import { encodeAnswer, encodeRawAnswer, mismatchedRows, preparePreferenceDataset, toPreferenceExample } from "./preference.js";
import { realTokenizer } from "@neural/testkit";
import { createTokenizer } from "./tokenizer.js";
import { resolveTemplate } from "./prepare.js";
import { readRecords } from "./read.js";
import { validationReportSchema } from "./report-schema.js";
import { validateRecords } from "./validate.js";

const events = (rows: unknown[]) => readRecords(chunked(rows.map((r) => JSON.stringify(r)).join("\n") + "\n"));

describe("preference rows in TRL's formats", () => {
  it("reads strings, message lists and implicit prompts", () => {
    const strings = toPreferenceExample({ prompt: "2+2?", chosen: "4", rejected: "five" }, "f", 1);
    expect(strings).toEqual({ example: { kind: "pair", prompt: [{ role: "user", content: "2+2?" }], chosen: "4", rejected: "five" } });
    const conversational = toPreferenceExample(
      {
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "2+2?" },
        ],
        chosen: [{ role: "assistant", content: "4" }],
        rejected: [{ role: "assistant", content: "5" }],
      },
      "f",
      2,
    );
    expect(conversational).toMatchObject({ example: { prompt: [{ role: "system" }, { role: "user" }], chosen: "4", rejected: "5" } });
    const turns = [
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "2+2?" },
    ];
    const implicit = toPreferenceExample(
      { chosen: [...turns, { role: "assistant", content: "4" }], rejected: [...turns, { role: "assistant", content: "5" }] },
      "f",
      3,
    );
    expect(implicit).toMatchObject({ example: { prompt: turns, chosen: "4", rejected: "5" } });
    expect(toPreferenceExample({ prompt: "q", completion: "a", label: false }, "f", 4)).toEqual({
      example: { kind: "unpaired", prompt: [{ role: "user", content: "q" }], completion: "a", label: false },
    });
  });

  it.each([
    [{ prompt: "q", chosen: "same", rejected: "same" }, "rejected", "identical"],
    [{ prompt: "q", chosen: "a", rejected: "" }, "rejected", "empty"],
    [{ prompt: "q", chosen: "a", rejected: [{ role: "user", content: "b" }] }, "rejected[0].role", "assistant"],
    [{ prompt: [{ role: "assistant", content: "x" }], chosen: "a", rejected: "b" }, "prompt", "user turn"],
    [
      {
        chosen: [
          { role: "user", content: "x" },
          { role: "assistant", content: "a" },
        ],
        rejected: [
          { role: "user", content: "y" },
          { role: "assistant", content: "b" },
        ],
      },
      "rejected",
      "share",
    ],
  ])("names the line and field of a bad row: %j", (row, field, words) => {
    const result = toPreferenceExample(row, "data.jsonl", 7);
    expect(result).toMatchObject({ issue: { file: "data.jsonl", line: 7, field } });
    expect("issue" in result && result.issue.message).toContain(words);
  });

  it("learns only the final answer, after a prompt that holds earlier assistant turns", async () => {
    const tokenizer = await testTokenizer();
    const template = resolveTemplate("chatml", tokenizer);
    const prompt = [
      { role: "user" as const, content: "hi" },
      { role: "assistant" as const, content: "hello there" },
      { role: "user" as const, content: "Evaluate the TLP level" },
    ];
    const r = encodeAnswer(prompt, "TLP:AMBER", { template, tokenizer, maxLength: 256 });
    expect("encoded" in r).toBe(true);
    if (!("encoded" in r)) return;
    const learned = [...r.encoded.labels].map((l, i) => (l === IGNORE_INDEX ? -1 : i)).filter((i) => i >= 0);
    // one contiguous run at the end: the answer and its end of turn
    expect(learned.length).toBeGreaterThan(1);
    expect(learned.at(-1)! - learned[0]! + 1).toBe(learned.length);
    expect(tokenizer.decode(learned.map((i) => r.encoded.inputIds[i]!))).toContain("TLP:AMBER");
    expect(tokenizer.decode(learned.map((i) => r.encoded.inputIds[i]!))).not.toContain("hello");
  });

  it("prepares pairs and KTO rows (with mismatched rows for the KL estimate), and refuses mixing them", async () => {
    const tokenizer = await testTokenizer();
    const pairs = Array.from({ length: 20 }, (_, i) => ({ prompt: `question ${i}`, chosen: `answer ${i}`, rejected: `wrong ${i}` }));
    const prepared = await preparePreferenceDataset(events([...pairs, { prompt: "q", completion: "a", label: true }]), "p.jsonl", {
      tokenizer,
      maxLength: 128,
      validationSplit: 0.2,
    });
    expect(prepared.kind).toBe("pair");
    expect(prepared.train.length + prepared.eval.length).toBe(20);
    expect(prepared.eval.length).toBeGreaterThan(0);
    expect(prepared.stats.issues[0]).toMatchObject({ line: 21 });
    const kto = Array.from({ length: 6 }, (_, i) => ({ prompt: `question ${i}`, completion: `answer ${i}`, label: i % 2 === 0 }));
    const unpaired = await preparePreferenceDataset(events(kto), "k.jsonl", { tokenizer, maxLength: 128, validationSplit: 0 });
    expect(unpaired.kind).toBe("unpaired");
    const mismatched = mismatchedRows(unpaired.train, { template: unpaired.template, tokenizer, maxLength: 128 });
    expect(mismatched).toHaveLength(6);
    const next = unpaired.train[1]!;
    expect(next.kind === "unpaired" && tokenizer.decode([...mismatched[0]!.inputIds])).toContain(
      next.kind === "unpaired" ? next.example.completion : "",
    );
  });
});

describe("raw-text preference rows (NornicDB's raw paths)", () => {
  it("reads raw rows: a string prompt and string answers, named by field when not", () => {
    expect(toPreferenceExample({ prompt: "User: hi\n\nAssistant: ", chosen: "hello", rejected: "{", raw: true }, "f", 1)).toEqual({
      example: { kind: "pair", prompt: [{ role: "user", content: "User: hi\n\nAssistant: " }], chosen: "hello", rejected: "{", raw: true },
    });
    expect(toPreferenceExample({ prompt: "p", completion: "c", label: false, raw: true }, "f", 2)).toMatchObject({
      example: { raw: true },
    });
    expect(toPreferenceExample({ prompt: "p", chosen: "a", rejected: "b", raw: "yes" }, "f", 3)).toEqual({
      issue: { file: "f", line: 3, field: "raw", message: "must be true (the prompt is raw text) or false" },
    });
    expect(toPreferenceExample({ prompt: [{ role: "user", content: "p" }], chosen: "a", rejected: "b", raw: true }, "f", 4)).toMatchObject({
      issue: { field: "prompt" },
    });
    expect(
      toPreferenceExample({ prompt: "p", chosen: [{ role: "assistant", content: "a" }], rejected: "b", raw: true }, "f", 5),
    ).toMatchObject({ issue: { field: "chosen", message: "must be a string in a raw row" } });
  });

  it("tokenizes the prompt alone, as llama.cpp is sent it, then the answer and EOS (Qwen2.5)", () => {
    const qwen = realTokenizer("qwen2.5");
    const tokenizer = createTokenizer({ tokenizer: qwen.tokenizer, config: qwen.config });
    // the agentic loop's prompt ends in a space; tokenized with the answer, " {" would be one token never served
    const prompt = "TOOLS AVAILABLE TO YOU:\n- heimdall_watcher_query\n\nUser: count nodes\n\nAssistant: ";
    const answer = '{"action": "heimdall_watcher_query", "params": {"cypher": "MATCH (n) RETURN count(n)"}}';
    const joined = tokenizer.encode(prompt + answer);
    const alone = tokenizer.encode(prompt);
    expect(joined.slice(0, alone.length)).not.toEqual(alone);
    const raw = encodeRawAnswer(prompt, answer, { tokenizer, template: resolveTemplate("chatml", tokenizer), maxLength: 256 });
    if (!("encoded" in raw)) throw new Error("dropped");
    const answerIds = [...tokenizer.encode(answer), tokenizer.eos!.id];
    expect([...raw.encoded.inputIds]).toEqual([...alone, ...answerIds]);
    expect([...raw.encoded.labels]).toEqual([...alone.map(() => IGNORE_INDEX), ...answerIds]);
    expect(tokenizer.decode(answerIds.slice(-1))).toBe("<|im_end|>");
    // no ChatML around it
    expect([...raw.encoded.inputIds]).not.toContain(tokenizer.tokenToId("<|im_start|>"));
    expect(encodeRawAnswer(prompt, answer, { tokenizer, template: resolveTemplate("chatml", tokenizer), maxLength: 20 })).toEqual({
      dropped: "too_long",
    });
  }, 120_000);
});

describe("neural validate on preference data", () => {
  it("counts pairs, flags identical chosen/rejected with their lines, and reports prompt lengths", async () => {
    const tokenizer = await testTokenizer();
    const rows = [
      { prompt: "2+2?", chosen: "4", rejected: "5" },
      { prompt: "3+3?", chosen: "6", rejected: "6" },
      {
        prompt: [{ role: "user", content: "a longer question about things" }],
        chosen: [{ role: "assistant", content: "yes" }],
        rejected: [{ role: "assistant", content: "no" }],
      },
    ];
    const report = await validateRecords(events(rows), "pairs.jsonl", { tokenizer });
    expect(report.valid).toBe(2);
    expect(report.errors.shown[0]).toMatchObject({ line: 2, field: "rejected" });
    expect(report.errors.shown[0]!.message).toContain("identical");
    expect(report.preference).toMatchObject({ pairs: 2, desirable: 0, undesirable: 0 });
    expect(report.preference!.promptLengths!.count).toBe(2);
    expect(report.preference!.promptLengths!.max).toBeGreaterThan(report.preference!.promptLengths!.min);
    expect(new Ajv({ strict: false }).validate(validationReportSchema, report)).toBe(true);
    const kto = await validateRecords(
      events([
        { prompt: "q", completion: "a", label: true },
        { prompt: "q", completion: "b", label: false },
      ]),
      "kto.jsonl",
    );
    expect(kto.preference).toMatchObject({ pairs: 0, desirable: 1, undesirable: 1 });
    expect(kto.ok).toBe(true);
  });
});
