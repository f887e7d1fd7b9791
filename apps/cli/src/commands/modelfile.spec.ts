// The Ollama Modelfile that neural export writes beside a GGUF, judged by Ollama's documented Modelfile format and by
// Go's own text/template (compiled to WebAssembly), which is what Ollama renders TEMPLATE with: the prompt it builds
// from a conversation must be the one training built (@neural/dataset's templates).
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parse as renderGoTemplate } from "@evertdespiegeleer/go-template";
import { createTemplate, type Message } from "@neural/dataset";
import { writeTinyModel } from "@neural/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { neural } from "../testing.js";
import { alpacaOllamaTemplate, CHATML_OLLAMA_TEMPLATE } from "./modelfile.js";

const root = await mkdtemp(join(tmpdir(), "cli-modelfile-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** Ollama's Modelfile format (docs/modelfile.md): `# comment` or `INSTRUCTION arguments`; """ strings span lines. */
const INSTRUCTIONS = new Set(["FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE", "REQUIRES", "CAPABILITY"]);
const PARAMETERS = new Set([
  "mirostat",
  "mirostat_eta",
  "mirostat_tau",
  "num_ctx",
  "repeat_last_n",
  "repeat_penalty",
  "temperature",
  "seed",
  "stop",
  "num_predict",
  "top_k",
  "top_p",
  "min_p",
]);

function parseModelfile(text: string): { instruction: string; args: string }[] {
  const out: { instruction: string; args: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not INSTRUCTION arguments: ${line}`);
    const instruction = m[1]!.toUpperCase();
    if (!INSTRUCTIONS.has(instruction)) throw new Error(`line ${i + 1}: unknown instruction ${m[1]}`);
    let args = m[2]!;
    if (args.startsWith('"""')) {
      // A multi-line string: everything up to the next """.
      let body = args.slice(3);
      while (!body.includes('"""')) {
        if (++i >= lines.length) throw new Error(`unterminated """ string from ${instruction}`);
        body += "\n" + lines[i];
      }
      const end = body.indexOf('"""');
      if (body.slice(end + 3).trim() !== "") throw new Error(`text after the closing """ of ${instruction}`);
      args = body.slice(0, end);
    }
    out.push({ instruction, args });
  }
  return out;
}

/** What Ollama hands TEMPLATE: .System (its system messages, joined) and .Messages (all of them). */
async function ollamaPrompt(template: string, messages: Message[]): Promise<string> {
  const system = messages.filter((m) => m.role === "system").map((m) => m.content);
  return renderGoTemplate(template, { System: system.join("\n\n"), Messages: messages.map((m) => ({ Role: m.role, Content: m.content })) });
}

const conversations: Message[][] = [
  [{ role: "user", content: "Which TLP label fits a public advisory?" }],
  [
    { role: "system", content: "Answer with the label only." },
    { role: "user", content: "Classify: internal incident notes." },
  ],
  [
    { role: "user", content: "hi" },
    { role: "assistant", content: "Hello! How can I help?" },
    { role: "user", content: "Say it\nover two lines." },
  ],
];

describe("Ollama TEMPLATE, rendered by Go's text/template", () => {
  it("builds the ChatML prompt training used, turn for turn", async () => {
    const chatml = createTemplate("chatml");
    for (const messages of conversations) expect(await ollamaPrompt(CHATML_OLLAMA_TEMPLATE, messages)).toBe(chatml.prompt(messages));
  });

  it("builds the Alpaca prompt training used, answers ended by the tokenizer's EOS", async () => {
    const alpaca = createTemplate("alpaca", { eos: "<|endoftext|>" });
    for (const messages of conversations)
      expect(await ollamaPrompt(alpacaOllamaTemplate("<|endoftext|>"), messages)).toBe(alpaca.prompt(messages));
  });
});

describe("neural export writes the Modelfile", () => {
  it("beside the GGUF by default: FROM the file, the training template and its stop strings, in Ollama's format", async () => {
    const m = await writeTinyModel(join(root, "chat"), { family: "qwen2", seed: 1 });
    await writeFile(join(m.dir, "train_config.json"), JSON.stringify({ template: "chatml" }));
    const out = join(root, "chat.gguf");
    const r = await neural("export", "--model_dir", m.dir, "--output", out, "--quantization", "F16");
    expect(r.code, r.stderr).toBe(0);
    const file = join(root, "chat.Modelfile");
    expect(r.stdout).toContain(`${file}: Ollama Modelfile (ollama create chat -f ${file})`);
    const text = await readFile(file, "utf8");
    const parsed = parseModelfile(text);
    expect(parsed.filter((p) => p.instruction === "FROM")).toEqual([{ instruction: "FROM", args: "./chat.gguf" }]);
    expect((await stat(resolve(dirname(file), "./chat.gguf"))).isFile()).toBe(true);
    expect(parsed.find((p) => p.instruction === "TEMPLATE")!.args).toBe(CHATML_OLLAMA_TEMPLATE);
    const parameters = parsed.filter((p) => p.instruction === "PARAMETER").map((p) => /^(\w+)\s+(.*)$/.exec(p.args)!.slice(1));
    for (const [name] of parameters) expect(PARAMETERS.has(name!), name).toBe(true);
    expect(parameters.filter(([name]) => name === "stop").map(([, v]) => v)).toEqual(['"<|im_end|>"', '"<|endoftext|>"', '"</s>"']);
    expect(text).toMatch(/^# Prompt format: chatml, from train_config\.json \(template: chatml\)\.$/m);
  });

  it("an Alpaca-trained model gets the Alpaca template; --modelfile puts it elsewhere with a relative FROM; --no_modelfile writes none", async () => {
    const m = await writeTinyModel(join(root, "alp"), { family: "qwen2", seed: 2 });
    await writeFile(join(m.dir, "train_config.json"), JSON.stringify({ template: "alpaca" }));
    const out = join(root, "alp.gguf");
    const elsewhere = join(root, "ollama", "Modelfile");
    await rm(dirname(elsewhere), { recursive: true, force: true });
    await mkdir(dirname(elsewhere));
    const r = await neural("export", "--model_dir", m.dir, "--output", out, "--quantization", "F16", "--modelfile", elsewhere);
    expect(r.code, r.stderr).toBe(0);
    const parsed = parseModelfile(await readFile(elsewhere, "utf8"));
    expect(parsed.find((p) => p.instruction === "FROM")!.args).toBe("../alp.gguf");
    const eos = JSON.parse(await readFile(join(m.dir, "tokenizer_config.json"), "utf8")).eos_token as string;
    expect(parsed.find((p) => p.instruction === "TEMPLATE")!.args).toBe(alpacaOllamaTemplate(eos));
    expect(parsed.filter((p) => p.instruction === "PARAMETER" && p.args.startsWith("stop"))).toEqual([
      { instruction: "PARAMETER", args: `stop "${eos}"` },
      { instruction: "PARAMETER", args: 'stop "### Instruction:"' },
    ]);
    await expect(stat(join(root, "alp.Modelfile"))).rejects.toThrow();

    const none = await neural(
      "export",
      "--model_dir",
      m.dir,
      "--output",
      join(root, "none.gguf"),
      "--quantization",
      "F16",
      "--no_modelfile",
    );
    expect(none.code).toBe(0);
    await expect(stat(join(root, "none.Modelfile"))).rejects.toThrow();
  });

  it("a model trained on its own (non-ChatML) chat template leaves TEMPLATE to Ollama's detection and stops at its end of turn", async () => {
    const m = await writeTinyModel(join(root, "own"), { family: "llama", seed: 3 });
    const configFile = join(m.dir, "tokenizer_config.json");
    const config = JSON.parse(await readFile(configFile, "utf8"));
    config.chat_template =
      "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
    await writeFile(configFile, JSON.stringify(config));
    const r = await neural("export", "--model_dir", m.dir, "--output", join(root, "own.gguf"), "--quantization", "F16");
    expect(r.code, r.stderr).toBe(0);
    const parsed = parseModelfile(await readFile(join(root, "own.Modelfile"), "utf8"));
    expect(parsed.some((p) => p.instruction === "TEMPLATE")).toBe(false);
    expect(parsed.filter((p) => p.instruction === "PARAMETER" && p.args.startsWith("stop"))[0]).toEqual({
      instruction: "PARAMETER",
      args: 'stop "<|eot_id|>"',
    });
  });
});
