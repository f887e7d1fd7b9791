/** Where a problem is: the file, the 1-based line (and column for JSON syntax), and the field path. */
export interface Location {
  file: string;
  line: number;
  column?: number;
  field?: string;
}

/** A problem with one record. Reading goes on; these are collected, never thrown. */
export interface RecordIssue extends Location {
  message: string;
}

export function formatIssue(issue: RecordIssue): string {
  const where = `${issue.file}:${issue.line}${issue.column !== undefined ? `:${issue.column}` : ""}`;
  return `${where}: ${issue.field ? `${issue.field}: ` : ""}${issue.message}`;
}

/** The file as a whole cannot be used (missing, unreadable, not JSONL or a JSON array). */
export class DatasetError extends Error {
  override name = "DatasetError";
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
  }
}

/** A tokenizer directory that cannot be used. */
export class TokenizerError extends Error {
  override name = "TokenizerError";
}

/** A chat template that cannot render a conversation. */
export class TemplateError extends Error {
  override name = "TemplateError";
}
