// Unit tests for a task in each language's usual framework: pytest, Go's testing package, node:test, JUnit 5.
// Expected values come from the IR evaluator.
import { evaluate, formatValue, type Fn, type Type, type Value } from "./ir.js";
import { fnName, type Language } from "./render.js";

export interface TestCase {
  args: Value[];
  expected: Value;
}

export function testCases(fn: Fn, samples: readonly Value[][]): TestCase[] {
  return samples.map((args) => ({ args, expected: evaluate(fn, args) }));
}

const goType = (t: Type) => ({ int: "int", bool: "bool", intlist: "[]int", string: "string" })[t];

export function renderTests(fn: Fn, lang: Language, cases: readonly TestCase[]): string {
  const name = fnName(fn, lang);
  if (lang === "python") {
    const names = fn.params.map((p) => p.name);
    const header = names.length === 1 ? `"${names[0]}, expected"` : `(${[...names, "expected"].map((s) => `"${s}"`).join(", ")})`;
    const rows = cases.map((c) => `        (${[...c.args, c.expected].map((x) => formatValue(x, "python")).join(", ")}),`);
    return [
      "import pytest",
      "",
      `from solution import ${name}`,
      "",
      "",
      "@pytest.mark.parametrize(",
      `    ${header},`,
      "    [",
      ...rows,
      "    ],",
      ")",
      `def test_${name}(${[...names, "expected"].join(", ")}):`,
      `    assert ${name}(${names.join(", ")}) == expected`,
      "",
    ].join("\n");
  }
  if (lang === "go") {
    const listResult = fn.ret === "intlist";
    const fields = [...fn.params.map((p) => [p.name, goType(p.type)] as const), ["want", goType(fn.ret)] as const];
    const width = Math.max(...fields.map(([f]) => f.length));
    const rows = cases.map((c) => `\t\t{${[...c.args, c.expected].map((x) => formatValue(x, "go")).join(", ")}},`);
    const call = `${name}(${fn.params.map((p) => `c.${p.name}`).join(", ")})`;
    const check = listResult ? `!reflect.DeepEqual(got, c.want)` : "got != c.want";
    return [
      "package solution",
      "",
      listResult ? 'import (\n\t"reflect"\n\t"testing"\n)' : 'import "testing"',
      "",
      `func Test${name}(t *testing.T) {`,
      "\tcases := []struct {",
      ...fields.map(([f, t]) => `\t\t${f.padEnd(width)} ${t}`),
      "\t}{",
      ...rows,
      "\t}",
      "\tfor _, c := range cases {",
      `\t\tif got := ${call}; ${check} {`,
      `\t\t\tt.Errorf("${name}(${fn.params.map(() => "%v").join(", ")}) = %v, want %v", ${[...fn.params.map((p) => `c.${p.name}`), "got", "c.want"].join(", ")})`,
      "\t\t}",
      "\t}",
      "}",
      "",
    ].join("\n");
  }
  if (lang === "javascript") {
    const assertion = fn.ret === "intlist" ? "deepEqual" : "equal";
    return [
      'import { test } from "node:test";',
      'import assert from "node:assert/strict";',
      `import { ${name} } from "./solution.js";`,
      "",
      `test("${name}", () => {`,
      ...cases.map(
        (c) =>
          `  assert.${assertion}(${name}(${c.args.map((x) => formatValue(x, "javascript")).join(", ")}), ${formatValue(c.expected, "javascript")});`,
      ),
      "});",
      "",
    ].join("\n");
  }
  const needsList = fn.ret === "intlist" || fn.params.some((p) => p.type === "intlist");
  return [
    "import static org.junit.jupiter.api.Assertions.assertEquals;",
    "",
    ...(needsList ? ["import java.util.List;"] : []),
    "import org.junit.jupiter.api.Test;",
    "",
    "class SolutionTest {",
    "    @Test",
    `    void ${name}() {`,
    ...cases.map(
      (c) =>
        `        assertEquals(${formatValue(c.expected, "java")}, Solution.${name}(${c.args.map((x) => formatValue(x, "java")).join(", ")}));`,
    ),
    "    }",
    "}",
    "",
  ].join("\n");
}
