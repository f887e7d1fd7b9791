import { describe, expect, it } from "vitest";
import { formatHelp, helpDefault, parseArgs, UsageError, type OptionSpec } from "./args.js";
import type { Command } from "./command.js";

const specs: OptionSpec[] = [
  { name: "max_length", type: "number", description: "", default: 512 },
  { name: "learning_rate", type: "number", description: "" },
  { name: "packing", type: "boolean", description: "", default: true },
  { name: "template", type: "string", description: "", choices: ["chatml", "alpaca"] },
  { name: "targets", type: "string[]", description: "" },
];

describe("parseArgs", () => {
  it("accepts underscore names, kebab-case and --flag=value", () => {
    const a = parseArgs(["--max_length", "128", "--learning-rate=2e-4", "--template", "alpaca", "file.jsonl"], specs, [
      { name: "file", description: "" },
    ]);
    expect(a.options).toMatchObject({ max_length: 128, learning_rate: 2e-4, template: "alpaca", packing: true });
    expect(a.positionals).toEqual(["file.jsonl"]);
    expect([...a.given].sort()).toEqual(["learning_rate", "max_length", "template"]);
  });

  it("treats zero as a value, not as unset", () => {
    const a = parseArgs(["--learning_rate", "0", "--max-length", "0"], specs);
    expect(a.options.learning_rate).toBe(0);
    expect(a.options.max_length).toBe(0);
    expect(a.given.has("learning_rate")).toBe(true);
  });

  it("handles booleans, --no- negation and lists", () => {
    expect(parseArgs(["--no-packing"], specs).options.packing).toBe(false);
    expect(parseArgs(["--packing=false"], specs).options.packing).toBe(false);
    expect(parseArgs(["--targets", "q_proj,v_proj", "--targets", "o_proj"], specs).options.targets).toEqual(["q_proj", "v_proj", "o_proj"]);
  });

  it("rejects unknown flags with a suggestion, bad numbers, bad choices and missing values", () => {
    expect(() => parseArgs(["--max-lenght", "5"], specs)).toThrow(/unknown option --max-lenght \(did you mean --max_length\?\)/);
    expect(() => parseArgs(["--max_length", "abc"], specs)).toThrow(UsageError);
    expect(() => parseArgs(["--template", "vicuna"], specs)).toThrow(/one of chatml, alpaca/);
    expect(() => parseArgs(["--max_length"], specs)).toThrow(/needs a value/);
    expect(() => parseArgs(["a", "b"], specs, [{ name: "file", description: "" }])).toThrow(/unexpected argument "b"/);
  });

  it("takes a following true/false as a boolean's value (any case), never as a positional", () => {
    const file = [{ name: "file", description: "" }];
    expect(parseArgs(["--packing", "false", "a.jsonl"], specs, file)).toMatchObject({
      options: { packing: false },
      positionals: ["a.jsonl"],
    });
    expect(parseArgs(["--packing", "TRUE"], specs).options.packing).toBe(true);
    expect(parseArgs(["--no-packing", "false"], specs).options.packing).toBe(true);
    expect(parseArgs(["--packing", "a.jsonl"], specs, file)).toMatchObject({ options: { packing: true }, positionals: ["a.jsonl"] });
  });

  it("names the nearest value of a choice, and nothing when none is near", () => {
    expect(() => parseArgs(["--template", "alpacca"], specs)).toThrow(/got "alpacca" \(did you mean alpaca\?\)/);
    expect(() => parseArgs(["--template", "vicuna"], specs)).toThrow(/got "vicuna"$/);
  });

  it("accepts negative numbers as values", () => {
    expect(parseArgs(["--learning_rate", "-1"], specs).options.learning_rate).toBe(-1);
  });
});

describe("formatHelp", () => {
  it("lists options without a group first, then each group under its name, with defaults and choices", () => {
    const help = formatHelp({
      name: "train",
      summary: "Train",
      options: [
        { name: "config", type: "string", description: "a config file" },
        { name: "max_length", type: "number", description: "the longest sequence", default: 512, group: "data" },
        { name: "lora_r", type: "number", description: "the rank", default: 16, group: "LoRA" },
        { name: "packing", type: "boolean", description: "pack examples", default: true, group: "data" },
      ],
    }).split("\n");
    expect(help.slice(4)).toEqual([
      expect.stringMatching(/^  --config VALUE +a config file$/),
      "",
      "data:",
      expect.stringMatching(/^  --max_length N +the longest sequence \(default 512\)$/),
      expect.stringMatching(/^  --packing +pack examples \(default true\)$/),
      "",
      "LoRA:",
      expect.stringMatching(/^  --lora_r N +the rank \(default 16\)$/),
    ]);
  });
});

describe("every command's help", () => {
  it("gives each flag a sentence and a default (or what leaving it out means), grouped, wrapped to the terminal", async () => {
    const { commands } = await import("./commands/index.js");
    const width = 80;
    const problems: string[] = [];
    for (const entry of commands) {
      const loaded = await entry.load([]);
      for (const command of (Array.isArray(loaded) ? loaded : [loaded]) as Command[]) {
        const help = formatHelp({ ...command, summary: command.summary ?? entry.summary }, width);
        for (const line of help.split("\n").slice(3))
          if (line.length > width) problems.push(`${command.name}: wider than ${width}: ${line}`);
        for (const o of command.options) {
          if (o.description.split(/\s+/).length < 2 || o.description === o.name) problems.push(`${command.name} --${o.name}: no sentence`);
          if (helpDefault(o) === undefined && !/\bdefault\b|\(required\)/.test(o.description))
            problems.push(`${command.name} --${o.name}: no default shown`);
        }
      }
    }
    expect(problems).toEqual([]);
    const { trainCommand } = await import("./commands/train.js");
    const train = formatHelp({ ...trainCommand, summary: "Train" }, width);
    const unwrapped = train.replace(/\n {31}/g, " ");
    expect(unwrapped).toMatch(/\n  --max_steps N +stop after this many optimizer steps \(overrides --epochs\) \(default from --epochs\)\n/);
    expect(unwrapped).toMatch(/\n  --adam_beta1 N +AdamW's decay of the first moment \(default 0\.9\)\n/);
    expect(unwrapped).toMatch(/\n  --train_on_inputs +learn the prompts too, not only the answers \(default false\)\n/);
    expect(unwrapped).toMatch(/\n  --threads N +CPU threads for ONNX Runtime \(default all cores\)\n/);
    for (const group of ["data", "model", "LoRA", "optimisation", "evaluation", "output", "device"])
      expect(train).toContain(`\n\n${group}:\n`);
  }, 120_000);
});
