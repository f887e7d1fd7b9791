import { Ajv } from "ajv";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { collapseSpaces, formatSchemas, toExample } from "./formats.js";

const convert = (record: unknown) => toExample(record, "d.jsonl", 7);

describe("toExample", () => {
  it("detects the format per record, never from the first one", () => {
    const rows = [
      { instruction: "Classify", input: "salary data", output: "TLP:RED", category: "hr" },
      {
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" },
        ],
      },
      { prompt: "2+2=", completion: "4" },
      { text: "plain text" },
      {
        conversations: [
          { from: "human", value: "hi" },
          { from: "gpt", value: "hello" },
        ],
      },
    ];
    expect(rows.map((r) => ("example" in convert(r) ? (convert(r) as { example: { format: string } }).example.format : "issue"))).toEqual([
      "instruction",
      "chat",
      "prompt_completion",
      "completion",
      "chat",
    ]);
  });

  it("turns instruction rows into system?/user/assistant turns (user = instruction + blank line + input)", () => {
    expect(convert({ system: "Be terse.", instruction: "Classify", input: "salary data", output: "TLP:RED", category: "hr" })).toEqual({
      example: {
        format: "instruction",
        category: "hr",
        kind: "chat",
        messages: [
          { role: "system", content: "Be terse." },
          { role: "user", content: "Classify\n\nsalary data", instruction: { instruction: "Classify", input: "salary data" } },
          { role: "assistant", content: "TLP:RED" },
        ],
      },
    });
    const noInput = convert({ instruction: "Say hi", input: "  ", output: "hi" });
    expect("example" in noInput && noInput.example.kind === "chat" && noInput.example.messages[0]!.content).toBe("Say hi");
  });

  it("names the file, line and field of a bad record", () => {
    expect(convert({ text: "abc", prompt_end: 3 })).toEqual({
      issue: { file: "d.jsonl", line: 7, field: "prompt_end", message: "must be below the text's length (3), with an answer after it" },
    });
    expect(convert({ text: "abc", prompt_end: 0 })).toMatchObject({ issue: { field: "prompt_end" } });
    expect(convert({ text: "abc", prompt_end: 1 })).toMatchObject({ example: { kind: "text", text: "abc", promptEnd: 1 } });
    expect(convert({ instruction: "x" })).toEqual({
      issue: { file: "d.jsonl", line: 7, field: "output", message: 'missing required field "output"' },
    });
    expect(convert({ instruction: "x", output: "   " })).toEqual({
      issue: { file: "d.jsonl", line: 7, field: "output", message: "must not be empty or only whitespace" },
    });
    expect(
      convert({
        messages: [
          { role: "user", content: "a" },
          { role: "bot", content: "b" },
        ],
      }),
    ).toMatchObject({
      issue: { field: "messages[1].role", message: "must be one of system, user, assistant" },
    });
    expect(convert({ messages: [{ role: "user", content: 5 }] })).toMatchObject({
      issue: { field: "messages[0].content", message: "must be string" },
    });
    expect(convert({ messages: [{ role: "user", content: "only a question" }] })).toMatchObject({
      issue: { field: "messages", message: /no assistant/ },
    });
    expect(
      convert({
        messages: [
          { role: "user", content: "q" },
          { role: "system", content: "s" },
          { role: "assistant", content: "a" },
        ],
      }),
    ).toMatchObject({
      issue: { field: "messages[1].role" },
    });
    const chat = (...roles: string[]) => convert({ messages: roles.map((role, i) => ({ role, content: `turn ${i}` })) });
    expect(chat("assistant", "user", "assistant")).toMatchObject({
      issue: { line: 7, field: "messages[0].role", message: /starts with the assistant/ },
    });
    expect(chat("system", "assistant", "user", "assistant")).toMatchObject({
      issue: { field: "messages[1].role", message: /starts with the assistant/ },
    });
    expect(chat("user", "user", "assistant")).toMatchObject({ issue: { field: "messages[1].role", message: /"user" follows "user"/ } });
    expect(chat("user", "assistant", "assistant")).toMatchObject({
      issue: { field: "messages[2].role", message: /"assistant" follows "assistant"/ },
    });
    expect(chat("system", "system", "user", "assistant")).toMatchObject({
      issue: { field: "messages[1].role", message: /system message may only come first/ },
    });
    expect(chat("system", "user", "assistant", "user", "assistant")).toHaveProperty("example");
    expect(
      convert({
        conversations: [
          { from: "gpt", value: "a" },
          { from: "human", value: "q" },
        ],
      }),
    ).toMatchObject({ issue: { field: "messages[0].role" } });
    expect(convert({ foo: 1, bar: 2 })).toMatchObject({ issue: { message: /unknown record format \(keys: foo, bar\)/ } });
    expect(convert([1, 2])).toMatchObject({ issue: { message: "expected a JSON object, got an array" } });
  });

  it("exports standard JSON Schemas that ajv compiles and that accept the documented examples", () => {
    const ajv = new Ajv({ strict: true });
    expect(ajv.validate(formatSchemas.instruction, { instruction: "a", output: "b" })).toBe(true);
    expect(ajv.validate(formatSchemas.chat, { messages: [{ role: "assistant", content: "b" }] })).toBe(true);
    expect(ajv.validate(formatSchemas.prompt_completion, { prompt: "a" })).toBe(false);
    expect(ajv.validate(formatSchemas.completion, { text: "" })).toBe(false);
  });
});

describe("collapseSpaces", () => {
  it('is text.replace(/\\s+/g, " ").trim(), for any text', () => {
    const unit = fc.oneof(
      fc.constantFrom(
        " ",
        "\t",
        "\n",
        "\r",
        "\v",
        "\f",
        "\u00a0",
        "\u1680",
        "\u2000",
        "\u200a",
        "\u2028",
        "\u2029",
        "\u202f",
        "\u205f",
        "\u3000",
        "\ufeff",
        "\u200b",
        "\u180e",
      ),
      fc.string({ unit: "binary", maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 40 }), fc.nat({ max: 20_000 }), (parts, pad) => {
        const text = parts.join("") + "x".repeat(pad % 3 === 0 ? pad : 0);
        expect(collapseSpaces(text)).toBe(text.replace(/\s+/g, " ").trim());
      }),
      { numRuns: 300, seed: 16 },
    );
  });
});
