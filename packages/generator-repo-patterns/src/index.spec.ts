import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { validateFile } from "@neural/dataset";
import { planGeneration, runGenerator } from "@neural/generators";
import { distributionGap, independentChecks, packInstallAndRun } from "@neural/generators/testing";
import { checkSyntax, createParser, type GrammarName } from "@neural/generators/tree-sitter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findSecret, listNotIgnored, repoPatternSpaces, repoPatternsGenerator } from "./index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "../../..");
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "repo-patterns-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function files(root: string, tree: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

// Secrets planted in the fixture; none may appear in any row. (Split so this file itself holds no secret.)
const SECRETS = [
  "AKIA" + "Z7QX3M4N5P6R7S8T",
  "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8",
  "hunter2" + "-correct-horse-battery",
  "-----BEGIN RSA " + "PRIVATE KEY-----",
  "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
  "s3cr3t-" + "Passw0rd-42",
  "xoxb-" + "123456789012-abcdefghijklmnop",
  "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
];

const FIXTURE: Record<string, string> = {
  ".gitignore": "ignored/\n*.local.go\n",
  "go/stack.go": `package stack

import (
\t"errors"
\t"fmt"
\t"strings"
)

// awsKey must never leak.
const awsKey = "${SECRETS[0]}"

// Stack is a last-in first-out list of strings.
type Stack struct {
\titems []string
}

// Push adds an item on top of the stack.
func (s *Stack) Push(item string) {
\ts.items = append(s.items, strings.TrimSpace(item))
}

// Pop removes the top item and returns it, or an error when the stack is empty.
func (s *Stack) Pop() (string, error) {
\tif len(s.items) == 0 {
\t\treturn "", errors.New("empty stack")
\t}
\ttop := s.items[len(s.items)-1]
\ts.items = s.items[:len(s.items)-1]
\treturn top, nil
}

// Describe renders the stack for humans.
func Describe(s *Stack) string {
\ttop, err := s.Pop()
\tif err != nil {
\t\treturn fmt.Sprintf("stack: %v", err)
\t}
\treturn fmt.Sprintf("top is %s", top)
}
`,
  "go/stack_test.go": `package stack

import "testing"

func TestPushPop(t *testing.T) {
\tvar s Stack
\ts.Push("a")
\tif got, _ := s.Pop(); got != "a" {
\t\tt.Fatalf("got %q", got)
\t}
}
`,
  "py/inventory.py": `import json
import os.path

PASSWORD = "${SECRETS[2]}"


class Inventory:
    """Counts items by name."""

    def __init__(self):
        self.counts = {}

    def add(self, name, n=1):
        """Adds n units of an item and returns the new count."""
        self.counts[name] = self.counts.get(name, 0) + n
        return self.counts[name]


def load(path):
    """Reads an inventory saved as JSON, or an empty one if the file is missing."""
    inv = Inventory()
    if not os.path.exists(path):
        return inv
    with open(path) as f:
        data = json.load(f)
    try:
        for name, n in data.items():
            inv.add(name, n)
    except AttributeError:
        raise ValueError("inventory file must hold an object")
    return inv
`,
  "py/test_inventory.py": `from inventory import Inventory


def test_add_counts():
    inv = Inventory()
    assert inv.add("apple") == 1
    assert inv.add("apple", 2) == 3
`,
  "js/slug.js": `import { createHash } from "node:crypto";

const token = "${SECRETS[1]}";

/**
 * Turns a title into a URL slug.
 * @param {string} title
 */
export function slugify(title) {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}

/** A short stable id for a slug. */
export const slugId = (slug) => {
  const hash = createHash("sha256").update(slug).digest("hex");
  return hash.slice(0, 8);
};

export function parse(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    return { error: String(error) };
  }
}
`,
  "js/slug.test.js": `import { test } from "node:test";
import assert from "node:assert/strict";
import { slugify } from "./slug.js";

test("slugify lowercases and dashes", () => {
  assert.equal(slugify("Hello World"), "hello-world");
});
`,
  "ts/money.ts": `import { format } from "./format.js";

const jwt = "${SECRETS[4]}";

/** An amount in minor units of a currency. */
export interface Money {
  cents: number;
  currency: string;
}

/** Adds two amounts of the same currency. Throws on a currency mismatch. */
export function add(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new Error("currency mismatch");
  return { cents: a.cents + b.cents, currency: a.currency };
}

/** Formats an amount, falling back to the raw number. */
export function show(m: Money): string {
  try {
    return format(m.cents / 100, m.currency);
  } catch {
    return String(m.cents);
  }
}
`,
  "java/src/Ledger.java": `import java.util.ArrayList;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;

/** A ledger of integer entries. */
public class Ledger {
    private static final String KEY = "${SECRETS[3]}";
    private final List<Integer> entries = new ArrayList<>();

    /** Records an entry and returns the new balance. */
    public int record(int amount) {
        entries.add(amount);
        int total = 0;
        for (int e : entries) {
            total += e;
        }
        return total;
    }

    /** Loads entries from a file, one per line; returns how many were read. */
    public int load(Path path) {
        try {
            List<String> lines = Files.readAllLines(path);
            for (String line : lines) {
                entries.add(Integer.parseInt(line.trim()));
            }
            return lines.size();
        } catch (Exception e) {
            return 0;
        }
    }
}
`,
  "java/test/LedgerTest.java": `import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;

class LedgerTest {
    @Test
    void recordsBalance() {
        Ledger l = new Ledger();
        assertEquals(5, l.record(5));
    }
}
`,
  "README.md": `# Fixture

## Usage

Run the tools with the default configuration; every command prints a summary and exits with 0 on success.

## Deployment

Deploy with the token ${SECRETS[6]} and the API key ${SECRETS[7]} on the staging cluster, then verify.
`,
  ".env": `DB_PASSWORD=${SECRETS[5]}\n`,
  "config/settings.py": `API_KEY = "${SECRETS[5]}"\n\n\ndef settings():\n    """Returns the settings."""\n    return {"debug": False, "workers": 4, "region": "eu", "retries": 3}\n`,
  "vendor/lib/util.go": `package util\n\n// Vendored helper.\nfunc Vendored() int {\n\treturn 42 // vendored-marker\n}\n`,
  "node_modules/pkg/index.js": `/** Dependency code. */\nexport function dependency() {\n  return "node-modules-marker";\n}\n`,
  "go/api.pb.go": `// Code generated by protoc-gen-go. DO NOT EDIT.\npackage stack\n\n// Generated does nothing.\nfunc Generated() string {\n\treturn "generated-marker"\n}\n`,
  "go/gen.go": `// Code generated by stringer. DO NOT EDIT.\n\npackage stack\n\n// Kind names.\nfunc KindName() string {\n\treturn "generated-marker-2"\n}\n`,
  "ignored/secret.go": `package ignored\n\n// Hidden is gitignored.\nfunc Hidden() string {\n\treturn "ignored-marker"\n}\n`,
  "go/dev.local.go": `package stack\n\n// Local is gitignored too.\nfunc Local() string {\n\treturn "local-marker"\n}\n`,
};

const MARKERS = ["vendored-marker", "node-modules-marker", "generated-marker", "ignored-marker", "local-marker"];

describe(".gitignore handling agrees with git", () => {
  it("lists the same files as `git ls-files --others --exclude-standard`", async () => {
    const root = join(work, "gi");
    await files(root, {
      ".gitignore":
        "# comment\n*.log\n!keep.log\nbuild/\n/root-only.txt\ndocs/**/draft-*.md\n**/tmp\nsecret?.txt\n[abc]x.js\n\\#hash.txt\nspace\\ .txt\n",
      "a.log": "",
      "keep.log": "",
      "build/out.js": "",
      "src/build/inner.js": "",
      "root-only.txt": "",
      "src/root-only.txt": "",
      "docs/x/y/draft-1.md": "",
      "docs/final.md": "",
      "deep/tmp/file.txt": "",
      tmp: "",
      "secret1.txt": "",
      "secret10.txt": "",
      "ax.js": "",
      "dx.js": "",
      "#hash.txt": "",
      "space .txt": "",
      "nested/.gitignore": "*.md\n!README.md\n/only-here.js\n",
      "nested/a.md": "",
      "nested/README.md": "",
      "nested/only-here.js": "",
      "nested/sub/only-here.js": "",
      "nested/sub/b.md": "",
      "ok.js": "",
    });
    execFileSync("git", ["init", "-q"], { cwd: root });
    const git = execFileSync("git", ["ls-files", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" })
      .trim()
      .split("\n")
      .sort();
    expect(await listNotIgnored(root)).toEqual(git);
  });
});

describe("repo-patterns on a fixture repository in five languages", () => {
  let root: string;
  beforeAll(async () => {
    root = join(work, "fixture");
    await files(root, FIXTURE);
  });

  it("extracts functions with full bodies, types, tests, error handling, API usage and docs in every language", async () => {
    const { spaces, scan } = await repoPatternSpaces({ repo: root });
    const kinds = new Map(spaces.map((s) => [s.name, s.size]));
    for (const k of ["function", "type_definition", "test", "error_handling", "api_usage", "documentation"])
      expect(kinds.get(k), k).toBeGreaterThan(0);
    const fns = scan.patterns.filter((p) => p.kind === "function");
    expect(new Set(fns.map((p) => p.language))).toEqual(new Set(["go", "python", "javascript", "typescript", "java"]));
    const pop = fns.find((p) => p.name === "Pop")!;
    expect(pop.doc).toBe("Pop removes the top item and returns it, or an error when the stack is empty.");
    expect(pop.signature).toBe("func (s *Stack) Pop() (string, error)");
    expect(pop.code).toBe(
      FIXTURE["go/stack.go"]!.slice(
        FIXTURE["go/stack.go"]!.indexOf("func (s *Stack) Pop"),
        FIXTURE["go/stack.go"]!.indexOf("// Describe") - 1,
      ).trimEnd(),
    );
    const add = fns.find((p) => p.name === "add" && p.language === "python")!;
    expect(add.detail).toBe("method of Inventory");
    expect(add.code).toBe(
      'def add(self, name, n=1):\n    """Adds n units of an item and returns the new count."""\n    self.counts[name] = self.counts.get(name, 0) + n\n    return self.counts[name]',
    );
    expect(fns.find((p) => p.name === "slugId")!.code).toMatch(
      /^export const slugId = \(slug\) => \{[\s\S]*return hash\.slice\(0, 8\);\n\};$/,
    );
    expect(fns.find((p) => p.name === "record")!.code).toMatch(/^public int record\(int amount\) \{[\s\S]*return total;\n\}$/);
    expect(
      scan.patterns
        .filter((p) => p.kind === "test")
        .map((p) => p.name)
        .sort(),
    ).toEqual(["TestPushPop", "recordsBalance", "slugify lowercases and dashes", "test_add_counts"].sort());
    expect(scan.patterns.some((p) => p.kind === "error_handling" && p.language === "go" && p.context.includes("top, err := s.Pop()"))).toBe(
      true,
    );
    expect(
      scan.patterns.some((p) => p.kind === "api_usage" && p.callee === "Files.readAllLines" && p.module === "java.nio.file.Files"),
    ).toBe(true);
    expect(scan.patterns.some((p) => p.kind === "api_usage" && p.callee === "os.path.exists")).toBe(true);
    expect(scan.walk).toMatchObject({ ignored: 2, "secret-file": 1 });
    expect(scan.walk.vendored).toBeGreaterThanOrEqual(2);
    expect(scan.walk.generated).toBe(2);
  });

  it("emits none of the planted secrets, and nothing from ignored, vendored or generated files", async () => {
    const { spaces } = await repoPatternSpaces({ repo: root });
    const max = planGeneration("repo-patterns", spaces, { count: 0 }).maxCount;
    const out = join(work, "fixture.jsonl");
    const summary = await runGenerator(repoPatternsGenerator, { count: max, seed: 1, output: out, generatorOptions: { repo: root } });
    expect(summary.count).toBe(max);
    const text = await readFile(out, "utf8");
    for (const secret of SECRETS) expect(text).not.toContain(secret.slice(0, 18));
    for (const marker of MARKERS) expect(text).not.toContain(marker);
    for (const line of text.trimEnd().split("\n")) expect(findSecret(line)).toBeUndefined();
    expect(text).toContain("Usage"); // the clean doc section is kept, the one with tokens is not
    expect(text).not.toContain("Deployment");
  });

  it("same seed is byte-identical, another seed differs (on the fixture: this repository changes while others work)", async () => {
    const [a, b, c] = ["a", "b", "c"].map((n) => join(work, `fixture-${n}.jsonl`));
    await runGenerator(repoPatternsGenerator, { count: 20, seed: 5, output: a!, generatorOptions: { repo: root } });
    await runGenerator(repoPatternsGenerator, { count: 20, seed: 5, output: b!, generatorOptions: { repo: root } });
    await runGenerator(repoPatternsGenerator, { count: 20, seed: 6, output: c!, generatorOptions: { repo: root } });
    expect(await readFile(a!, "utf8")).toBe(await readFile(b!, "utf8"));
    expect(await readFile(a!, "utf8")).not.toBe(await readFile(c!, "utf8"));
  });

  it("--max-file-size skips larger files", async () => {
    const { scan } = await repoPatternSpaces({ repo: root, maxFileSize: 300 });
    expect(scan.walk["too-large"]).toBeGreaterThanOrEqual(5);
  });
});

describe("repo-patterns on this repository", () => {
  it("extracts functions with complete bodies in each language present, and the rows pass the validator", async () => {
    const { spaces, scan } = await repoPatternSpaces({ repo: repoRoot });
    const languages = new Set(scan.patterns.map((p) => p.language));
    expect(languages).toContain("typescript");
    const grammars: Record<string, GrammarName> = {
      typescript: "typescript",
      javascript: "javascript",
      go: "go",
      python: "python",
      java: "java",
    };
    for (const lang of languages) {
      const fns = scan.patterns.filter((p) => p.kind === "function" && p.language === lang);
      expect(fns.length, lang).toBeGreaterThan(0);
      const parser = await createParser(grammars[lang]!);
      for (const f of fns.slice(0, 200)) {
        // Complete: the source file contains it (modulo indentation), it ends where the body ends, and it parses.
        const source = await readFile(join(repoRoot, f.path), "utf8");
        const firstLine = f.code.split("\n")[0]!;
        expect(source).toContain(firstLine);
        expect({ name: f.name, end: /[};]$/.test(f.code.trimEnd()) || lang === "python" }).toEqual({ name: f.name, end: true });
        const pythonClass = (code: string) =>
          `class __X:\n${code
            .split("\n")
            .map((l) => `    ${l}`)
            .join("\n")}\n`;
        const wrapped =
          f.detail === "method of an object literal"
            ? `({\n${f.code}\n})`
            : f.detail.startsWith("method") && lang === "python"
              ? pythonClass(f.code)
              : f.detail.startsWith("method") && lang !== "go"
                ? `class __X {\n${f.code}\n}`
                : f.code;
        expect({ path: f.path, name: f.name, ok: checkSyntax(parser, wrapped).ok }).toEqual({ path: f.path, name: f.name, ok: true });
      }
    }
    const natural = Object.fromEntries(spaces.map((s) => [s.name, s.size]));
    const count = Math.min(1000, planGeneration("repo-patterns", spaces, { count: 0 }).maxCount);
    const out = join(work, "self.jsonl");
    await runGenerator(repoPatternsGenerator, { count, seed: 3, output: out, generatorOptions: { repo: repoRoot } });
    const report = await validateFile(out);
    expect(report.records).toBe(count);
    expect(report.errors.total).toBe(0);
    expect(report.duplicates.normalized.rows).toBe(0);
    expect(distributionGap(report.categories, natural)).toBeLessThanOrEqual(2);
  }, 120_000);

  it("packs into a self-contained tarball whose bin runs offline", async () => {
    const root = join(work, "fixture");
    const result = await packInstallAndRun(join(here, ".."), "neural-generate-repo-patterns", [
      "--repo",
      root,
      "--count",
      "10",
      "--language",
      "go,python",
      "--output",
      "out/r.jsonl",
    ]);
    expect(result.stdout).toMatch(/repo-patterns: 10 rows/);
    const text = await readFile(join(result.dir, "out/r.jsonl"), "utf8");
    expect(independentChecks(text)).toMatchObject({ rows: 10, formatErrors: [], duplicates: 0 });
    await rm(join(result.dir, ".."), { recursive: true, force: true });
  }, 180_000);
});
