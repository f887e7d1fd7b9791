// The rows a generator writes, and the key that decides whether two rows are duplicates.

export type RowFormat = "instruction" | "chat";
export const ROW_FORMATS: readonly RowFormat[] = ["instruction", "chat"];

/** What a generator produces for one candidate; the kit adds the category, the system prompt and the format. */
export interface Example {
  instruction: string;
  /** Extra context (code, a scenario); joined to the instruction with a blank line in chat rows. */
  input?: string;
  output: string;
}

export interface InstructionRow {
  instruction: string;
  input: string;
  output: string;
  category: string;
  system?: string;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRow {
  messages: ChatMessage[];
  category: string;
}

export type Row = InstructionRow | ChatRow;

/** The user turn of an instruction row: instruction, then the input after a blank line when there is one. */
export function userContent(example: Example): string {
  return example.input ? `${example.instruction}\n\n${example.input}` : example.instruction;
}

export function toRow(example: Example, category: string, format: RowFormat, system?: string): Row {
  if (format === "chat") {
    const messages: ChatMessage[] = [];
    if (system) messages.push({ role: "system", content: system });
    messages.push({ role: "user", content: userContent(example) }, { role: "assistant", content: example.output });
    return { messages, category };
  }
  const row: InstructionRow = { instruction: example.instruction, input: example.input ?? "", output: example.output, category };
  if (system) row.system = system;
  return row;
}

/**
 * The deduplication key: the conversation (system?, user, assistant) after lowercasing and collapsing whitespace,
 * the same normalization `neural validate` uses for "normalized duplicates". Two examples with equal keys are one row.
 */
export function normalizedKey(example: Example, system?: string): string {
  const parts = system ? [`system\u0000${system}`] : [];
  parts.push(`user\u0000${userContent(example)}`, `assistant\u0000${example.output}`);
  return parts.join("\u0001").toLowerCase().replace(/\s+/g, " ").trim();
}
