import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readRecords } from "./read.js";
import { chunked, collect } from "./fixtures.spec-helper.js";

const read = (text: string, sizes?: number[], maxRecordBytes?: number) =>
  collect(readRecords(chunked(text, sizes), { file: "data.jsonl", ...(maxRecordBytes ? { maxRecordBytes } : {}) }));

describe("readRecords (JSONL)", () => {
  it("yields each record with its line, skips blank lines, handles CRLF and a BOM", async () => {
    const events = await read('\uFEFF{"a":1}\r\n\n  \n{"b":"é"}\r\n{"c":3}');
    expect(events).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, value: { b: "é" } },
      { line: 5, value: { c: 3 } },
    ]);
  });

  it("reports a malformed line with its line and column and goes on", async () => {
    const events = await read('{"a":1}\n{"a": 1,, "b": 2}\n{"ok":true}\n');
    expect(events[0]).toEqual({ line: 1, value: { a: 1 } });
    expect(events[1]!.issue).toMatchObject({ file: "data.jsonl", line: 2, column: 9 });
    expect(events[1]!.issue!.message).toMatch(/invalid JSON/);
    expect(events[2]).toEqual({ line: 3, value: { ok: true } });
  });

  it("reports invalid UTF-8 and over-long records without buffering them", async () => {
    const bad = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x0a]);
    async function* source() {
      yield bad;
      yield new TextEncoder().encode(`{"big":"${"x".repeat(500)}"}\n{"z":1}\n`);
    }
    const events = await collect(readRecords(source(), { file: "f", maxRecordBytes: 100 }));
    expect(events.map((e) => e.issue?.message ?? e.value)).toEqual([
      "not valid UTF-8",
      "record is longer than 100 bytes; skipped",
      { z: 1 },
    ]);
    expect(events.map((e) => e.line)).toEqual([1, 2, 3]);
  });

  it("locates the error in a record nested 100,000 levels deep (no stack overflow)", async () => {
    const deep = '{"a":'.repeat(100_000) + "1" + "}".repeat(99_999);
    const events = await read(`${deep}\n{"z":1}\n`, [1 << 20]);
    expect(events[0]!.issue).toMatchObject({ line: 1, column: 600_001, message: "invalid JSON: expected ',' or '}' after property value" });
    expect(events[1]).toEqual({ line: 2, value: { z: 1 } });
  });

  it("gives the same events however the bytes are chunked", async () => {
    const text = '{"x":"α"}\n\n{"y":[1,2]}\n{bad\n{"z":"😀"}';
    const expected = await read(text, [1 << 20]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), async (sizes) => {
        expect(await read(text, sizes)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });
});

describe("readRecords (JSON array)", () => {
  it("streams elements with the line where each starts", async () => {
    const text = '[\n  {"a": 1},\n  {\n    "b": [1, {"c": "]"}]\n  },\n  {"d": "x,y"}\n]\n';
    for (const sizes of [[1], [5, 2], [1 << 20]]) {
      expect(await read(text, sizes)).toEqual([
        { line: 2, value: { a: 1 } },
        { line: 3, value: { b: [1, { c: "]" }] } },
        { line: 6, value: { d: "x,y" } },
      ]);
    }
  });

  it("reports a bad element and goes on; reports a truncated array", async () => {
    const events = await read('[{"a":1}, {"a":tru}, {"b":2}]');
    expect(events[0]).toEqual({ line: 1, value: { a: 1 } });
    expect(events[1]!.issue).toMatchObject({ line: 1, column: 19 });
    expect(events[2]).toEqual({ line: 1, value: { b: 2 } });
    const truncated = await read('[{"a":1},\n{"b":');
    expect(truncated.at(-1)!.issue!.message).toMatch(/not closed/);
    expect(await read("[]")).toEqual([]);
  });

  it("reports an empty element (`},,`, `[,` or a trailing comma) where JSON.parse would fail", async () => {
    for (const text of ['[{"a":1},,{"b":2}]', '[,{"a":1},{"b":2}]', '[{"a":1},{"b":2},\n]']) {
      expect(() => JSON.parse(text)).toThrow();
      const events = await read(text);
      expect(events.filter((e) => e.value !== undefined).map((e) => e.value)).toEqual([{ a: 1 }, { b: 2 }]);
      expect(events.filter((e) => e.issue).map((e) => e.issue!.message)).toEqual(["invalid JSON: empty array element (a comma too many)"]);
    }
    expect((await read('[{"a":1},,{"b":2}]'))[1]!.issue).toMatchObject({ file: "data.jsonl", line: 1, column: 10 });
    // An array closed with '}' is not closed.
    expect((await read('[{"a":1},{"b":2}}')).map((e) => e.issue?.message ?? e.value)).toEqual([
      { a: 1 },
      "the JSON array is not closed with ']' (truncated file?)",
    ]);
  });
});
