// @neural/generator-coding: coding-assistant rows in Python, Go, JavaScript and Java, built from one small IR per
// task: generation from a specification, bug fixing (a known mutation planted in correct code), code understanding
// and test writing, 40/30/20/10 by default. Every code answer is parsed with the language's tree-sitter grammar
// before it is written.
import {
  GeneratorOptionsError,
  type CategorySpace,
  type Example,
  type GeneratorDefinition,
  type OptionValues,
  type Rng,
} from "@neural/generators";
import { checkSyntax, createParser, type GrammarName } from "@neural/generators/tree-sitter";
import { allTasks, type Mutation, type Task } from "./families.js";
import { evaluate, formatValue, type Fn, type Value } from "./ir.js";
import { FENCE, fnName, LANGUAGE_NAMES, LANGUAGES, renderFunction, type Language } from "./render.js";
import { renderTests, testCases } from "./tests.js";

export { allTasks, type Mutation, type Task } from "./families.js";
export { evaluate, formatValue, type Fn, type Value } from "./ir.js";
export { fnName, LANGUAGES, renderFunction, type Language } from "./render.js";
export { renderTests, testCases } from "./tests.js";

export interface CodingOptions {
  languages?: readonly Language[];
}

type Parsers = Record<Language, { check(code: string): boolean }>;

async function loadParsers(languages: readonly Language[]): Promise<Parsers> {
  const out: Partial<Parsers> = {};
  for (const lang of languages) {
    const parser = await createParser(lang as GrammarName);
    out[lang] = { check: (code) => checkSyntax(parser, code).ok };
  }
  return out as Parsers;
}

const fence = (code: string, lang: Language) => `\`\`\`${FENCE[lang]}\n${code.trimEnd()}\n\`\`\``;

function signature(fn: Fn, lang: Language): string {
  return `${fnName(fn, lang)}(${fn.params.map((p) => p.name).join(", ")})`;
}

function call(fn: Fn, args: readonly Value[], lang: Language): string {
  const name = lang === "java" ? `Solution.${fnName(fn, lang)}` : fnName(fn, lang);
  return `${name}(${args.map((a) => formatValue(a, lang)).join(", ")})`;
}

/** A sample input that tells the mutated function from the correct one, if any. */
export function witness(task: Task, mutation: Mutation): { args: Value[]; good: Value; bad: Value } | undefined {
  for (const args of task.samples) {
    const good = evaluate(task.fn, args);
    let bad: Value;
    try {
      bad = evaluate(mutation.fn, args);
    } catch {
      continue;
    }
    if (JSON.stringify(good) !== JSON.stringify(bad)) return { args, good, bad };
  }
  return undefined;
}

const GENERATION_FRAMES = [
  "Write a {lang} function `{sig}` that {spec}.",
  "Implement `{sig}` in {lang}. It {spec}.",
  "In {lang}, write `{sig}`: it {spec}.",
  "I need a {lang} function called `{sig}` that {spec}. Please write it.",
];

export async function codingSpaces(options: CodingOptions = {}): Promise<CategorySpace[]> {
  const languages = options.languages?.length ? [...options.languages] : [...LANGUAGES];
  for (const l of languages)
    if (!LANGUAGES.includes(l)) throw new GeneratorOptionsError(`unknown language "${l}"; languages: ${LANGUAGES.join(", ")}`);
  const parsers = await loadParsers(languages);
  const tasks = allTasks();
  const L = languages.length;
  const bugs = tasks.flatMap((task) =>
    task.mutations.flatMap((m) => {
      const w = witness(task, m);
      return w ? [{ task, mutation: m, witness: w }] : [];
    }),
  );
  const readings = tasks.flatMap((task) =>
    task.samples.filter((args) => !(Array.isArray(args[0]) && (args[0] as number[]).length === 0)).map((args) => ({ task, args })),
  );

  const generation: CategorySpace = {
    name: "generation",
    weight: 40,
    size: tasks.length * L,
    description: "write a function from a specification",
    at(index: number, rng: Rng): Example | undefined {
      const lang = languages[index % L]!;
      const task = tasks[Math.floor(index / L)]!;
      const code = renderFunction(
        task.fn,
        lang,
        rng.chance(0.5) ? `${task.spec.charAt(0).toUpperCase()}${task.spec.slice(1)}.` : undefined,
      );
      if (!parsers[lang].check(code)) return undefined;
      return {
        instruction: rng
          .pick(GENERATION_FRAMES)
          .replace("{lang}", LANGUAGE_NAMES[lang])
          .replace("{sig}", signature(task.fn, lang))
          .replace("{spec}", task.spec),
        output: fence(code, lang),
      };
    },
  };

  const bugFix: CategorySpace = {
    name: "bug_fix",
    weight: 30,
    size: bugs.length * L,
    description: "find and fix a planted bug",
    at(index: number, rng: Rng): Example | undefined {
      const lang = languages[index % L]!;
      const { task, mutation, witness: w } = bugs[Math.floor(index / L)]!;
      const buggy = renderFunction(mutation.fn, lang);
      const fixed = renderFunction(task.fn, lang);
      if (!parsers[lang].check(buggy) || !parsers[lang].check(fixed)) return undefined;
      return {
        instruction: rng.pick([
          `This ${LANGUAGE_NAMES[lang]} function should ${task.spec.replace(/^returns/, "return")}, but it has a bug. Find the bug and fix it.`,
          `Fix the bug in this ${LANGUAGE_NAMES[lang]} code. \`${signature(task.fn, lang)}\` is supposed to ${task.spec.replace(/^returns/, "return")}.`,
          `Something is wrong with this ${LANGUAGE_NAMES[lang]} function. It is meant to ${task.spec.replace(/^returns/, "return")}. What is the bug, and what is the corrected code?`,
        ]),
        input: fence(buggy, lang),
        output: `The bug: ${mutation.explain}. For example, \`${call(task.fn, w.args, lang)}\` returns ${formatValue(w.bad, lang)} instead of ${formatValue(w.good, lang)}.\n\nCorrected code:\n${fence(fixed, lang)}`,
      };
    },
  };

  const understanding: CategorySpace = {
    name: "understanding",
    weight: 20,
    size: readings.length * L,
    description: "explain what code does and what it returns",
    at(index: number, rng: Rng): Example | undefined {
      const lang = languages[index % L]!;
      const { task, args } = readings[Math.floor(index / L)]!;
      const code = renderFunction(task.fn, lang);
      if (!parsers[lang].check(code)) return undefined;
      const result = evaluate(task.fn, args);
      return {
        instruction: rng.pick([
          `What does this ${LANGUAGE_NAMES[lang]} function do, and what does \`${call(task.fn, args, lang)}\` return?`,
          `Explain this ${LANGUAGE_NAMES[lang]} code. What is the result of \`${call(task.fn, args, lang)}\`?`,
          `Read the following ${LANGUAGE_NAMES[lang]} function and predict the value of \`${call(task.fn, args, lang)}\`. Explain briefly.`,
        ]),
        input: fence(code, lang),
        output: `\`${call(task.fn, args, lang)}\` returns ${formatValue(result, lang)}.\n\nThe function ${task.spec}. ${explainRun(task, args, result, lang)}`,
      };
    },
  };

  const testWriting: CategorySpace = {
    name: "test_writing",
    weight: 10,
    size: tasks.length * L,
    description: "write unit tests for a function",
    at(index: number, rng: Rng): Example | undefined {
      const lang = languages[index % L]!;
      const task = tasks[Math.floor(index / L)]!;
      const code = renderFunction(task.fn, lang);
      const tests = renderTests(task.fn, lang, testCases(task.fn, task.samples));
      if (!parsers[lang].check(code) || !parsers[lang].check(tests)) return undefined;
      const framework = { python: "pytest", go: "Go's testing package", javascript: "node:test", java: "JUnit 5" }[lang];
      return {
        instruction: rng.pick([
          `Write unit tests with ${framework} for this ${LANGUAGE_NAMES[lang]} function.`,
          `Add tests (${framework}) covering normal and edge cases for this function.`,
          `Write a ${framework} test for \`${signature(task.fn, lang)}\`, including an edge case.`,
        ]),
        input: fence(code, lang),
        output: fence(tests, lang),
      };
    },
  };
  return [generation, bugFix, understanding, testWriting];
}

function explainRun(task: Task, args: readonly Value[], result: Value, lang: Language): string {
  const [first] = args;
  if (Array.isArray(first) && task.selects) {
    const kept = task.selects.pick(first);
    return `In ${formatValue(first, lang)} the ${task.selects.words} are ${kept.length ? kept.join(", ") : "absent"}, so the result is ${formatValue(result, lang)}.`;
  }
  if (Array.isArray(first)) return `Going through ${formatValue(first, lang)} element by element gives ${formatValue(result, lang)}.`;
  return `With ${args.map((a) => formatValue(a, lang)).join(" and ")} as input, following the loop step by step gives ${formatValue(result, lang)}.`;
}

function toOptions(values: OptionValues): CodingOptions {
  const raw = values.languages;
  const list = Array.isArray(raw) ? raw : typeof raw === "string" && raw ? raw.split(",") : [];
  return list.length ? { languages: list.map((l) => l.trim()) as Language[] } : {};
}

export const codingGenerator: GeneratorDefinition = {
  name: "coding",
  summary:
    "Coding-assistant rows in Python, Go, JavaScript and Java: code generation from a specification, bug fixing (a known mutation planted in correct code), code understanding and test writing, 40/30/20/10 by default; every code answer is parsed with the language's tree-sitter grammar.",
  options: [
    {
      name: "languages",
      type: "string[]",
      description: `languages, comma-separated (${LANGUAGES.join(", ")}); default all`,
      aliases: ["language"],
    },
  ],
  defaultOutput: "data/coding.jsonl",
  defaultCount: 1000,
  prepare: (values) => codingSpaces(toOptions(values)),
};
