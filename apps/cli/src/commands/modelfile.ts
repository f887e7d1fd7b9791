// An Ollama Modelfile for an exported GGUF: FROM the file, the prompt template the model was trained with (Ollama's
// TEMPLATE is a Go text/template over .System and .Messages) and its stop strings, so that `ollama create NAME -f
// FILE` gives a model that is prompted exactly as in training.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { CHATML_STOP, createTemplate, type TemplateName } from "@neural/dataset";

export interface ModelfileTemplate {
  /** The training template: chatml, alpaca, or the base model's own ("model"). */
  name: TemplateName;
  /** Ollama TEMPLATE; none when Ollama's own detection from the GGUF's chat template is the right one. */
  template?: string;
  stop: string[];
  /** Where the choice came from, for the file's header comment. */
  source: string;
}

/**
 * The same prompt as @neural/dataset's "chatml" template: every turn `<|im_start|>{role}\n{content}<|im_end|>\n`, then
 * `<|im_start|>assistant\n`. System messages come through .System (Ollama collects them there, and keeps them in
 * .Messages too, where this template skips them).
 */
export const CHATML_OLLAMA_TEMPLATE =
  '{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ range .Messages }}{{ if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n<|im_start|>assistant\n{{ else if eq .Role "assistant" }}{{ .Content }}<|im_end|>\n{{ end }}{{ end }}';

/** The same prompt as @neural/dataset's "alpaca" template, whose answers end with the tokenizer's EOS. */
export function alpacaOllamaTemplate(eos: string): string {
  return `{{ if .System }}{{ .System }}\n\n{{ end }}{{ range .Messages }}{{ if eq .Role "user" }}### Instruction:\n{{ .Content }}\n\n### Response:\n{{ else if eq .Role "assistant" }}{{ .Content }}${eos}\n\n{{ end }}{{ end }}`;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const tokenText = (t: unknown): string | undefined =>
  typeof t === "string"
    ? t
    : t && typeof t === "object" && typeof (t as { content?: unknown }).content === "string"
      ? (t as { content: string }).content
      : undefined;

/**
 * The training template of a model directory: train_config.json's `template` where training wrote one (a run's output
 * or adapter), else what tokenizer_config.json's chat_template is (a merged or downloaded model: ChatML when it uses
 * <|im_start|>, else the model's own).
 */
export async function modelfileTemplate(dirs: readonly string[]): Promise<ModelfileTemplate> {
  let trained: string | undefined;
  let tokenizerConfig: Record<string, unknown> | undefined;
  for (const dir of dirs) {
    trained ??= (await readJson(path.join(dir, "train_config.json")))?.template as string | undefined;
    tokenizerConfig ??= await readJson(path.join(dir, "tokenizer_config.json"));
  }
  const chatTemplate = typeof tokenizerConfig?.chat_template === "string" ? tokenizerConfig.chat_template : undefined;
  const eos = tokenText(tokenizerConfig?.eos_token);
  const name: TemplateName =
    trained === "alpaca" ? "alpaca" : trained === "chatml" || !chatTemplate || chatTemplate.includes("<|im_start|>") ? "chatml" : "model";
  const source = trained
    ? `train_config.json (template: ${trained})`
    : chatTemplate
      ? "tokenizer_config.json's chat_template"
      : "the default (ChatML)";
  if (name === "chatml") return { name, template: CHATML_OLLAMA_TEMPLATE, stop: [...CHATML_STOP], source };
  if (name === "alpaca") {
    const end = eos ?? "</s>";
    return { name, template: alpacaOllamaTemplate(end), stop: [end, "### Instruction:"], source };
  }
  // The base model's own template (Llama 3, Phi-3, Gemma, ...): Ollama recognizes it in the GGUF's chat template.
  const endOfTurn = createTemplate("model", { chatTemplate: chatTemplate!, ...(eos ? { eos } : {}) }).endOfTurn;
  return { name, stop: [...new Set([endOfTurn, eos].filter((s): s is string => Boolean(s)))], source };
}

/** A value a Modelfile can hold in double quotes (no quote, no line break). */
const quotable = (value: string) => !value.includes('"') && !value.includes("\n");

/** The Modelfile's text. `from` is the GGUF's path relative to the Modelfile (or absolute). */
export function renderModelfile(from: string, t: ModelfileTemplate, generator: string): string {
  const lines = [
    `# Ollama Modelfile written by ${generator}: ollama create NAME -f THIS_FILE`,
    `# Prompt format: ${t.name}, from ${t.source}.`,
    `FROM ${/\s/.test(from) && quotable(from) ? `"${from}"` : from}`,
  ];
  if (t.template !== undefined) {
    if (t.template.includes('"""')) throw new Error('a TEMPLATE cannot contain """');
    lines.push(`TEMPLATE """${t.template}"""`);
  } else lines.push("# TEMPLATE: none here; Ollama takes the model's own from the GGUF's chat template.");
  for (const stop of t.stop.filter(quotable)) lines.push(`PARAMETER stop "${stop}"`);
  lines.push("# Greedy answers, as neural run and neural eval give.", "PARAMETER temperature 0");
  return lines.join("\n") + "\n";
}

/** FROM for a GGUF seen from the Modelfile's folder: "./name.gguf" beside it, else a relative or absolute path. */
export function fromPath(modelfile: string, gguf: string): string {
  const relative = path.relative(path.dirname(path.resolve(modelfile)), path.resolve(gguf));
  if (path.isAbsolute(relative)) return relative;
  return relative.startsWith("..") ? relative : `./${relative}`;
}

/** Where the Modelfile goes by default: beside the GGUF, named after it (`mine.gguf` → `mine.Modelfile`). */
export const defaultModelfilePath = (gguf: string): string => gguf.replace(/\.gguf$/, "") + ".Modelfile";
