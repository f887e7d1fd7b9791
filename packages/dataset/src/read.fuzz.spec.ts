// Fuzz test of dataset reading (see fuzz.shared.ts): JSONL and JSON-array text, well-formed or damaged, and random
// bytes. The reader never throws (a bad record is an issue with its line, reading goes on), agrees with JSON.parse on
// what is valid, and toExample turns every value into an example or an issue naming the line.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fuzzCase, fuzzParameters, hostileJson, newStats, reportFuzz } from "../../../fuzz.shared.js";
import { chunked, collect } from "./fixtures.spec-helper.js";
import { toExample } from "./formats.js";
import { readRecords, type ReadEvent } from "./read.js";

const record = fc.oneof(
  fc.record({
    instruction: fc.string(),
    input: fc.option(fc.string(), { nil: undefined }),
    output: fc.string(),
    category: fc.option(fc.string(), { nil: undefined }),
  }),
  fc.record({
    messages: fc.array(
      fc.record({ role: fc.constantFrom("system", "user", "assistant", "tool", ""), content: fc.oneof(fc.string(), hostileJson) }),
      { maxLength: 5 },
    ),
  }),
  fc.record({
    conversations: fc.array(fc.record({ from: fc.constantFrom("human", "gpt", "system", "x"), value: fc.string() }), { maxLength: 4 }),
  }),
  fc.record({ prompt: fc.string(), completion: fc.string() }),
  fc.record({ text: fc.oneof(fc.string(), hostileJson) }),
  fc.dictionary(fc.string({ maxLength: 12 }), hostileJson, { maxKeys: 4 }),
  hostileJson,
);

/** Damage that turns valid JSON text into text a careless reader might accept: doubled or dropped punctuation. */
const damage = fc.array(
  fc.tuple(fc.nat(), fc.constantFrom(",", ",,", "}", "]", "[", "{", '"', ":", "\\", "\n", "", " ", "\u0000", "\r\n", "\uFEFF")),
  { maxLength: 3 },
);

function applyDamage(text: string, edits: [number, string][]): string {
  for (const [at, piece] of edits) {
    const i = text.length ? at % (text.length + 1) : 0;
    const deleteOne = piece === "" || at % 3 === 0;
    text = text.slice(0, i) + piece + text.slice(deleteOne ? i + 1 : i);
  }
  return text;
}

const layout = fc.constantFrom("jsonl", "array", "array-pretty");
const source = fc.record({
  layout,
  records: fc.array(record, { maxLength: 6 }),
  edits: damage,
  sizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
});

function render(layout: string, records: unknown[]): string {
  if (layout === "jsonl") return records.map((r) => JSON.stringify(r)).join("\n") + "\n";
  return layout === "array" ? JSON.stringify(records) : JSON.stringify(records, null, 2);
}

/** What JSON.parse says a text holds, by the reader's rules: the records (by line for JSONL), or undefined if invalid. */
function parseLikeJson(text: string): unknown[] | undefined {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (body.trimStart().startsWith("[")) {
    try {
      const parsed = JSON.parse(body) as unknown;
      return Array.isArray(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  const values: unknown[] = [];
  for (const line of body.split("\n")) {
    const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (/^[ \t\r\n]*$/.test(trimmed)) continue;
    try {
      values.push(JSON.parse(trimmed));
    } catch {
      return undefined;
    }
  }
  return values;
}

function checkEvents(events: ReadEvent[], file: string): void {
  let previous = 0;
  for (const event of events) {
    expect(event.line).toBeGreaterThanOrEqual(previous);
    previous = event.line;
    if (event.issue) {
      expect(event.issue).toMatchObject({ file, line: event.line });
      continue;
    }
    const converted = toExample(event.value, file, event.line);
    if ("issue" in converted) expect(converted.issue).toMatchObject({ file, line: event.line });
  }
}

describe("dataset reading fuzz", () => {
  it("JSONL and JSON arrays, well-formed or damaged: records as JSON.parse reads them, an issue with its line for the rest", async () => {
    const stats = newStats();
    await fc.assert(
      fc.asyncProperty(source, async ({ layout, records, edits, sizes }) => {
        const text = applyDamage(render(layout, records), edits);
        let events: ReadEvent[] = [];
        await fuzzCase(
          stats,
          () => false,
          async () => {
            events = await collect(readRecords(chunked(text, sizes), { file: "fuzz.jsonl" }));
            return events.find((e) => e.issue)?.issue?.message;
          },
        );
        checkEvents(events, "fuzz.jsonl");
        const expected = parseLikeJson(text);
        const issues = events.filter((e) => e.issue);
        if (expected === undefined) expect(issues.length, text).toBeGreaterThan(0);
        else {
          expect(issues, text).toEqual([]);
          expect(events.map((e) => e.value)).toEqual(expected);
        }
      }),
      fuzzParameters(1000),
    );
    reportFuzz("JSONL/JSON-array text", stats);
  }, 600_000);

  it("random bytes, deep nesting and huge records: never a throw", async () => {
    const stats = newStats();
    const nested = fc
      .record({ depth: fc.integer({ min: 1, max: 50_000 }), open: fc.constantFrom("[", '{"a":'), close: fc.boolean(), array: fc.boolean() })
      .map(({ depth, open, close, array }) => {
        const body = open.repeat(depth) + "1" + (close ? (open === "[" ? "]" : "}").repeat(depth) : "");
        return new TextEncoder().encode(array ? `[${body}]` : `${body}\n{"text":"ok"}\n`);
      });
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      nested,
      fc.string({ unit: "binary", maxLength: 300 }).map((s) => new TextEncoder().encode(s)),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.integer({ min: 1, max: 100 }), fc.constantFrom(undefined, 64), async (input, size, maxRecordBytes) => {
        let events: ReadEvent[] = [];
        await fuzzCase(
          stats,
          () => false,
          async () => {
            async function* chunks() {
              for (let i = 0; i < input.length; i += size) yield input.subarray(i, i + size);
            }
            events = await collect(readRecords(chunks(), { file: "fuzz.jsonl", ...(maxRecordBytes ? { maxRecordBytes } : {}) }));
            return events.find((e) => e.issue)?.issue?.message;
          },
        );
        checkEvents(events, "fuzz.jsonl");
      }),
      fuzzParameters(500),
    );
    reportFuzz("dataset bytes", stats);
  }, 600_000);
});
