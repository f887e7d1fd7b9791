// tree-sitter grammars through web-tree-sitter (WebAssembly: nothing to compile). The grammar .wasm files come
// from the grammar packages, or from a `grammars/` folder next to a bundled bin (see the generator packages'
// tsup configs), so a packed bin needs no node_modules.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Language, Parser, type Node, type Tree } from "web-tree-sitter";
import { GeneratorError } from "./errors.js";

export type GrammarName = "python" | "go" | "javascript" | "typescript" | "tsx" | "java";
export const GRAMMARS: readonly GrammarName[] = ["python", "go", "javascript", "typescript", "tsx", "java"];

const WASM: Record<GrammarName, [pkg: string, file: string]> = {
  python: ["tree-sitter-python", "tree-sitter-python.wasm"],
  go: ["tree-sitter-go", "tree-sitter-go.wasm"],
  javascript: ["tree-sitter-javascript", "tree-sitter-javascript.wasm"],
  typescript: ["tree-sitter-typescript", "tree-sitter-typescript.wasm"],
  tsx: ["tree-sitter-typescript", "tree-sitter-tsx.wasm"],
  java: ["tree-sitter-java", "tree-sitter-java.wasm"],
};

/** Every .wasm file a bundle must carry: [package, file]. */
export const WASM_FILES: readonly [string, string][] = [
  ["web-tree-sitter", "web-tree-sitter.wasm"],
  ...new Map(Object.values(WASM).map((v) => [v[1], v])).values(),
];

export type { Node as SyntaxNode, Tree as SyntaxTree };

function locate(pkg: string, file: string): string {
  const bundled = fileURLToPath(new URL(`./grammars/${file}`, import.meta.url));
  if (existsSync(bundled)) return bundled;
  try {
    return createRequire(import.meta.url).resolve(`${pkg}/${file}`);
  } catch {
    throw new GeneratorError(`cannot find ${file} (package ${pkg}); install it or rebuild the bundle`);
  }
}

let init: Promise<void> | undefined;
const languages = new Map<GrammarName, Promise<Language>>();

async function initialize(): Promise<void> {
  init ??= Parser.init({ locateFile: (name: string) => locate("web-tree-sitter", name) });
  return init;
}

export async function loadGrammar(name: GrammarName): Promise<Language> {
  await initialize();
  let language = languages.get(name);
  if (!language) {
    const [pkg, file] = WASM[name];
    language = Language.load(locate(pkg, file));
    languages.set(name, language);
  }
  return language;
}

/** A parser for one grammar. Parsing is synchronous once this resolves. */
export async function createParser(name: GrammarName): Promise<Parser> {
  const language = await loadGrammar(name);
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

export interface ParseProblem {
  line: number;
  column: number;
  kind: "error" | "missing";
  text: string;
}

/** ERROR and MISSING nodes of a tree, with 1-based positions. */
export function parseProblems(tree: Tree, limit = 5): ParseProblem[] {
  const out: ParseProblem[] = [];
  const visit = (node: Node): void => {
    if (out.length >= limit) return;
    if (node.isError || node.isMissing) {
      out.push({
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        kind: node.isMissing ? "missing" : "error",
        text: node.text.slice(0, 40),
      });
      return;
    }
    if (!node.hasError) return;
    for (const child of node.children) if (child) visit(child);
  };
  visit(tree.rootNode);
  return out;
}

/** Parses code and reports whether the grammar accepts it without ERROR or MISSING nodes. */
export function checkSyntax(parser: Parser, code: string): { ok: boolean; problems: ParseProblem[] } {
  const tree = parser.parse(code);
  if (!tree) return { ok: false, problems: [{ line: 1, column: 1, kind: "error", text: "no tree" }] };
  try {
    const problems = tree.rootNode.hasError ? parseProblems(tree) : [];
    return { ok: problems.length === 0 && !tree.rootNode.hasError, problems };
  } finally {
    tree.delete();
  }
}
