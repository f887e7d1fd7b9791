// The rows a generator writes, and the key that decides whether two rows are duplicates.

export type RowFormat = "instruction" | "chat";
export const ROW_FORMATS: readonly RowFormat[] = ["instruction", "chat"];

/** What a generator produces for one candidate; the kit adds the category, the system prompt and the format. */
export interface Example {
  instruction: string;
  /** Extra context (code, a scenario); joined to the instruction with a blank line in chat rows. */
  input?: string;
  output: string;
  /**
   * The row to write as it is, for generators whose rows carry their own shape (a per-row system prompt, raw-text
   * prompts); the kit adds the category. Duplicates are still decided by instruction, input and output.
   */
  row?: Record<string, unknown>;
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

/** A row a generator shaped itself (see Example.row). */
export interface OwnRow {
  [key: string]: unknown;
  category: string;
}

export type Row = InstructionRow | ChatRow | OwnRow;

/** The user turn of an instruction row: instruction, then the input after a blank line when there is one. */
export function userContent(example: Example): string {
  return example.input ? `${example.instruction}\n\n${example.input}` : example.instruction;
}

export function toRow(example: Example, category: string, format: RowFormat, system?: string): Row {
  if (example.row) return { ...example.row, category };
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
