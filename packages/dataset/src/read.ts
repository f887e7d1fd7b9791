import { locateJsonError, lineColumn } from "./json-syntax.js";
import type { RecordIssue } from "./errors.js";

/** One record of a JSONL file (or one element of a JSON array), or why it could not be parsed. */
export type ReadEvent = { line: number; value: unknown; issue?: undefined } | { line: number; issue: RecordIssue; value?: undefined };

export interface ReadOptions {
  /** The name used in issues (a path or a label). */
  file?: string;
  /** A record longer than this is reported and skipped, never buffered whole. Default 64 MiB. */
  maxRecordBytes?: number;
}

const NEWLINE = 0x0a;
// ignoreBOM keeps a U+FEFF inside the file (only the one that starts it is a byte order mark, removed above).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Streams records from JSONL, or from a JSON array (detected by a leading `[`), in constant memory.
 * Malformed records are yielded as issues with their line (and column for JSON syntax); reading goes on.
 */
export async function* readRecords(chunks: AsyncIterable<Uint8Array>, options: ReadOptions = {}): AsyncGenerator<ReadEvent> {
  const file = options.file ?? "<input>";
  const maxBytes = options.maxRecordBytes ?? 64 * 1024 * 1024;
  const iterator = chunks[Symbol.asyncIterator]();
  // Peek at the first non-blank byte to choose the mode, after a byte order mark (which may span chunks).
  const pending: Uint8Array[] = [];
  let firstByte: number | undefined;
  let head: Uint8Array = new Uint8Array(0);
  while (head.length < 3) {
    const next = await iterator.next();
    if (next.done) break;
    head = concat([head, next.value]);
  }
  const BOM = [0xef, 0xbb, 0xbf];
  let chunk: Uint8Array | undefined = head.length >= 3 && BOM.every((b, i) => head[i] === b) ? head.subarray(3) : head;
  while (firstByte === undefined && chunk !== undefined) {
    pending.push(chunk);
    for (const byte of chunk) {
      if (!isJsonWhitespace(byte)) {
        firstByte = byte;
        break;
      }
    }
    if (firstByte === undefined) {
      const next = await iterator.next();
      chunk = next.done ? undefined : next.value;
    }
  }
  async function* all(): AsyncGenerator<Uint8Array> {
    yield* pending;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  if (firstByte === 0x5b /* [ */) yield* readJsonArray(all(), file, maxBytes);
  else yield* readJsonLines(all(), file, maxBytes);
}

async function* readJsonLines(chunks: AsyncIterable<Uint8Array>, file: string, maxBytes: number): AsyncGenerator<ReadEvent> {
  let line = 0;
  let parts: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  const finish = function* (bytes: Uint8Array[]): Generator<ReadEvent> {
    line++;
    if (overflow) {
      overflow = false;
      yield { line, issue: { file, line, message: `record is longer than ${maxBytes} bytes; skipped` } };
      return;
    }
    const event = parseRecord(concat(bytes), file, line, 1);
    if (event) yield event;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (!overflow && size + piece.length > maxBytes) overflow = true;
      yield* finish(overflow ? [] : parts.length ? [...parts, piece] : [piece]);
      parts = [];
      size = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0) {
      if (size + rest.length > maxBytes) {
        overflow = true;
        parts = [];
      } else if (!overflow) {
        parts.push(rest.slice()); // copy: the stream may reuse its buffer
        size += rest.length;
      }
    }
  }
  if (size > 0 || overflow) yield* finish(parts);
}

/** Parses one record's bytes; returns nothing for a blank line. `column0` is the column of its first byte. */
function parseRecord(bytes: Uint8Array, file: string, line: number, column0: number): ReadEvent | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { line, issue: { file, line, message: "not valid UTF-8" } };
  }
  if (text.endsWith("\r")) text = text.slice(0, -1);
  if (/^[ \t\r\n]*$/.test(text)) return undefined; // JSON's whitespace only: a line of U+00A0 or U+FEFF is not blank
  try {
    return { line, value: JSON.parse(text) };
  } catch {
    const { offset, message } = locateJsonError(text);
    const at = lineColumn(text, Math.max(0, offset));
    return {
      line: line + at.line - 1,
      issue: {
        file,
        line: line + at.line - 1,
        column: at.line === 1 ? column0 + at.column - 1 : at.column,
        message: `invalid JSON: ${message || "syntax error"}`,
      },
    };
  }
}

async function* readJsonArray(chunks: AsyncIterable<Uint8Array>, file: string, maxBytes: number): AsyncGenerator<ReadEvent> {
  // A byte-level scanner: structural characters are ASCII, so UTF-8 continuation bytes never look like them.
  let line = 1;
  let column = 0;
  let state: "before" | "element" | "between" | "after" = "before";
  let depth = 0; // nesting inside the current element
  let inString = false;
  let escaped = false;
  let parts: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  let elementLine = 0;
  let elementColumn = 0;
  let elementStart = -1; // offset of the element's first byte in the current chunk, or -1 when it began earlier
  let sawElement = false;

  const endElement = (chunk: Uint8Array, end: number): ReadEvent | undefined => {
    const tail = chunk.subarray(elementStart < 0 ? 0 : elementStart, end);
    const tooLong = overflow || size + tail.length > maxBytes;
    const bytes = tooLong ? new Uint8Array() : concat(parts.length ? [...parts, tail] : [tail]);
    parts = [];
    size = 0;
    overflow = false;
    elementStart = -1;
    if (tooLong)
      return { line: elementLine, issue: { file, line: elementLine, message: `record is longer than ${maxBytes} bytes; skipped` } };
    if (bytes.every(isJsonWhitespace)) {
      return {
        line: elementLine,
        issue: { file, line: elementLine, column: elementColumn, message: "invalid JSON: empty array element (a comma too many)" },
      };
    }
    return parseRecord(bytes, file, elementLine, elementColumn);
  };

  for await (const chunk of chunks) {
    if (state === "element") elementStart = -1;
    for (let k = 0; k < chunk.length; k++) {
      const byte = chunk[k]!;
      column++;
      if (byte === NEWLINE) {
        line++;
        column = 0;
      }
      if (state === "element") {
        if (inString) {
          if (escaped) escaped = false;
          else if (byte === 0x5c) escaped = true;
          else if (byte === 0x22) inString = false;
          continue;
        }
        if (byte === 0x22) inString = true;
        else if (byte === 0x7b || byte === 0x5b) depth++;
        else if (byte === 0x7d || byte === 0x5d) {
          if (depth > 0) depth--;
          else if (byte === 0x5d) {
            // the array's closing bracket (a '}' with nothing open stays in the element, which then fails to parse)
            const event = endElement(chunk, k);
            if (event) yield event;
            state = "after";
          }
        } else if (byte === 0x2c && depth === 0) {
          const event = endElement(chunk, k);
          if (event) yield event;
          state = "between";
        }
        continue;
      }
      if (isJsonWhitespace(byte)) continue;
      if (state === "before") {
        state = "between"; // the opening '['
        continue;
      }
      if (state === "after") {
        yield { line, issue: { file, line, column, message: "unexpected text after the closing ']' of the JSON array" } };
        return;
      }
      // state "between": an element starts here (or the array closes)
      if (byte === 0x5d && !sawElement) {
        state = "after";
        continue;
      }
      sawElement = true;
      state = "element";
      depth = 0;
      inString = false;
      escaped = false;
      elementLine = line;
      elementColumn = column;
      elementStart = k;
      k--; // rescan this byte as part of the element
      column--;
    }
    if (state === "element") {
      const piece = chunk.subarray(elementStart < 0 ? 0 : elementStart);
      if (overflow || size + piece.length > maxBytes) {
        overflow = true;
        parts = [];
      } else {
        parts.push(piece.slice());
        size += piece.length;
      }
    }
  }
  if ((state as string) !== "after") {
    yield { line, issue: { file, line, message: "the JSON array is not closed with ']' (truncated file?)" } };
  }
}

const isJsonWhitespace = (byte: number): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
