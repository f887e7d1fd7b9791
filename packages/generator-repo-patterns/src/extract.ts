// Extraction with tree-sitter: documented functions and methods (the answer is the whole function, body included),
// type definitions, tests, error handling and uses of imported APIs, for Go, Python, JavaScript, TypeScript, Java.
import type { SyntaxNode } from "@neural/generators/tree-sitter";
import type { SourceLanguage } from "./walk.js";

export type PatternKind = "function" | "type_definition" | "test" | "error_handling" | "api_usage";

export interface Pattern {
  kind: PatternKind;
  path: string;
  language: SourceLanguage;
  /** Function, type or test name; the enclosing function for error handling and API usage. */
  name: string;
  /** "method of Foo", "class", "interface"... */
  detail: string;
  /** Doc comment or docstring, cleaned of comment markers ("" when none). */
  doc: string;
  /** Function/type signature line(s), for prompts. */
  signature: string;
  /** A few lines of code before the snippet, for error handling. */
  context: string;
  /** The answer: exact source text of the node. */
  code: string;
  /** For API usage: the qualified callee and its module. */
  callee?: string;
  module?: string;
  /** 1-based line of the node. */
  line: number;
}

const isTestPath = (path: string, lang: SourceLanguage): boolean => {
  const name = path.split("/").pop()!;
  if (lang === "go") return name.endsWith("_test.go");
  if (lang === "python") return /^test_.*\.py$|_test\.py$/.test(name) || path.split("/").includes("tests");
  if (lang === "java") return /Test\.java$|Tests\.java$/.test(name) || path.includes("/test/");
  return /\.(test|spec)\.[cm]?[jt]sx?$/.test(name) || path.split("/").includes("__tests__");
};

/** Comment text without markers, or "" if the node above is not a doc comment ending on the line just before. */
function docAbove(node: SyntaxNode, lang: SourceLanguage): string {
  const comments: SyntaxNode[] = [];
  let prev = node.previousSibling;
  let line = node.startPosition.row;
  while (prev && (prev.type === "comment" || prev.type === "line_comment" || prev.type === "block_comment")) {
    if (prev.endPosition.row !== line - 1 && prev.endPosition.row !== line) break;
    comments.unshift(prev);
    line = prev.startPosition.row;
    if (lang !== "go" && lang !== "python") break; // one JSDoc / Javadoc block
    prev = prev.previousSibling;
  }
  if (!comments.length) return "";
  if (lang === "javascript" || lang === "typescript" || lang === "java") {
    const text = comments[comments.length - 1]!.text;
    if (!text.startsWith("/**")) return "";
    return text
      .replace(/^\/\*\*+/, "")
      .replace(/\*+\/$/, "")
      .split("\n")
      .map((l) => l.replace(/^\s*\* ?/, "").trimEnd())
      .join("\n")
      .trim();
  }
  return comments
    .map((c) => c.text.replace(/^(\/\/|#) ?/, ""))
    .join("\n")
    .trim();
}

function pythonDocstring(fn: SyntaxNode): string {
  const body = fn.childForFieldName("body");
  const first = body?.namedChildren[0];
  if (first?.type === "expression_statement" && first.namedChildren[0]?.type === "string") {
    return first.namedChildren[0]!.text.replace(/^[rRbBuU]*("""|'''|"|')/, "")
      .replace(/("""|'''|"|')$/, "")
      .trim();
  }
  return "";
}

const text = (n: SyntaxNode | null | undefined): string => n?.text ?? "";

/** Removes the indentation common to all lines (tabs and spaces as they are). */
export function dedent(code: string): string {
  const lines = code.split("\n");
  const indents = lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length))).join("\n");
}

/** The exact source of a node, re-indented as if it started at column 0. */
function codeOf(node: SyntaxNode, source: string): string {
  const lineStart = source.lastIndexOf("\n", node.startIndex - 1) + 1;
  return dedent(source.slice(lineStart, node.endIndex)).trimStart();
}

function signatureOf(node: SyntaxNode, body: SyntaxNode | null): string {
  const src = node.text;
  if (!body) return src.split("\n")[0]!;
  return src.slice(0, body.startIndex - node.startIndex).trim();
}

function enclosingFunctionName(node: SyntaxNode): string {
  for (let p = node.parent; p; p = p.parent) {
    if (/function|method|constructor/.test(p.type) && !/call|arguments/.test(p.type)) {
      const n = p.childForFieldName("name");
      if (n) return n.text;
      if (p.parent?.type === "variable_declarator") return text(p.parent.childForFieldName("name"));
      if (p.parent?.type === "pair") return text(p.parent.childForFieldName("key"));
    }
  }
  return "(top level)";
}

function contextBefore(source: string, node: SyntaxNode, lines = 3): string {
  const all = source.split("\n");
  const start = node.startPosition.row;
  return all
    .slice(Math.max(0, start - lines), start)
    .filter((l) => l.trim() !== "")
    .join("\n");
}

/** Imported names: module alias or imported identifier -> module path. */
function imports(root: SyntaxNode, lang: SourceLanguage): Map<string, string> {
  const out = new Map<string, string>();
  if (lang === "go") {
    for (const spec of root.descendantsOfType("import_spec")) {
      if (!spec) continue;
      const path = text(spec.childForFieldName("path")).replace(/"/g, "");
      const alias = text(spec.childForFieldName("name")) || path.split("/").pop()!;
      if (alias !== "_" && alias !== ".") out.set(alias, path);
    }
    return out;
  }
  for (const n of root.namedChildren) {
    if (!n) continue;
    if (lang === "python") {
      if (n.type === "import_statement") {
        for (const c of n.namedChildren) {
          if (c?.type === "dotted_name") out.set(c.text.split(".")[0]!, c.text);
          if (c?.type === "aliased_import") out.set(text(c.childForFieldName("alias")), text(c.childForFieldName("name")));
        }
      } else if (n.type === "import_from_statement") {
        const mod = text(n.childForFieldName("module_name"));
        for (const c of n.childrenForFieldName("name")) {
          if (!c) continue;
          out.set(c.type === "aliased_import" ? text(c.childForFieldName("alias")) : c.text, mod);
        }
      }
    } else if (lang === "java") {
      if (n.type === "import_declaration") {
        const path = n.text
          .replace(/^import\s+(static\s+)?/, "")
          .replace(/;\s*$/, "")
          .trim();
        if (!path.endsWith("*")) out.set(path.split(".").pop()!, path);
      }
    } else if (n.type === "import_statement") {
      const mod = text(n.childForFieldName("source")).replace(/['"]/g, "");
      const clause = n.namedChildren.find((c) => c?.type === "import_clause");
      for (const c of clause?.namedChildren ?? []) {
        if (!c) continue;
        if (c.type === "identifier") out.set(c.text, mod);
        else if (c.type === "namespace_import") {
          const id = c.namedChildren.find((x) => x?.type === "identifier");
          if (id) out.set(id.text, mod);
        } else if (c.type === "named_imports") {
          for (const spec of c.namedChildren) {
            if (spec?.type !== "import_specifier") continue;
            const local = spec.childForFieldName("alias") ?? spec.childForFieldName("name");
            if (local) out.set(local.text, mod);
          }
        }
      }
    }
  }
  return out;
}

export interface ExtractLimits {
  /** Answers longer than this are not used (never truncated). */
  maxCodeChars: number;
  /** Most error-handling and API-usage snippets taken from one file. */
  perFile: number;
}

export function extractPatterns(
  tree: { rootNode: SyntaxNode },
  source: string,
  path: string,
  lang: SourceLanguage,
  limits: ExtractLimits,
): Pattern[] {
  const out: Pattern[] = [];
  const root = tree.rootNode;
  const testFile = isTestPath(path, lang);
  const push = (p: Omit<Pattern, "path" | "language">) => {
    if (p.code.length <= limits.maxCodeChars && p.code.trim()) out.push({ ...p, path, language: lang });
  };
  const line = (n: SyntaxNode) => n.startPosition.row + 1;

  // --- functions, methods, tests ------------------------------------------------------------------------------
  const functionTypes: Record<SourceLanguage, string[]> = {
    go: ["function_declaration", "method_declaration"],
    python: ["function_definition"],
    javascript: ["function_declaration", "method_definition", "generator_function_declaration"],
    typescript: ["function_declaration", "method_definition", "generator_function_declaration"],
    java: ["method_declaration", "constructor_declaration"],
  };
  for (const fn of root.descendantsOfType(functionTypes[lang])) {
    if (!fn) continue;
    const name = text(fn.childForFieldName("name"));
    const body = fn.childForFieldName("body");
    if (!name || !body) continue;
    // The node whose text we use: with its decorators / export keyword.
    let outer: SyntaxNode = fn;
    if (fn.parent?.type === "decorated_definition" || fn.parent?.type === "export_statement") outer = fn.parent;
    const cls = (() => {
      for (let p = fn.parent; p; p = p.parent)
        if (/class_(declaration|definition)|class_body|interface_declaration/.test(p.type)) {
          const decl = p.type === "class_body" ? p.parent : p;
          return text(decl?.childForFieldName("name"));
        }
      if (fn.type === "method_declaration" && lang === "go")
        return text(fn.childForFieldName("receiver"))
          .replace(/^\(\s*\w+\s+\*?/, "")
          .replace(/\)$/, "");
      return "";
    })();
    const objectMethod = !cls && fn.type === "method_definition";
    const isTest =
      testFile &&
      ((lang === "go" && /^(Test|Benchmark|Example|Fuzz)/.test(name)) ||
        (lang === "python" && name.startsWith("test")) ||
        (lang === "java" &&
          /@Test\b/.test(text(fn.childForFieldName("modifiers")) || fn.namedChildren.find((c) => c?.type === "modifiers")?.text || "")));
    const doc = lang === "python" ? pythonDocstring(fn) || docAbove(outer, lang) : docAbove(outer, lang);
    if (isTest) {
      push({
        kind: "test",
        name,
        detail: cls ? `test method of ${cls}` : "test function",
        doc,
        signature: signatureOf(fn, body),
        context: "",
        code: codeOf(outer, source),
        line: line(outer),
      });
      continue;
    }
    // Undocumented functions are kept when they do real work (a prompt from the signature alone).
    if (!doc && body.text.split("\n").length < 4) continue;
    push({
      kind: "function",
      name,
      detail: cls ? `method of ${cls}` : objectMethod ? "method of an object literal" : "function",
      doc,
      signature: dedent(signatureOf(outer, body)),
      context: "",
      code: codeOf(outer, source),
      line: line(outer),
    });
  }
  // Arrow functions and function expressions bound to a name (JS/TS): const f = (...) => { ... }
  if (lang === "javascript" || lang === "typescript") {
    for (const decl of root.descendantsOfType("variable_declarator")) {
      if (!decl) continue;
      const value = decl.childForFieldName("value");
      if (!value || (value.type !== "arrow_function" && value.type !== "function_expression" && value.type !== "function")) continue;
      const statement = decl.parent;
      if (!statement || (statement.type !== "lexical_declaration" && statement.type !== "variable_declaration")) continue;
      const outer = statement.parent?.type === "export_statement" ? statement.parent : statement;
      const doc = docAbove(outer, lang);
      const body = value.childForFieldName("body");
      if (!body || body.type !== "statement_block" || (!doc && body.text.split("\n").length < 4)) continue;
      push({
        kind: "function",
        name: text(decl.childForFieldName("name")),
        detail: "function",
        doc,
        signature: dedent(signatureOf(outer, body)),
        context: "",
        code: codeOf(outer, source),
        line: line(outer),
      });
    }
    // Tests: it("...") / test("...") calls in test files.
    if (testFile) {
      for (const call of root.descendantsOfType("call_expression")) {
        if (!call) continue;
        const fnName = text(call.childForFieldName("function"));
        if (!/^(it|test)(\.(only|skip|each\([^)]*\)))?$/.test(fnName) && fnName !== "it" && fnName !== "test") continue;
        const first = call.childForFieldName("arguments")?.namedChildren[0];
        if (!first || (first.type !== "string" && first.type !== "template_string")) continue;
        const statement = call.parent?.type === "expression_statement" ? call.parent : call;
        push({
          kind: "test",
          name: first.text.slice(1, -1),
          detail: "test case",
          doc: "",
          signature: "",
          context: "",
          code: codeOf(statement, source),
          line: line(statement),
        });
      }
    }
  }

  // --- type definitions ---------------------------------------------------------------------------------------
  const typeTypes: Record<SourceLanguage, string[]> = {
    go: ["type_declaration"],
    python: ["class_definition"],
    javascript: ["class_declaration"],
    typescript: ["class_declaration", "abstract_class_declaration", "interface_declaration", "type_alias_declaration", "enum_declaration"],
    java: ["class_declaration", "interface_declaration", "enum_declaration", "record_declaration"],
  };
  for (const t of root.descendantsOfType(typeTypes[lang])) {
    if (!t) continue;
    let name = text(t.childForFieldName("name"));
    let detail = t.type.replace(/_declaration|_definition/, "").replace(/_/g, " ");
    if (lang === "go") {
      const spec = t.namedChildren.find((c) => c?.type === "type_spec");
      name = text(spec?.childForFieldName("name"));
      const ty = spec?.childForFieldName("type");
      detail = ty?.type === "struct_type" ? "struct" : ty?.type === "interface_type" ? "interface" : "type";
    }
    if (!name) continue;
    let outer: SyntaxNode = t;
    if (t.parent?.type === "decorated_definition" || t.parent?.type === "export_statement") outer = t.parent;
    const doc = lang === "python" ? pythonDocstring(t) || docAbove(outer, lang) : docAbove(outer, lang);
    push({ kind: "type_definition", name, detail, doc, signature: "", context: "", code: codeOf(outer, source), line: line(outer) });
  }

  // --- error handling -----------------------------------------------------------------------------------------
  let taken = 0;
  const errorNodes =
    lang === "go"
      ? root.descendantsOfType("if_statement").filter((n) => n && /^\s*err\s*!=\s*nil\s*$/.test(text(n.childForFieldName("condition"))))
      : root.descendantsOfType(lang === "java" ? ["try_statement", "try_with_resources_statement"] : ["try_statement"]);
  for (const n of errorNodes) {
    if (!n || taken >= limits.perFile) break;
    const fn = enclosingFunctionName(n);
    const context = contextBefore(source, n);
    if (!context) continue;
    taken++;
    push({
      kind: "error_handling",
      name: fn,
      detail: lang === "go" ? "if err != nil" : "try",
      doc: "",
      signature: "",
      context: dedent(context),
      code: codeOf(n, source),
      line: line(n),
    });
  }

  // --- API usage ----------------------------------------------------------------------------------------------
  const imported = imports(root, lang);
  const seen = new Set<string>();
  taken = 0;
  const callTypes =
    lang === "go" || lang === "javascript" || lang === "typescript"
      ? ["call_expression"]
      : lang === "python"
        ? ["call"]
        : ["method_invocation"];
  for (const call of root.descendantsOfType(callTypes)) {
    if (!call || taken >= limits.perFile) break;
    let head = "";
    let member = "";
    if (lang === "java") {
      head = text(call.childForFieldName("object"));
      member = text(call.childForFieldName("name"));
    } else {
      const f = call.childForFieldName("function");
      if (!f) continue;
      if (f.type === "identifier") head = f.text;
      else if (f.type === "selector_expression" || f.type === "attribute" || f.type === "member_expression") {
        // The leftmost name of a chain (os.path.exists -> os) is what was imported.
        let base: SyntaxNode | null = f;
        while (base && (base.type === "selector_expression" || base.type === "attribute" || base.type === "member_expression"))
          base = base.childForFieldName(base.type === "selector_expression" ? "operand" : "object");
        if (!base || base.type !== "identifier" || f.text.length > 60 || f.text.includes("\n")) continue;
        head = base.text;
        member = f.text.slice(base.text.length + 1);
      }
    }
    const module = imported.get(head);
    if (!module) continue;
    const callee = member ? `${head}.${member}` : head;
    // The whole statement that makes the call.
    let statement: SyntaxNode = call;
    while (statement.parent && !/statement|declaration|block|program|module|body|source_file/.test(statement.parent.type))
      statement = statement.parent;
    if (/statement|declaration/.test(statement.parent?.type ?? "") && statement.parent!.text.length < 400) statement = statement.parent!;
    const key = `${callee}\u0000${statement.text}`;
    if (seen.has(key) || statement.text.length > 400 || statement.text.split("\n").length > 12) continue;
    seen.add(key);
    taken++;
    push({
      kind: "api_usage",
      name: enclosingFunctionName(call),
      detail: "call",
      doc: "",
      signature: "",
      context: "",
      code: codeOf(statement, source),
      callee,
      module,
      line: line(statement),
    });
  }
  return out;
}
