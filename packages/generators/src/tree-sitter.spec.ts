import { describe, expect, it } from "vitest";
import { checkSyntax, createParser, GRAMMARS } from "./tree-sitter.js";

const samples: Record<string, [good: string, bad: string]> = {
  python: ["def f(x):\n    return x + 1\n", "def f(x)\n    return x +\n"],
  go: ["package main\n\nfunc f(x int) int {\n\treturn x + 1\n}\n", "package main\n\nfunc f(x int) int {\n\treturn x +\n"],
  javascript: ["function f(x) {\n  return x + 1;\n}\n", "function f(x) {\n  return x + ;\n"],
  typescript: ["function f(x: number): number {\n  return x + 1;\n}\n", "function f(x: number): number {\n  return x + ;\n"],
  tsx: ["const A = () => <div>{1}</div>;\n", "const A = () => <div>{1}</span;\n"],
  java: ["class A {\n  int f(int x) {\n    return x + 1;\n  }\n}\n", "class A {\n  int f(int x) {\n    return x + ;\n  }\n"],
};

describe("tree-sitter grammars (web-tree-sitter, no native build)", () => {
  it.each(GRAMMARS)("%s parses good code cleanly and flags broken code", async (name) => {
    const parser = await createParser(name);
    const [good, bad] = samples[name]!;
    expect(checkSyntax(parser, good)).toEqual({ ok: true, problems: [] });
    const broken = checkSyntax(parser, bad);
    expect(broken.ok).toBe(false);
    expect(broken.problems.length).toBeGreaterThan(0);
  });
});
