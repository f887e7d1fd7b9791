// A tiny imperative language: enough for small functions over integers, integer lists and strings. One program,
// four renderings (Python, Go, JavaScript, Java), and an evaluator that gives the reference results for tests,
// explanations and bug demonstrations.

export type Type = "int" | "bool" | "intlist" | "string";

export type BinOp = "+" | "-" | "*" | "%" | "//" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "&&" | "||";

export type Expr =
  | { k: "var"; name: string }
  | { k: "int"; v: number }
  | { k: "bool"; v: boolean }
  | { k: "char"; c: string }
  | { k: "bin"; op: BinOp; a: Expr; b: Expr }
  | { k: "not"; e: Expr }
  | { k: "neg"; e: Expr }
  | { k: "len"; e: Expr }
  | { k: "index"; list: Expr; i: Expr };

export type Stmt =
  | { k: "let"; name: string; type: Type; init: Expr | "empty" }
  | { k: "set"; name: string; e: Expr }
  | { k: "add"; name: string; e: Expr } // name += e
  | { k: "mul"; name: string; e: Expr } // name *= e
  | { k: "if"; cond: Expr; then: Stmt[] }
  | { k: "each"; v: string; type: "int" | "char"; coll: Expr; body: Stmt[] }
  | { k: "range"; v: string; from: Expr; to: Expr; inclusive: boolean; down?: boolean; body: Stmt[] }
  | { k: "while"; cond: Expr; body: Stmt[] }
  | { k: "return"; e: Expr }
  | { k: "append"; list: string; e: Expr };

export interface Param {
  name: string;
  type: Type;
}

export interface Fn {
  /** Name as words: ["sum", "even"] -> sum_even / sumEven / SumEven. */
  words: string[];
  params: Param[];
  ret: Type;
  body: Stmt[];
}

export type Value = number | boolean | number[] | string;

// Helpers to build expressions tersely.
export const v = (name: string): Expr => ({ k: "var", name });
export const n = (value: number): Expr => ({ k: "int", v: value });
export const b = (op: BinOp, a: Expr, c: Expr): Expr => ({ k: "bin", op, a, b: c });
export const not = (e: Expr): Expr => ({ k: "not", e });

class Return {
  constructor(readonly value: Value) {}
}

const STEP_LIMIT = 100_000;

/** Runs a function on arguments with the semantics all four renderings share (integer arithmetic, truncating division). */
export function evaluate(fn: Fn, args: readonly Value[]): Value {
  const env = new Map<string, Value>();
  fn.params.forEach((p, i) => env.set(p.name, Array.isArray(args[i]) ? [...(args[i] as number[])] : args[i]!));
  let steps = 0;
  const ev = (e: Expr): Value => {
    switch (e.k) {
      case "var": {
        const x = env.get(e.name);
        if (x === undefined) throw new Error(`unbound ${e.name}`);
        return x;
      }
      case "int":
        return e.v;
      case "bool":
        return e.v;
      case "char":
        return e.c;
      case "not":
        return !ev(e.e);
      case "neg":
        return -(ev(e.e) as number);
      case "len": {
        const x = ev(e.e);
        return (x as number[] | string).length;
      }
      case "index":
        return (ev(e.list) as number[])[ev(e.i) as number]!;
      case "bin": {
        if (e.op === "&&") return Boolean(ev(e.a)) && Boolean(ev(e.b));
        if (e.op === "||") return Boolean(ev(e.a)) || Boolean(ev(e.b));
        const x = ev(e.a);
        const y = ev(e.b);
        switch (e.op) {
          case "+":
            return (x as number) + (y as number);
          case "-":
            return (x as number) - (y as number);
          case "*":
            return (x as number) * (y as number);
          case "%": {
            // Only ever used where both renderings agree: compared with 0, or on non-negative operands.
            return (x as number) % (y as number);
          }
          case "//":
            return Math.trunc((x as number) / (y as number));
          case "==":
            return x === y;
          case "!=":
            return x !== y;
          case "<":
            return (x as number | string) < (y as number | string);
          case "<=":
            return (x as number | string) <= (y as number | string);
          case ">":
            return (x as number | string) > (y as number | string);
          case ">=":
            return (x as number | string) >= (y as number | string);
        }
      }
    }
  };
  const run = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (++steps > STEP_LIMIT) throw new Error("step limit");
      switch (s.k) {
        case "let":
          env.set(s.name, s.init === "empty" ? [] : ev(s.init));
          break;
        case "set":
          env.set(s.name, ev(s.e));
          break;
        case "add":
          env.set(s.name, (env.get(s.name) as number) + (ev(s.e) as number));
          break;
        case "mul":
          env.set(s.name, (env.get(s.name) as number) * (ev(s.e) as number));
          break;
        case "if":
          if (ev(s.cond)) run(s.then);
          break;
        case "each":
          for (const item of [...(ev(s.coll) as number[] | string)]) {
            env.set(s.v, item);
            run(s.body);
          }
          break;
        case "range": {
          const from = ev(s.from) as number;
          const to = ev(s.to) as number;
          if (s.down) for (let i = from; s.inclusive ? i >= to : i > to; i--) (env.set(s.v, i), run(s.body));
          else for (let i = from; s.inclusive ? i <= to : i < to; i++) (env.set(s.v, i), run(s.body));
          break;
        }
        case "while":
          while (ev(s.cond)) {
            if (++steps > STEP_LIMIT) throw new Error("step limit");
            run(s.body);
          }
          break;
        case "return":
          throw new Return(ev(s.e));
        case "append":
          (env.get(s.list) as number[]).push(ev(s.e) as number);
          break;
      }
    }
  };
  try {
    run(fn.body);
  } catch (r) {
    if (r instanceof Return) return r.value;
    throw r;
  }
  throw new Error(`${fn.words.join("_")} fell off the end`);
}

export function formatValue(x: Value, lang: "python" | "go" | "javascript" | "java" | "text" = "text"): string {
  if (Array.isArray(x)) {
    if (lang === "go") return `[]int{${x.join(", ")}}`;
    if (lang === "java") return `List.of(${x.join(", ")})`;
    return `[${x.join(", ")}]`;
  }
  if (typeof x === "boolean") return lang === "python" ? (x ? "True" : "False") : String(x);
  if (typeof x === "string") return JSON.stringify(x);
  return String(x);
}
