import { Template } from "@huggingface/jinja";
import { TemplateError } from "./errors.js";
import type { Example, Message } from "./formats.js";

/** A span of rendered text and whether its tokens are learned (in the loss) or masked (-100). */
export interface TextSpan {
  text: string;
  learn: boolean;
  /** Tokenized apart from the text before it (an answer generated after a raw prompt that was tokenized alone). */
  apart?: boolean;
}

export type TemplateName = "chatml" | "alpaca" | "model";

export interface ChatTemplate {
  name: TemplateName;
  /** Prompt parts (learn: false) and each assistant answer with its end-of-turn marker (learn: true). */
  render(example: Example): TextSpan[];
  /** What the model sees before it answers the last user turn: every turn before it plus the assistant header. */
  prompt(messages: readonly Message[]): string;
  /** The text that ends an assistant turn; generation stops there. */
  endOfTurn: string;
}

/** NornicDB's serving format (pkg/heimdall BuildPrompt), as a jinja chat template for tokenizer_config.json and GGUF. */
export const CHATML_JINJA =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Stop strings NornicDB uses when it serves a model. */
export const CHATML_STOP = ["<|im_end|>", "<|endoftext|>", "</s>"] as const;

export interface TemplateOptions {
  /** EOS text: ends answers under the Alpaca template and plain-text examples. */
  eos?: string;
  bos?: string;
  /** The model's jinja chat_template (required for "model"). */
  chatTemplate?: string;
}

export function createTemplate(name: TemplateName, options: TemplateOptions = {}): ChatTemplate {
  switch (name) {
    case "chatml":
      return chatml(options);
    case "alpaca":
      return alpaca(options);
    case "model":
      if (!options.chatTemplate)
        throw new TemplateError('template "model" needs a chat_template in tokenizer_config.json; use --template chatml instead');
      return jinja(options.chatTemplate, options);
  }
}

function textSpans(example: Extract<Example, { kind: "text" }>, eos: string | undefined): TextSpan[] {
  if (example.promptEnd === undefined) return [{ text: example.text + (eos ?? ""), learn: true }];
  return [
    { text: example.text.slice(0, example.promptEnd), learn: false },
    { text: example.text.slice(example.promptEnd) + (eos ?? ""), learn: true, apart: true },
  ];
}

function chatml(options: TemplateOptions): ChatTemplate {
  const header = (role: string) => `<|im_start|>${role}\n`;
  return {
    name: "chatml",
    endOfTurn: "<|im_end|>",
    render(example) {
      if (example.kind === "text") return textSpans(example, options.eos);
      const out: TextSpan[] = [];
      example.messages.forEach((m, i) => {
        const last = i === example.messages.length - 1;
        if (m.role === "assistant") {
          push(out, header(m.role), false);
          push(out, `${m.content}<|im_end|>`, true);
          if (!last) push(out, "\n", false);
        } else push(out, `${header(m.role)}${m.content}<|im_end|>${last ? "" : "\n"}`, false);
      });
      return out;
    },
    prompt: (messages) => messages.map((m) => `${header(m.role)}${m.content}<|im_end|>\n`).join("") + header("assistant"),
  };
}

function alpaca(options: TemplateOptions): ChatTemplate {
  const eos = options.eos ?? "</s>";
  const userBlock = (m: Message) => {
    const parts = m.instruction ?? { instruction: m.content, input: "" };
    return `### Instruction:\n${parts.instruction}\n\n${parts.input.trim() ? `### Input:\n${parts.input}\n\n` : ""}### Response:\n`;
  };
  const system = (m: Message) => `${m.content}\n\n`;
  return {
    name: "alpaca",
    endOfTurn: eos,
    render(example) {
      if (example.kind === "text") return textSpans(example, options.eos);
      const out: TextSpan[] = [];
      example.messages.forEach((m, i) => {
        if (m.role === "system") push(out, system(m), false);
        else if (m.role === "user") push(out, userBlock(m), false);
        else {
          push(out, m.content + eos, true);
          if (i < example.messages.length - 1) push(out, "\n\n", false);
        }
      });
      return out;
    },
    prompt: (messages) =>
      messages.map((m) => (m.role === "system" ? system(m) : m.role === "user" ? userBlock(m) : `${m.content}${eos}\n\n`)).join(""),
  };
}

function jinja(source: string, options: TemplateOptions): ChatTemplate {
  let template: Template;
  try {
    template = new Template(source);
  } catch (error) {
    throw new TemplateError(`the model's chat_template does not parse: ${(error as Error).message}`);
  }
  const render = (messages: readonly Message[], addGenerationPrompt: boolean): string => {
    try {
      return template.render({
        messages: messages.map(({ role, content }) => ({ role, content })),
        add_generation_prompt: addGenerationPrompt,
        bos_token: options.bos ?? "",
        eos_token: options.eos ?? "",
      });
    } catch (error) {
      throw new TemplateError(`the model's chat_template failed to render: ${(error as Error).message}`);
    }
  };
  // The end-of-turn marker is whatever the template writes right after an assistant's content.
  const probe = "\u0002probe\u0003";
  const probed = render(
    [
      { role: "user", content: "hi" },
      { role: "assistant", content: probe },
    ],
    false,
  );
  const after = probed.slice(probed.indexOf(probe) + probe.length);
  const endOfTurn = after.trim().split(/\s/)[0] || options.eos || "";

  return {
    name: "model",
    endOfTurn,
    render(example) {
      if (example.kind === "text") return textSpans(example, options.eos);
      // Render growing prefixes: an assistant turn's learned text is what its addition appends after the generation
      // prompt. This needs a template whose renders are prefixes of each other, which chat templates are built to be.
      const full = render(example.messages, false);
      const out: TextSpan[] = [];
      let done = 0;
      example.messages.forEach((m, i) => {
        if (m.role !== "assistant") return;
        const before = render(example.messages.slice(0, i), true);
        const through = i === example.messages.length - 1 ? full : render(example.messages.slice(0, i + 1), false);
        if (!through.startsWith(before) || !full.startsWith(through) || before.length < done) {
          throw new TemplateError("the model's chat_template renders turns that are not prefixes of each other; use --template chatml");
        }
        const answer = through.slice(before.length);
        const trimmed = answer.replace(/\s+$/, "");
        push(out, before.slice(done), false);
        push(out, trimmed, true);
        done = before.length + trimmed.length;
      });
      push(out, full.slice(done), false);
      return out;
    },
    prompt: (messages) => render(messages, true),
  };
}

function push(out: TextSpan[], text: string, learn: boolean): void {
  if (text === "") return;
  const last = out[out.length - 1];
  if (last && last.learn === learn) last.text += text;
  else out.push({ text, learn });
}
