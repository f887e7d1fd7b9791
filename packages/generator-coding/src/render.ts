// The IR rendered as idiomatic Python, Go, JavaScript and Java.
import type { BinOp, Expr, Fn, Stmt, Type } from "./ir.js";

export type Language = "python" | "go" | "javascript" | "java";
export const LANGUAGES: readonly Language[] = ["python", "go", "javascript", "java"];

export const LANGUAGE_NAMES: Record<Language, string> = { python: "Python", go: "Go", javascript: "JavaScript", java: "Java" };

export function fnName(fn: Pick<Fn, "words">, lang: Language): string {
  const [first, ...rest] = fn.words;
  const camel = first! + rest.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
  if (lang === "python") return fn.words.join("_");
  if (lang === "go") return camel.charAt(0).toUpperCase() + camel.slice(1);
  return camel;
}

const PRECEDENCE: Record<BinOp, number> = {
  "||": 1,
  "&&": 2,
  "==": 3,
  "!=": 3,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "%": 6,
  "//": 6,
};

function opText(op: BinOp, lang: Language): string {
  if (lang === "python") return op === "&&" ? "and" : op === "||" ? "or" : op;
  if (lang === "javascript") return op === "==" ? "===" : op === "!=" ? "!==" : op === "//" ? "/" : op;
  return op === "//" ? "/" : op;
}

export function expr(e: Expr, lang: Language, parent = 0, nested = false): string {
  switch (e.k) {
    case "var":
      return e.name;
    case "int":
      return e.v < 0 && parent > 0 ? `(${e.v})` : String(e.v);
    case "bool":
      return lang === "python" ? (e.v ? "True" : "False") : String(e.v);
    case "char":
      return lang === "go" || lang === "java" ? `'${e.c}'` : `"${e.c}"`;
    case "not": {
      const inner = expr(e.e, lang, 7, true);
      return lang === "python"
        ? `not ${e.e.k === "bin" ? `(${expr(e.e, lang)})` : inner}`
        : `!${e.e.k === "bin" ? `(${expr(e.e, lang)})` : inner}`;
    }
    case "neg":
      return `-${expr(e.e, lang, 7, true)}`;
    case "len":
      return lang === "python" || lang === "go"
        ? `len(${expr(e.e, lang)})`
        : lang === "javascript"
          ? `${expr(e.e, lang)}.length`
          : `${expr(e.e, lang)}.size()`;
    case "index":
      return lang === "java" ? `${expr(e.list, lang)}.get(${expr(e.i, lang)})` : `${expr(e.list, lang)}[${expr(e.i, lang)}]`;
    case "bin": {
      const p = PRECEDENCE[e.op];
      if (lang === "javascript" && e.op === "//") return `Math.trunc(${expr(e.a, lang, 6)} / ${expr(e.b, lang, 6)})`;
      const a = expr(e.a, lang, p, true);
      const b = expr(e.b, lang, p + 1, true);
      // gofmt drops the spaces around an operator that binds tighter than the one around it.
      const tight = lang === "go" && nested && parent > 0 && parent < p && p >= 5;
      const text = tight ? `${a}${opText(e.op, lang)}${b}` : `${a} ${opText(e.op, lang)} ${b}`;
      return p < parent ? `(${text})` : text;
    }
  }
}

function typeName(t: Type, lang: Language): string {
  if (lang === "go") return { int: "int", bool: "bool", intlist: "[]int", string: "string" }[t];
  if (lang === "java") return { int: "int", bool: "boolean", intlist: "List<Integer>", string: "String" }[t];
  if (lang === "python") return { int: "int", bool: "bool", intlist: "list[int]", string: "str" }[t];
  return "";
}

const INDENT: Record<Language, string> = { python: "    ", go: "\t", javascript: "  ", java: "    " };

function block(stmts: readonly Stmt[], lang: Language, depth: number, types: Map<string, Type>): string[] {
  return stmts.flatMap((s) => stmt(s, lang, depth, types));
}

function stmt(s: Stmt, lang: Language, depth: number, types: Map<string, Type>): string[] {
  const pad = INDENT[lang].repeat(depth);
  const semi = lang === "javascript" || lang === "java" ? ";" : "";
  const e = (x: Expr) => expr(x, lang);
  const open = (head: string, body: Stmt[]): string[] =>
    lang === "python"
      ? [`${pad}${head}:`, ...block(body, lang, depth + 1, types)]
      : [`${pad}${head} {`, ...block(body, lang, depth + 1, types), `${pad}}`];
  switch (s.k) {
    case "let": {
      types.set(s.name, s.type);
      const init = s.init === "empty" ? { python: "[]", go: "[]int{}", javascript: "[]", java: "new ArrayList<>()" }[lang] : e(s.init);
      if (lang === "python") return [`${pad}${s.name} = ${init}`];
      if (lang === "go") return [`${pad}${s.name} := ${init}`];
      if (lang === "javascript") return [`${pad}let ${s.name} = ${init};`];
      return [`${pad}${typeName(s.type, lang)} ${s.name} = ${init};`];
    }
    case "set":
      return [`${pad}${s.name} = ${e(s.e)}${semi}`];
    case "add":
      if (s.e.k === "int" && s.e.v === 1 && lang !== "python") return [`${pad}${s.name}++${semi}`];
      return [`${pad}${s.name} += ${e(s.e)}${semi}`];
    case "mul":
      return [`${pad}${s.name} *= ${e(s.e)}${semi}`];
    case "if":
      return open(lang === "python" ? `if ${e(s.cond)}` : lang === "go" ? `if ${e(s.cond)}` : `if (${e(s.cond)})`, s.then);
    case "each": {
      types.set(s.v, s.type === "char" ? "string" : "int");
      const coll = e(s.coll);
      if (lang === "python") return open(`for ${s.v} in ${coll}`, s.body);
      if (lang === "go") return open(`for _, ${s.v} := range ${coll}`, s.body);
      if (lang === "javascript") return open(`for (const ${s.v} of ${coll})`, s.body);
      return open(s.type === "char" ? `for (char ${s.v} : ${coll}.toCharArray())` : `for (int ${s.v} : ${coll})`, s.body);
    }
    case "range": {
      const from = e(s.from);
      const to = e(s.to);
      const cmp = s.down ? (s.inclusive ? ">=" : ">") : s.inclusive ? "<=" : "<";
      const step = s.down ? "--" : "++";
      if (lang === "python") {
        const shift = (by: number): string =>
          s.to.k === "int"
            ? String(s.to.v + by)
            : expr({ k: "bin", op: by > 0 ? "+" : "-", a: s.to, b: { k: "int", v: Math.abs(by) } }, lang);
        const end = s.inclusive ? shift(s.down ? -1 : 1) : to;
        const args = s.down ? `${from}, ${end}, -1` : from === "0" ? end : `${from}, ${end}`;
        return open(`for ${s.v} in range(${args})`, s.body);
      }
      if (lang === "go") return open(`for ${s.v} := ${from}; ${s.v} ${cmp} ${to}; ${s.v}${step}`, s.body);
      if (lang === "javascript") return open(`for (let ${s.v} = ${from}; ${s.v} ${cmp} ${to}; ${s.v}${step})`, s.body);
      return open(`for (int ${s.v} = ${from}; ${s.v} ${cmp} ${to}; ${s.v}${step})`, s.body);
    }
    case "while":
      if (lang === "go") return open(`for ${e(s.cond)}`, s.body);
      if (lang === "python") return open(`while ${e(s.cond)}`, s.body);
      return open(`while (${e(s.cond)})`, s.body);
    case "return":
      return [`${pad}return ${e(s.e)}${semi}`];
    case "append":
      if (lang === "python") return [`${pad}${s.list}.append(${e(s.e)})`];
      if (lang === "go") return [`${pad}${s.list} = append(${s.list}, ${e(s.e)})`];
      if (lang === "javascript") return [`${pad}${s.list}.push(${e(s.e)});`];
      return [`${pad}${s.list}.add(${e(s.e)});`];
  }
}

function usesList(fn: Fn): { list: boolean; arrayList: boolean } {
  const json = JSON.stringify(fn);
  return { list: fn.ret === "intlist" || fn.params.some((p) => p.type === "intlist"), arrayList: json.includes('"init":"empty"') };
}

/** The function alone (Java: inside `public class Solution`, with the imports it needs). */
export function renderFunction(fn: Fn, lang: Language, doc?: string): string {
  const name = fnName(fn, lang);
  const types = new Map<string, Type>(fn.params.map((p) => [p.name, p.type]));
  if (lang === "python") {
    const params = fn.params.map((p) => `${p.name}: ${typeName(p.type, lang)}`).join(", ");
    const lines = [`def ${name}(${params}) -> ${typeName(fn.ret, lang)}:`];
    if (doc) lines.push(`    """${doc}"""`);
    return [...lines, ...block(fn.body, lang, 1, types)].join("\n") + "\n";
  }
  if (lang === "go") {
    const params = fn.params.map((p) => `${p.name} ${typeName(p.type, lang)}`).join(", ");
    const lines = doc ? [`// ${name} ${doc.charAt(0).toLowerCase()}${doc.slice(1)}`] : [];
    return [...lines, `func ${name}(${params}) ${typeName(fn.ret, lang)} {`, ...block(fn.body, lang, 1, types), "}"].join("\n") + "\n";
  }
  if (lang === "javascript") {
    const params = fn.params.map((p) => p.name).join(", ");
    const lines = doc ? [`/** ${doc} */`] : [];
    return [...lines, `export function ${name}(${params}) {`, ...block(fn.body, lang, 1, types), "}"].join("\n") + "\n";
  }
  const params = fn.params.map((p) => `${typeName(p.type, lang)} ${p.name}`).join(", ");
  const { list, arrayList } = usesList(fn);
  const imports = [arrayList ? "import java.util.ArrayList;" : "", list ? "import java.util.List;" : ""].filter(Boolean);
  const body = [
    ...(doc ? [`    /** ${doc} */`] : []),
    `    public static ${typeName(fn.ret, lang)} ${name}(${params}) {`,
    ...block(fn.body, lang, 2, types),
    "    }",
  ];
  return [...imports, ...(imports.length ? [""] : []), "public class Solution {", ...body, "}"].join("\n") + "\n";
}

export const FENCE: Record<Language, string> = { python: "python", go: "go", javascript: "javascript", java: "java" };
