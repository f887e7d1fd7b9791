// NornicDB's serving path, run by llama.cpp: its ChatML prompt rendered exactly, tokenized with add_special and
// parse_special, answered until an EOG token or one of its stop strings (nornicdbAnswer from @neural/llama).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTemplate } from "@neural/dataset";
import {
  LlamaModelProcess,
  NORNICDB_CALL_SITES,
  NORNICDB_STOP,
  nornicdbAnswer,
  nornicdbGenerate,
  nornicdbPrompt,
  nornicdbShare,
} from "@neural/llama";
import { afterAll, describe, expect, it } from "vitest";
import { writeScriptedGguf } from "./scripted-gguf.spec-helper.js";

const root = await mkdtemp(join(tmpdir(), "cli-nornicdb-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("NornicDB's prompt", () => {
  const messages = [
    { role: "system", content: "You are Heimdall." },
    { role: "user", content: "Capital of France?\n\nOne word." },
  ];

  it("is ChatML exactly as pkg/heimdall BuildPrompt writes it, and as our chatml template renders it", () => {
    const expected =
      "<|im_start|>system\nYou are Heimdall.<|im_end|>\n<|im_start|>user\nCapital of France?\n\nOne word.<|im_end|>\n<|im_start|>assistant\n";
    expect(nornicdbPrompt(messages)).toBe(expected);
    expect(createTemplate("chatml").prompt(messages.map((m) => ({ ...m, role: m.role as "system" | "user" })))).toBe(expected);
    expect([...NORNICDB_STOP]).toEqual(["<|im_end|>", "<|endoftext|>", "</s>"]);
  });

  it("gets the model's answer through llama.cpp: control tokens parsed, generation ends at <|im_end|>", async () => {
    const m = await writeScriptedGguf(join(root, "paris"), "Paris");
    const a = await nornicdbAnswer(m.path, messages, { confidence: true });
    expect(a.prompt).toBe(nornicdbPrompt(messages));
    expect(a.text).toBe("Paris");
    expect(a.stoppedBy).toBe("eog");
    expect(a.tokens).toEqual(m.script);
    // parse_special: <|im_start|> and <|im_end|> are single control tokens (3 turns: 3 starts, 2 ends); no BOS for qwen2.
    expect(a.promptTokens.filter((t) => t === m.imEnd)).toHaveLength(2);
    expect(a.promptTokens.at(-1)).toBe(m.newline);
    expect(a.minShare).toBeGreaterThan(0.999999);
  });

  it("cuts the answer at a stop string written by ordinary tokens", async () => {
    const m = await writeScriptedGguf(join(root, "rome"), "Rome</s>x");
    const a = await nornicdbAnswer(m.path, [{ role: "user", content: "Capital of Italy?" }]);
    expect(a.text).toBe("Rome");
    expect(a.stoppedBy).toBe("stop:</s>");
    expect(a.tokens).toEqual(m.script.slice(0, "Rome</s>".length));
  });
});

describe("NornicDB's stop rule and raw-text paths (nornicdbGenerate)", () => {
  it("stops only on a single token equal to a stop string; a stop string over several tokens never fires; raw prompts are sent as they are", async () => {
    const m = await writeScriptedGguf(join(root, "rome-raw"), "Rome</s>x");
    const model = await LlamaModelProcess.load(m.path, { contextSize: 256 });
    try {
      const chat = await nornicdbGenerate(
        model,
        nornicdbPrompt([{ role: "user", content: "Capital of Italy?" }]),
        NORNICDB_CALL_SITES.chat,
      );
      expect(chat).toMatchObject({ text: "Rome</s>x", stoppedBy: "eog", exact: true });
      const raw = await nornicdbGenerate(model, "USER QUESTION: capital?\n\nYOUR RESPONSE:\n", NORNICDB_CALL_SITES.synthesis);
      expect(raw.promptTokens).not.toContain(m.imEnd);
      expect(raw).toMatchObject({ text: "Rome</s>x", stoppedBy: "eog", exact: false });
      const single = await nornicdbGenerate(model, "Q\n", { ...NORNICDB_CALL_SITES.qc, stop: ["m", "Ro"] });
      expect(single).toMatchObject({ text: "Ro", stoppedBy: "stop:m" });
    } finally {
      await model.close();
    }
  });
});

describe("nornicdbShare (NornicDB's sampler: top-k 40 → top-p 0.9 → temperature 0.1)", () => {
  it("is 1 for a token alone in the top-p set, p^10-weighted among the kept ones otherwise", () => {
    expect(nornicdbShare([0.95, 0.05], 0)).toBe(1);
    expect(nornicdbShare([0.95, 0.05], 1)).toBe(0);
    // 0.5 and 0.4 are kept (0.5 < 0.9), 0.1 is not: shares 0.5^10 : 0.4^10
    const w = 0.5 ** 10 + 0.4 ** 10;
    expect(nornicdbShare([0.5, 0.4, 0.1], 0)).toBeCloseTo(0.5 ** 10 / w, 12);
    expect(nornicdbShare([0.5, 0.4, 0.1], 2)).toBe(0);
    // top-k renormalizes before top-p: with k = 2 the two tokens hold 0.5/0.9 and 0.4/0.9
    expect(nornicdbShare([0.5, 0.4, 0.1], 1, { topK: 2, topP: 0.5, temperature: 1 })).toBe(0);
  });
});
