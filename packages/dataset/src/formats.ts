import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { RecordIssue } from "./errors.js";
import type { ReadEvent } from "./read.js";

export type Role = "system" | "user" | "assistant";
export interface Message {
  role: Role;
  content: string;
  /** For user turns made from an instruction row: the parts, so the Alpaca template can show them apart. */
  instruction?: { instruction: string; input: string };
}

export type FormatName = "instruction" | "chat" | "prompt_completion" | "completion";

/**
 * One training example in a format-independent shape. `text` examples (completion format) have no turns; with
 * `promptEnd`, the text before that offset is a raw prompt (not learned, tokenized alone as llama.cpp is sent it) and
 * the rest its answer.
 */
export type Example = ({ kind: "chat"; messages: Message[] } | { kind: "text"; text: string; promptEnd?: number }) & {
  format: FormatName;
  category?: string;
};

const nonBlank = { type: "string", pattern: "\\S" } as const;
const category = { type: "string" } as const;

/** JSON Schemas (draft 2020-12 compatible subset) of the four record formats. Extra keys are allowed and ignored. */
export const formatSchemas = {
  instruction: {
    $id: "https://neural.dev/schemas/instruction.json",
    title: "Instruction record",
    type: "object",
    required: ["instruction", "output"],
    properties: { instruction: nonBlank, input: { type: "string" }, output: nonBlank, system: { type: "string" }, category },
  },
  chat: {
    $id: "https://neural.dev/schemas/chat.json",
    title: "Chat record",
    type: "object",
    required: ["messages"],
    properties: {
      messages: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          required: ["role", "content"],
          properties: { role: { enum: ["system", "user", "assistant"] }, content: { type: "string" } },
        },
      },
      category,
    },
  },
  prompt_completion: {
    $id: "https://neural.dev/schemas/prompt-completion.json",
    title: "Prompt/completion record",
    type: "object",
    required: ["prompt", "completion"],
    properties: { prompt: nonBlank, completion: nonBlank, category },
  },
  completion: {
    $id: "https://neural.dev/schemas/completion.json",
    title: "Completion (plain text) record",
    type: "object",
    required: ["text"],
    properties: { text: nonBlank, prompt_end: { type: "integer", minimum: 1 }, category },
  },
} as const;

const ajv = new Ajv({ allErrors: false, strict: true });
const validators: Record<FormatName, ValidateFunction> = {
  instruction: ajv.compile(formatSchemas.instruction),
  chat: ajv.compile(formatSchemas.chat),
  prompt_completion: ajv.compile(formatSchemas.prompt_completion),
  completion: ajv.compile(formatSchemas.completion),
};

/** The format a record claims by its keys (checked per record, never guessed from the first one). */
export function detectFormat(record: unknown): FormatName | undefined {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return undefined;
  if ("messages" in record || "conversations" in record) return "chat";
  if ("instruction" in record || "output" in record) return "instruction";
  if ("prompt" in record || "completion" in record) return "prompt_completion";
  if ("text" in record) return "completion";
  return undefined;
}

const SHAREGPT_ROLES: Record<string, Role> = { system: "system", human: "user", user: "user", gpt: "assistant", assistant: "assistant" };

/** The record is preference data: it has chosen and rejected, or a completion with a true/false label. */
export function isPreferenceRecord(record: unknown): boolean {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return false;
  return (
    ("chosen" in record && "rejected" in record) || ("completion" in record && typeof (record as { label?: unknown }).label === "boolean")
  );
}

/** Validates a parsed record and converts it to an Example, or returns the issue that names the field. */
export function toExample(record: unknown, file: string, line: number): { example: Example } | { issue: RecordIssue } {
  const issue = (message: string, field?: string) => ({ issue: { file, line, ...(field ? { field } : {}), message } });
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    return issue(`expected a JSON object, got ${record === null ? "null" : Array.isArray(record) ? "an array" : typeof record}`);
  }
  if (isPreferenceRecord(record)) {
    return issue("a preference row (chosen/rejected, or completion with a label): train it with --method dpo, orpo, simpo or kto");
  }
  const format = detectFormat(record);
  if (!format) {
    const keys = Object.keys(record);
    return issue(
      `unknown record format (keys: ${keys.length ? keys.join(", ") : "none"}); expected instruction/output, messages, prompt/completion or text`,
    );
  }
  let data = record as Record<string, unknown>;
  if (format === "chat" && !("messages" in data) && Array.isArray(data.conversations)) data = sharegptToChat(data);
  if (!validators[format](data)) return issue(...describe(validators[format].errors![0]!));

  const categoryValue = typeof data.category === "string" ? data.category : undefined;
  const base = { format, ...(categoryValue !== undefined ? { category: categoryValue } : {}) };
  switch (format) {
    case "instruction": {
      const input = typeof data.input === "string" ? data.input : "";
      const instruction = data.instruction as string;
      const messages: Message[] = [];
      if (typeof data.system === "string" && data.system.trim() !== "") messages.push({ role: "system", content: data.system });
      messages.push({
        role: "user",
        content: input.trim() ? `${instruction}\n\n${input}` : instruction,
        instruction: { instruction, input },
      });
      messages.push({ role: "assistant", content: data.output as string });
      return { example: { ...base, kind: "chat", messages } };
    }
    case "chat": {
      const messages = (data.messages as Message[]).map(({ role, content }) => ({ role, content }));
      for (let i = 0; i < messages.length; i++) {
        const role = messages[i]!.role;
        const previous = messages[i - 1]?.role;
        if (role === "system" && i > 0) return issue("a system message may only come first", `messages[${i}].role`);
        if (role === "assistant" && (previous === undefined || previous === "system")) {
          return issue(
            "the conversation starts with the assistant: the first turn (after an optional system message) must be the user's",
            `messages[${i}].role`,
          );
        }
        if (role === previous) return issue(`"${role}" follows "${role}": user and assistant turns must alternate`, `messages[${i}].role`);
      }
      const answered = messages.findIndex((m) => m.role === "assistant" && m.content.trim() !== "");
      if (answered < 0) return issue("no assistant message with content: nothing to learn", "messages");
      if (!messages.some((m) => m.role === "user")) return issue("no user message", "messages");
      return { example: { ...base, kind: "chat", messages } };
    }
    case "prompt_completion":
      return {
        example: {
          ...base,
          kind: "chat",
          messages: [
            { role: "user", content: data.prompt as string },
            { role: "assistant", content: data.completion as string },
          ],
        },
      };
    case "completion": {
      const text = data.text as string;
      const promptEnd = data.prompt_end as number | undefined;
      if (promptEnd === undefined) return { example: { ...base, kind: "text", text } };
      if (promptEnd >= text.length || !/\S/.test(text.slice(promptEnd)))
        return issue(`must be below the text's length (${text.length}), with an answer after it`, "prompt_end");
      return { example: { ...base, kind: "text", text, promptEnd } };
    }
  }
}

function sharegptToChat(data: Record<string, unknown>): Record<string, unknown> {
  const turns = data.conversations as unknown[];
  return {
    ...data,
    messages: turns.map((turn) => {
      if (typeof turn !== "object" || turn === null) return turn;
      const t = turn as Record<string, unknown>;
      if ("role" in t) return t;
      return { role: SHAREGPT_ROLES[String(t.from)] ?? t.from, content: t.value };
    }),
  };
}

function describe(error: ErrorObject): [string, string | undefined] {
  const field =
    error.instancePath
      .replace(/^\//, "")
      .replace(/\/(\d+)(?=\/|$)/g, "[$1]")
      .replace(/\//g, ".") || undefined;
  switch (error.keyword) {
    case "required": {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return [`missing required field "${missing}"`, field ? `${field}.${missing}` : missing];
    }
    case "type":
      return [`must be ${(error.params as { type: string }).type}`, field];
    case "pattern":
      return ["must not be empty or only whitespace", field];
    case "enum":
      return [`must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`, field];
    case "minItems":
      return ["must not be empty", field];
    default:
      return [error.message ?? "invalid", field];
  }
}

/** The conversation as one canonical string (for duplicate detection and split hashing). */
export function exampleKey(example: Example, normalize = false): string {
  const parts = example.kind === "text" ? [`text\u0000${example.text}`] : example.messages.map((m) => `${m.role}\u0000${m.content}`);
  const key = parts.join("\u0001");
  return normalize ? collapseSpaces(key.toLowerCase()) : key;
}

/** JavaScript's \s: what `trim()` and `/\s+/` take for whitespace. */
const SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]);
const isSpace = (code: number): boolean => SPACE.has(code) || (code >= 0x2000 && code <= 0x200a);

/**
 * `text.replace(/\s+/g, " ").trim()`, built in chunks: the regular expression holds every match of a long row at
 * once (a 50 MB row cost 0.9 GB that way).
 */
export function collapseSpaces(text: string): string {
  const chunks: string[] = [];
  const buffer = new Uint16Array(8192);
  let used = 0;
  let pendingSpace = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isSpace(code)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace && (used > 0 || chunks.length > 0)) buffer[used++] = 0x20;
    pendingSpace = false;
    buffer[used++] = code;
    if (used >= buffer.length - 1) {
      chunks.push(String.fromCharCode(...buffer.subarray(0, used)));
      used = 0;
    }
  }
  chunks.push(String.fromCharCode(...buffer.subarray(0, used)));
  return chunks.join("");
}

/** The text an answer check (exact match, Cypher parsing) looks at: the last assistant turn, or the text. */
export function answerOf(example: Example): string {
  if (example.kind === "text") return example.text;
  for (let i = example.messages.length - 1; i >= 0; i--) if (example.messages[i]!.role === "assistant") return example.messages[i]!.content;
  return "";
}

/**
 * The texts a tokenizer should learn from records: the ChatML role names (so template words tokenize compactly),
 * every turn's content and every plain-text record. Bad records are skipped (the validator reports them).
 */
export async function* exampleTexts(events: Iterable<ReadEvent> | AsyncIterable<ReadEvent>, file: string): AsyncGenerator<string> {
  yield "system\nuser\nassistant\n";
  for await (const event of events) {
    if (event.issue) continue;
    const converted = toExample(event.value, file, event.line);
    if (!("example" in converted)) continue;
    const e = converted.example;
    if (e.kind === "text") yield e.text;
    else for (const m of e.messages) yield m.content;
  }
}
