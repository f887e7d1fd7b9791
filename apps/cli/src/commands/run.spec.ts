import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Io } from "../command.js";
import { writeScriptedGguf, type ScriptedGguf } from "../scripted-gguf.spec-helper.js";
import { neural, neuralWithInput } from "../testing.js";
import { ggufChatFormat, loadGguf } from "./gguf-chat.js";
import { chatLoop } from "./run.js";

const root = await mkdtemp(join(tmpdir(), "cli-run-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let m: ScriptedGguf;
beforeAll(async () => {
  m = await writeScriptedGguf(join(root, "paris"), "Paris");
});

it("answers --prompt through llama.cpp with the GGUF's chat template (text on stdout, a summary on stderr)", async () => {
  const r = await neural("run", m.path, "--prompt", "Capital of France?", "--system", "Be brief.", "--max_tokens", "32");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("Paris\n");
  expect(r.stderr).toMatch(/6 tokens in [\d.]+ s, [\d.]+ tokens\/s, stopped by eog/);
  const j = await neural("run", m.path, "--prompt", "Capital of France?", "--json", "--temperature", "0.7", "--seed", "3");
  expect(j.code).toBe(0);
  expect(JSON.parse(j.stdout)).toMatchObject({ template: "gguf", text: "Paris", tokens: 6, stopped_by: "eog" });
  const short = await neural("run", m.path, "--prompt", "Capital of France?", "--max_tokens", "2", "--chatml");
  expect(short.stdout).toBe("Pa\n");
  expect(short.stderr).toMatch(/stopped by maxTokens/);
});

it("an interactive chat answers each line with the whole conversation; /reset and /exit", async () => {
  const format = await ggufChatFormat(m.path);
  expect(format.source).toBe("gguf");
  expect(format.prompt([{ role: "user", content: "hi" }])).toBe("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  const model = await loadGguf(m.path, { contextSize: 256 });
  const io = {
    stdout: "",
    stderr: "",
    isTTY: false,
    out: (t: string) => void (io.stdout += t + "\n"),
    err: (t: string) => void (io.stderr += t + "\n"),
    status: () => {},
  } satisfies Io & { stdout: string; stderr: string };
  async function* lines() {
    yield* ["hello", "", "and again?", "/reset", "once more", "/exit", "never read"];
  }
  try {
    await chatLoop(model, format, lines(), io, { maxTokens: 16, temperature: 0, topK: 40, topP: 0.95, system: "Be brief." });
  } finally {
    await model.close();
  }
  expect(io.stdout).toBe("Paris\nParis\nParis\n");
  expect(io.stderr).toMatch(/conversation cleared/);
});

it("a file that is not a GGUF, or a truncated one, is a clear error (exit 1) before llama.cpp sees it", async () => {
  const text = join(root, "notes.gguf");
  await writeFile(text, "just some text, not a model\n");
  const a = await neural("run", text, "--prompt", "hi");
  expect(a.code).toBe(1);
  expect(a.stderr).toMatch(/notes\.gguf \(magic\): .*not a GGUF file/);
  const truncated = join(root, "truncated.gguf");
  const bytes = await readFile(m.path);
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const b = await neural("run", truncated, "--prompt", "hi");
  expect(b.code).toBe(1);
  expect(b.stderr).toMatch(/truncated\.gguf/);
  expect(b.stderr).not.toMatch(/\n\s+at /); // a message, not a stack
  const missing = await neural("run", join(root, "missing.gguf"), "--prompt", "hi");
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/missing\.gguf: cannot open/);
});

it("without --prompt it answers what is piped to stdin, the same as --prompt", async () => {
  const piped = await neuralWithInput("Capital of France?\n", "run", m.path, "--json");
  const given = await neural("run", m.path, "--prompt", "Capital of France?", "--json");
  expect(piped.code).toBe(0);
  expect(JSON.parse(piped.stdout)).toEqual({ ...JSON.parse(given.stdout), seconds: expect.any(Number) });
  expect(JSON.parse(piped.stdout)).toMatchObject({ text: "Paris" });
});

it("without --prompt, a terminal or piped input it is a usage error; so are bad numbers", async () => {
  const r = await neural("run", m.path);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/give --prompt, or pipe the prompt in/);
  expect((await neural("run", m.path, "--prompt", "x", "--max_tokens", "0")).code).toBe(2);
  expect((await neural("run", m.path, "--prompt", "x", "--temperature", "-1")).code).toBe(2);
});
