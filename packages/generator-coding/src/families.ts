// Families of small functions built in the IR: folds, maps, searches, all/any checks, number and string routines.
// Each task knows its specification, sample inputs, and the bugs that can be planted in it (known mutations).
import { b, evaluate, n, not, v, type Expr, type Fn, type Stmt, type Value } from "./ir.js";

export interface Mutation {
  id: string;
  fn: Fn;
  /** What is wrong, as a clause: "the total starts at 1 instead of 0". */
  explain: string;
}

export interface Task {
  id: string;
  fn: Fn;
  /** For list tasks with a condition: what the condition keeps, e.g. "even numbers", and a way to list them. */
  selects?: { words: string; pick(values: number[]): number[] };
  /** What the function does, after "that": "returns the sum of the even numbers in the list". */
  spec: string;
  samples: Value[][];
  mutations: Mutation[];
}

// --- predicates ------------------------------------------------------------------------------------------------
interface Pred {
  id: string;
  /** "even numbers" */
  words: string;
  name: string[];
  test(x: Expr): Expr;
  /** The same test with its boundary moved (x > t -> x >= t), if it has one. */
  boundary?: { test(x: Expr): Expr; explain: string };
  /** Values that sit on the predicate's edge, good for tests. */
  edges: number[];
}

const PREDS: Pred[] = [
  { id: "even", words: "even numbers", name: ["even"], test: (x) => b("==", b("%", x, n(2)), n(0)), edges: [0, 2, -4] },
  { id: "odd", words: "odd numbers", name: ["odd"], test: (x) => b("!=", b("%", x, n(2)), n(0)), edges: [1, -3, 7] },
  {
    id: "positive",
    words: "positive numbers",
    name: ["positive"],
    test: (x) => b(">", x, n(0)),
    boundary: { test: (x) => b(">=", x, n(0)), explain: "the comparison uses >= 0, so zero is wrongly treated as positive" },
    edges: [0, 1, -1],
  },
  {
    id: "negative",
    words: "negative numbers",
    name: ["negative"],
    test: (x) => b("<", x, n(0)),
    boundary: { test: (x) => b("<=", x, n(0)), explain: "the comparison uses <= 0, so zero is wrongly treated as negative" },
    edges: [0, -1, 1],
  },
  { id: "nonzero", words: "non-zero numbers", name: ["nonzero"], test: (x) => b("!=", x, n(0)), edges: [0, 5, -5] },
  ...[1, 2, 3, 4, 5, 6, 7, 8, 10, 20, 50, 100].map((t): Pred => ({
    id: `gt${t}`,
    words: `numbers greater than ${t}`,
    name: ["above", String(t)],
    test: (x) => b(">", x, n(t)),
    boundary: { test: (x) => b(">=", x, n(t)), explain: `the comparison uses >= ${t}, so ${t} itself is wrongly included` },
    edges: [t - 1, t, t + 1],
  })),
  ...[0, 1, 2, 3, 5, 7, 10, 20].map((t): Pred => ({
    id: `lt${t}`,
    words: `numbers less than ${t}`,
    name: ["below", String(t)],
    test: (x) => b("<", x, n(t)),
    boundary: { test: (x) => b("<=", x, n(t)), explain: `the comparison uses <= ${t}, so ${t} itself is wrongly included` },
    edges: [t - 1, t, t + 1],
  })),
  ...[3, 4, 5, 6, 7, 8, 9, 10].map((k): Pred => ({
    id: `div${k}`,
    words: `multiples of ${k}`,
    name: ["multiples", "of", String(k)],
    test: (x) => b("==", b("%", x, n(k)), n(0)),
    edges: [k, k + 1, 2 * k],
  })),
];

const listParam = { name: "values", type: "intlist" as const };
const x = v("x");

function listSamples(pred?: Pred): number[][] {
  const edges = pred?.edges ?? [0, 1, -1];
  return [[3, 8, -2, 5, 10], [1, 2, 3, 4, 5, 6], [0, -7, 7, 12, -3], [], edges, [4, 4, -5, 9]];
}

function withPred(
  pred: Pred | undefined,
  body: Stmt[],
  test: (x: Expr) => Expr = pred ? pred.test : () => ({ k: "bool", v: true }),
): Stmt[] {
  return pred ? [{ k: "if", cond: test(x), then: body }] : body;
}

/** What a predicate keeps from a list, computed by running the predicate through the evaluator. */
function selects(pred: Pred | undefined): Task["selects"] {
  if (!pred) return undefined;
  const filter: Fn = {
    words: ["select"],
    params: [listParam],
    ret: "intlist",
    body: [
      { k: "let", name: "r", type: "intlist", init: "empty" },
      {
        k: "each",
        v: "x",
        type: "int",
        coll: v("values"),
        body: [{ k: "if", cond: pred.test(x), then: [{ k: "append", list: "r", e: x }] }],
      },
      { k: "return", e: v("r") },
    ],
  };
  return { words: pred.words, pick: (values) => evaluate(filter, [values]) as number[] };
}

function predMutations(pred: Pred | undefined, build: (test: (x: Expr) => Expr) => Fn): Mutation[] {
  if (!pred) return [];
  const out: Mutation[] = [
    {
      id: "negated",
      fn: build((e) => not(pred.test(e))),
      explain: `the condition is inverted, so it keeps the values that are not ${pred.words}`,
    },
  ];
  if (pred.boundary) out.push({ id: "boundary", fn: build(pred.boundary.test), explain: pred.boundary.explain });
  return out;
}

// --- folds: list -> int ----------------------------------------------------------------------------------------
type FoldOp = "sum" | "count" | "product" | "max" | "min";

function foldTask(op: FoldOp, pred: Pred | undefined): Task {
  const words = op === "max" || op === "min" ? [op, ...(pred ? pred.name : ["value"])] : [op, ...(pred ? pred.name : [])];
  const what = pred ? `the ${pred.words}` : "the numbers";
  const build = (
    opts: { test?: (x: Expr) => Expr; init?: number; combine?: "sub" | "addx" | "add" | "flip"; reply?: boolean } = {},
  ): Fn => {
    const test = opts.test ?? pred?.test;
    const acc = op === "count" ? "count" : op === "product" ? "product" : op === "sum" ? "total" : "best";
    if (op === "max" || op === "min") {
      const cmp = (op === "max") !== (opts.combine === "flip") ? ">" : "<";
      const inner: Stmt[] = [
        {
          k: "if",
          cond: b("||", not(v("found")), b(cmp, x, v("best"))),
          then: [
            { k: "set", name: "best", e: x },
            { k: "set", name: "found", e: { k: "bool", v: true } },
          ],
        },
      ];
      return {
        words,
        params: [listParam],
        ret: "int",
        body: [
          { k: "let", name: "best", type: "int", init: n(0) },
          { k: "let", name: "found", type: "bool", init: { k: "bool", v: false } },
          { k: "each", v: "x", type: "int", coll: v("values"), body: withPred(pred, inner, test) },
          { k: "return", e: v("best") },
        ],
      };
    }
    const init = opts.init ?? (op === "product" ? 1 : 0);
    let step: Stmt;
    if (op === "count") step = opts.combine === "addx" ? { k: "add", name: acc, e: x } : { k: "add", name: acc, e: n(1) };
    else if (op === "sum") step = opts.combine === "sub" ? { k: "set", name: acc, e: b("-", v(acc), x) } : { k: "add", name: acc, e: x };
    else step = opts.combine === "add" ? { k: "add", name: acc, e: x } : { k: "mul", name: acc, e: x };
    return {
      words,
      params: [listParam],
      ret: "int",
      body: [
        { k: "let", name: acc, type: "int", init: n(init) },
        { k: "each", v: "x", type: "int", coll: v("values"), body: withPred(pred, [step], test) },
        { k: "return", e: v(acc) },
      ],
    };
  };
  const spec = {
    sum: `returns the sum of ${what} in a list of integers (0 if there are none)`,
    count: `returns how many ${pred?.words ?? "numbers"} a list of integers contains`,
    product: `returns the product of ${what} in a list of integers (1 if there are none)`,
    max: `returns the largest of ${what} in a list of integers, or 0 if there are none`,
    min: `returns the smallest of ${what} in a list of integers, or 0 if there are none`,
  }[op];
  const mutations: Mutation[] = [...predMutations(pred, (test) => build({ test }))];
  if (op === "sum")
    mutations.push(
      { id: "init", fn: build({ init: 1 }), explain: "the total starts at 1 instead of 0" },
      { id: "combine", fn: build({ combine: "sub" }), explain: "each matching value is subtracted from the total instead of added" },
    );
  if (op === "count")
    mutations.push(
      { id: "combine", fn: build({ combine: "addx" }), explain: "the loop adds each value to the count instead of adding 1" },
      { id: "init", fn: build({ init: 1 }), explain: "the count starts at 1 instead of 0" },
    );
  if (op === "product")
    mutations.push(
      { id: "init", fn: build({ init: 0 }), explain: "the product starts at 0, which makes every result 0; it must start at 1" },
      { id: "combine", fn: build({ combine: "add" }), explain: "the loop adds the values instead of multiplying them" },
    );
  if (op === "max" || op === "min")
    mutations.push({
      id: "flip",
      fn: build({ combine: "flip" }),
      explain: `the comparison is the wrong way round, so it keeps the ${op === "max" ? "smallest" : "largest"} value instead`,
    });
  return {
    id: `fold:${op}:${pred?.id ?? "all"}`,
    fn: build(),
    spec,
    selects: selects(pred),
    samples: listSamples(pred).map((l) => [l]),
    mutations,
  };
}

// --- maps: list -> list ----------------------------------------------------------------------------------------
interface Transform {
  id: string;
  name: string[];
  /** As a noun for "sum of ...": ["squares"], ["plus", "3"]. */
  noun: string[];
  words: string;
  apply(x: Expr): Expr;
  /** The same transform with a wrong constant, if it has one. */
  off?: { apply(x: Expr): Expr; explain: string };
}

const TRANSFORMS: Transform[] = [
  { id: "square", name: ["square"], noun: ["squares"], words: "the square of", apply: (e) => b("*", e, e) },
  { id: "negate", name: ["negate"], noun: ["negated"], words: "the negation of", apply: (e) => ({ k: "neg", e }) },
  ...[1, 2, 3, 4, 5, 7, 10].map((k): Transform => ({
    id: `add${k}`,
    name: ["add", String(k), "to"],
    noun: ["plus", String(k)],
    words: `${k} more than`,
    apply: (e) => b("+", e, n(k)),
    off: { apply: (e) => b("+", e, n(k + 1)), explain: `it adds ${k + 1} instead of ${k}` },
  })),
  ...[1, 2, 3, 5].map((k): Transform => ({
    id: `sub${k}`,
    name: ["subtract", String(k), "from"],
    noun: ["minus", String(k)],
    words: `${k} less than`,
    apply: (e) => b("-", e, n(k)),
    off: { apply: (e) => b("+", e, n(k)), explain: `it adds ${k} instead of subtracting it` },
  })),
  ...[2, 3, 10].map((k): Transform => ({
    id: `times${k}`,
    name: [k === 2 ? "double" : k === 3 ? "triple" : "scale"],
    noun: [k === 2 ? "doubled" : k === 3 ? "tripled" : "times", ...(k === 10 ? ["10"] : [])],
    words: k === 10 ? "ten times" : k === 2 ? "twice" : "three times",
    apply: (e) => b("*", e, n(k)),
    off: { apply: (e) => b("+", e, n(k)), explain: `it adds ${k} instead of multiplying by ${k}` },
  })),
];

// --- sum of transformed values, filtering, running totals --------------------------------------------------------
function sumOfTask(t: Transform, pred: Pred | undefined): Task {
  const words = ["sum", "of", ...t.noun, ...(pred ? pred.name : ["all"])];
  const build = (opts: { test?: (x: Expr) => Expr; apply?: (x: Expr) => Expr; raw?: boolean } = {}): Fn => ({
    words,
    params: [listParam],
    ret: "int",
    body: [
      { k: "let", name: "total", type: "int", init: n(0) },
      {
        k: "each",
        v: "x",
        type: "int",
        coll: v("values"),
        body: withPred(pred, [{ k: "add", name: "total", e: opts.raw ? x : (opts.apply ?? t.apply)(x) }], opts.test),
      },
      { k: "return", e: v("total") },
    ],
  });
  const mutations: Mutation[] = [
    ...predMutations(pred, (test) => build({ test })),
    { id: "raw", fn: build({ raw: true }), explain: "it adds the values themselves instead of the transformed values" },
  ];
  if (t.off) mutations.push({ id: "constant", fn: build({ apply: t.off.apply }), explain: t.off.explain });
  return {
    id: `sumof:${t.id}:${pred?.id ?? "all"}`,
    fn: build(),
    selects: selects(pred),
    spec: `returns the sum of ${t.words} each of the ${pred ? pred.words : "numbers"} in a list of integers (0 if there are none)`,
    samples: listSamples(pred).map((l) => [l]),
    mutations,
  };
}

function filterTask(pred: Pred): Task {
  const build = (test?: (x: Expr) => Expr): Fn => ({
    words: ["keep", ...pred.name],
    params: [listParam],
    ret: "intlist",
    body: [
      { k: "let", name: "result", type: "intlist", init: "empty" },
      { k: "each", v: "x", type: "int", coll: v("values"), body: withPred(pred, [{ k: "append", list: "result", e: x }], test) },
      { k: "return", e: v("result") },
    ],
  });
  return {
    id: `filter:${pred.id}`,
    fn: build(),
    selects: selects(pred),
    spec: `returns a new list with only the ${pred.words} of a list of integers, in their original order`,
    samples: listSamples(pred).map((l) => [l]),
    mutations: predMutations(pred, build),
  };
}

function runningTask(pred: Pred | undefined): Task {
  const build = (opts: { test?: (x: Expr) => Expr; late?: boolean } = {}): Fn => {
    const add: Stmt = { k: "add", name: "total", e: x };
    const push: Stmt = { k: "append", list: "result", e: v("total") };
    return {
      words: ["running", "total", ...(pred ? pred.name : [])],
      params: [listParam],
      ret: "intlist",
      body: [
        { k: "let", name: "total", type: "int", init: n(0) },
        { k: "let", name: "result", type: "intlist", init: "empty" },
        {
          k: "each",
          v: "x",
          type: "int",
          coll: v("values"),
          body: opts.late ? [push, ...withPred(pred, [add], opts.test)] : [...withPred(pred, [add], opts.test), push],
        },
        { k: "return", e: v("result") },
      ],
    };
  };
  return {
    id: `running:${pred?.id ?? "all"}`,
    fn: build(),
    selects: selects(pred),
    spec: pred
      ? `returns, for each position of a list of integers, the running total of the ${pred.words} seen so far (including that position)`
      : "returns the running totals of a list of integers: element i of the result is the sum of elements 0 to i",
    samples: listSamples(pred).map((l) => [l]),
    mutations: [
      ...predMutations(pred, (test) => build({ test })),
      {
        id: "late",
        fn: build({ late: true }),
        explain: "it records the total before adding the current element, so every entry lags one step behind",
      },
    ],
  };
}

function mapTask(t: Transform, pred: Pred | undefined): Task {
  const words = pred
    ? [...t.name, ...(t.name[t.name.length - 1] === "to" || t.name[t.name.length - 1] === "from" ? [] : []), ...pred.name]
    : t.name.filter((w) => w !== "to" && w !== "from").concat(t.name.includes("to") || t.name.includes("from") ? ["each"] : ["all"]);
  const build = (opts: { test?: (x: Expr) => Expr; apply?: (x: Expr) => Expr; noFilter?: boolean; original?: boolean } = {}): Fn => {
    const apply = opts.apply ?? t.apply;
    const push: Stmt = { k: "append", list: "result", e: opts.original ? x : apply(x) };
    return {
      words,
      params: [listParam],
      ret: "intlist",
      body: [
        { k: "let", name: "result", type: "intlist", init: "empty" },
        { k: "each", v: "x", type: "int", coll: v("values"), body: opts.noFilter ? [push] : withPred(pred, [push], opts.test) },
        { k: "return", e: v("result") },
      ],
    };
  };
  const spec = pred
    ? `returns a new list with ${t.words} each of the ${pred.words} in a list of integers, in their original order (other values are left out)`
    : `returns a new list with ${t.words} each number in a list of integers, in the same order`;
  const mutations: Mutation[] = [...predMutations(pred, (test) => build({ test }))];
  if (t.off) mutations.push({ id: "constant", fn: build({ apply: t.off.apply }), explain: t.off.explain });
  if (pred)
    mutations.push({
      id: "nofilter",
      fn: build({ noFilter: true }),
      explain: `the filter is missing, so values that are not ${pred.words} are transformed and kept too`,
    });
  mutations.push({
    id: "original",
    fn: build({ original: true }),
    explain: "it appends the original value instead of the transformed one",
  });
  return {
    id: `map:${t.id}:${pred?.id ?? "all"}`,
    fn: build(),
    spec,
    selects: selects(pred),
    samples: listSamples(pred).map((l) => [l]),
    mutations,
  };
}

// --- find: list -> index -----------------------------------------------------------------------------------------
function findTask(which: "first" | "last", pred: Pred): Task {
  const build = (opts: { test?: (x: Expr) => Expr; plusOne?: boolean; missing?: number; forward?: boolean } = {}): Fn => {
    const test = opts.test ?? pred.test;
    const forward = which === "first" || opts.forward;
    const loop: Stmt = {
      k: "range",
      v: "i",
      from: forward ? n(0) : b("-", { k: "len", e: v("values") }, n(1)),
      to: forward ? { k: "len", e: v("values") } : n(0),
      inclusive: !forward,
      ...(forward ? {} : { down: true }),
      body: [
        {
          k: "if",
          cond: test({ k: "index", list: v("values"), i: v("i") }),
          then: [{ k: "return", e: opts.plusOne ? b("+", v("i"), n(1)) : v("i") }],
        },
      ],
    };
    return {
      words: ["index", "of", which, ...pred.name],
      params: [listParam],
      ret: "int",
      body: [loop, { k: "return", e: n(opts.missing ?? -1) }],
    };
  };
  const mutations: Mutation[] = [
    ...predMutations(pred, (test) => build({ test })),
    { id: "plusone", fn: build({ plusOne: true }), explain: "it returns a 1-based position (i + 1) instead of the 0-based index" },
    { id: "missing", fn: build({ missing: 0 }), explain: "when nothing matches it returns 0, which is a valid index, instead of -1" },
  ];
  if (which === "last")
    mutations.push({
      id: "direction",
      fn: build({ forward: true }),
      explain: "it scans from the front, so it finds the first match rather than the last",
    });
  return {
    id: `find:${which}:${pred.id}`,
    fn: build(),
    selects: selects(pred),
    spec: `returns the index of the ${which} element of a list of integers that is one of the ${pred.words}, or -1 if there is none`,
    samples: listSamples(pred).map((l) => [l]),
    mutations,
  };
}

// --- all / any: list -> bool -------------------------------------------------------------------------------------
function quantTask(q: "all" | "any", pred: Pred): Task {
  const build = (opts: { test?: (x: Expr) => Expr; swap?: boolean } = {}): Fn => {
    const test = opts.test ?? pred.test;
    const hit = q === "any";
    return {
      words: [q, ...pred.name],
      params: [listParam],
      ret: "bool",
      body: [
        {
          k: "each",
          v: "x",
          type: "int",
          coll: v("values"),
          body: [{ k: "if", cond: hit ? test(x) : not(test(x)), then: [{ k: "return", e: { k: "bool", v: opts.swap ? !hit : hit } }] }],
        },
        { k: "return", e: { k: "bool", v: opts.swap ? hit : !hit } },
      ],
    };
  };
  return {
    id: `quant:${q}:${pred.id}`,
    fn: build(),
    selects: selects(pred),
    spec:
      q === "all"
        ? `returns true if every number in a list of integers is one of the ${pred.words} (true for an empty list)`
        : `returns true if at least one number in a list of integers is one of the ${pred.words} (false for an empty list)`,
    samples: listSamples(pred).map((l) => [l]),
    mutations: [
      ...predMutations(pred, (test) => build({ test })),
      {
        id: "swap",
        fn: build({ swap: true }),
        explain: "the two return values are swapped, so every answer comes out the wrong way round",
      },
    ],
  };
}

// --- numbers and strings -----------------------------------------------------------------------------------------
const num = (name: string) => ({ name, type: "int" as const });

function numberTasks(): Task[] {
  const ints = (...xs: number[]) => xs.map((k) => [k] as Value[]);
  const factorial = (inclusive: boolean, init = 1): Fn => ({
    words: ["factorial"],
    params: [num("n")],
    ret: "int",
    body: [
      { k: "let", name: "result", type: "int", init: n(init) },
      { k: "range", v: "i", from: n(2), to: v("n"), inclusive, body: [{ k: "mul", name: "result", e: v("i") }] },
      { k: "return", e: v("result") },
    ],
  });
  const sumTo = (inclusive: boolean, init = 0): Fn => ({
    words: ["sum", "up", "to"],
    params: [num("n")],
    ret: "int",
    body: [
      { k: "let", name: "total", type: "int", init: n(init) },
      { k: "range", v: "i", from: n(1), to: v("n"), inclusive, body: [{ k: "add", name: "total", e: v("i") }] },
      { k: "return", e: v("total") },
    ],
  });
  const power = (inclusive: boolean): Fn => ({
    words: ["power"],
    params: [num("base"), num("exponent")],
    ret: "int",
    body: [
      { k: "let", name: "result", type: "int", init: n(1) },
      { k: "range", v: "i", from: n(0), to: v("exponent"), inclusive, body: [{ k: "mul", name: "result", e: v("base") }] },
      { k: "return", e: v("result") },
    ],
  });
  const digitSum = (limit: number): Fn => ({
    words: ["digit", "sum"],
    params: [num("n")],
    ret: "int",
    body: [
      { k: "let", name: "total", type: "int", init: n(0) },
      {
        k: "while",
        cond: b(">", v("n"), n(limit)),
        body: [
          { k: "add", name: "total", e: b("%", v("n"), n(10)) },
          { k: "set", name: "n", e: b("//", v("n"), n(10)) },
        ],
      },
      { k: "return", e: v("total") },
    ],
  });
  const reverseDigits = (limit: number): Fn => ({
    words: ["reverse", "digits"],
    params: [num("n")],
    ret: "int",
    body: [
      { k: "let", name: "result", type: "int", init: n(0) },
      {
        k: "while",
        cond: b(">", v("n"), n(limit)),
        body: [
          { k: "set", name: "result", e: b("+", b("*", v("result"), n(10)), b("%", v("n"), n(10))) },
          { k: "set", name: "n", e: b("//", v("n"), n(10)) },
        ],
      },
      { k: "return", e: v("result") },
    ],
  });
  const countDigits = (zeroCase: boolean): Fn => ({
    words: ["count", "digits"],
    params: [num("n")],
    ret: "int",
    body: [
      ...(zeroCase ? [{ k: "if", cond: b("==", v("n"), n(0)), then: [{ k: "return", e: n(1) }] } as Stmt] : []),
      { k: "let", name: "count", type: "int", init: n(0) },
      {
        k: "while",
        cond: b(">", v("n"), n(0)),
        body: [
          { k: "add", name: "count", e: n(1) },
          { k: "set", name: "n", e: b("//", v("n"), n(10)) },
        ],
      },
      { k: "return", e: v("count") },
    ],
  });
  const gcd = (ret: string): Fn => ({
    words: ["gcd"],
    params: [num("a"), num("b")],
    ret: "int",
    body: [
      {
        k: "while",
        cond: b("!=", v("b"), n(0)),
        body: [
          { k: "let", name: "t", type: "int", init: v("b") },
          { k: "set", name: "b", e: b("%", v("a"), v("b")) },
          { k: "set", name: "a", e: v("t") },
        ],
      },
      { k: "return", e: v(ret) },
    ],
  });
  const isPrime = (strict: boolean): Fn => ({
    words: ["is", "prime"],
    params: [num("n")],
    ret: "bool",
    body: [
      { k: "if", cond: b("<", v("n"), n(2)), then: [{ k: "return", e: { k: "bool", v: false } }] },
      { k: "let", name: "i", type: "int", init: n(2) },
      {
        k: "while",
        cond: b(strict ? "<" : "<=", b("*", v("i"), v("i")), v("n")),
        body: [
          { k: "if", cond: b("==", b("%", v("n"), v("i")), n(0)), then: [{ k: "return", e: { k: "bool", v: false } }] },
          { k: "add", name: "i", e: n(1) },
        ],
      },
      { k: "return", e: { k: "bool", v: true } },
    ],
  });
  const fib = (ret: string): Fn => ({
    words: ["fibonacci"],
    params: [num("n")],
    ret: "int",
    body: [
      { k: "let", name: "a", type: "int", init: n(0) },
      { k: "let", name: "b", type: "int", init: n(1) },
      {
        k: "range",
        v: "i",
        from: n(0),
        to: v("n"),
        inclusive: false,
        body: [
          { k: "let", name: "next", type: "int", init: b("+", v("a"), v("b")) },
          { k: "set", name: "a", e: v("b") },
          { k: "set", name: "b", e: v("next") },
        ],
      },
      { k: "return", e: v(ret) },
    ],
  });
  return [
    {
      id: "num:factorial",
      fn: factorial(true),
      spec: "returns n! (the product 1 x 2 x ... x n) for a non-negative integer n, with 0! = 1",
      samples: ints(0, 1, 5, 7),
      mutations: [
        { id: "offbyone", fn: factorial(false), explain: "the loop stops before n, so the last factor is missing (an off-by-one error)" },
        { id: "init", fn: factorial(true, 0), explain: "the result starts at 0, so every product is 0" },
      ],
    },
    {
      id: "num:sumto",
      fn: sumTo(true),
      spec: "returns 1 + 2 + ... + n for a non-negative integer n (0 for n = 0)",
      samples: ints(0, 1, 4, 10),
      mutations: [
        { id: "offbyone", fn: sumTo(false), explain: "the loop stops before n, so n itself is never added (an off-by-one error)" },
        { id: "init", fn: sumTo(true, 1), explain: "the total starts at 1 instead of 0" },
      ],
    },
    {
      id: "num:power",
      fn: power(false),
      spec: "returns base raised to a non-negative integer exponent, by repeated multiplication",
      samples: [
        [2, 0],
        [2, 5],
        [3, 3],
        [-2, 3],
      ],
      mutations: [
        { id: "offbyone", fn: power(true), explain: "the loop runs exponent + 1 times, multiplying once too often (an off-by-one error)" },
      ],
    },
    {
      id: "num:digitsum",
      fn: digitSum(0),
      spec: "returns the sum of the decimal digits of a non-negative integer",
      samples: ints(0, 7, 123, 9045),
      mutations: [{ id: "condition", fn: digitSum(9), explain: "the loop condition n > 9 stops before the last (leading) digit is added" }],
    },
    {
      id: "num:reverse",
      fn: reverseDigits(0),
      spec: "returns the number formed by the decimal digits of a non-negative integer in reverse order (1230 gives 321)",
      samples: ints(0, 5, 123, 1230),
      mutations: [{ id: "condition", fn: reverseDigits(9), explain: "the loop condition n > 9 drops the leading digit" }],
    },
    {
      id: "num:countdigits",
      fn: countDigits(true),
      spec: "returns how many decimal digits a non-negative integer has (1 for 0)",
      samples: ints(0, 9, 10, 12345),
      mutations: [{ id: "zero", fn: countDigits(false), explain: "there is no special case for 0, so it returns 0 digits for 0" }],
    },
    {
      id: "num:gcd",
      fn: gcd("a"),
      spec: "returns the greatest common divisor of two non-negative integers using Euclid's algorithm",
      samples: [
        [12, 18],
        [7, 5],
        [0, 9],
        [100, 75],
      ],
      mutations: [{ id: "return", fn: gcd("b"), explain: "it returns b, which is always 0 after the loop, instead of a" }],
    },
    {
      id: "num:prime",
      fn: isPrime(false),
      spec: "returns true if an integer is prime, checking divisors up to its square root",
      samples: ints(1, 2, 9, 13, 25),
      mutations: [
        {
          id: "boundary",
          fn: isPrime(true),
          explain:
            "the loop condition i * i < n skips the divisor equal to the square root, so squares of primes such as 9 or 25 are reported as prime",
        },
      ],
    },
    {
      id: "num:fib",
      fn: fib("a"),
      spec: "returns the n-th Fibonacci number (0, 1, 1, 2, 3, 5, ...; the 0th is 0)",
      samples: ints(0, 1, 2, 10),
      mutations: [{ id: "return", fn: fib("b"), explain: "it returns b, the next Fibonacci number, instead of a" }],
    },
  ];
}

function stringTasks(): Task[] {
  const s = { name: "text", type: "string" as const };
  const ch = v("ch");
  const counter = (words: string[], cond: Expr): Fn => ({
    words,
    params: [s],
    ret: "int",
    body: [
      { k: "let", name: "count", type: "int", init: n(0) },
      { k: "each", v: "ch", type: "char", coll: v("text"), body: [{ k: "if", cond, then: [{ k: "add", name: "count", e: n(1) }] }] },
      { k: "return", e: v("count") },
    ],
  });
  const anyOf = (chars: string) => [...chars].map((c) => b("==", ch, { k: "char", c })).reduce((acc, e) => b("||", acc, e));
  const between = (lo: string, hi: string, strict = false) =>
    b("&&", b(">=", ch, { k: "char", c: lo }), b(strict ? "<" : "<=", ch, { k: "char", c: hi }));
  const samples: Value[][] = [["hello world"], ["Go 2024 is here!"], ["AEIOU aeiou"], [""], ["Zebra 9 Quiz"]];
  return [
    {
      id: "str:vowels",
      fn: counter(["count", "vowels"], anyOf("aeiou")),
      spec: "returns how many lowercase vowels (a, e, i, o, u) a string contains",
      samples,
      mutations: [{ id: "missing", fn: counter(["count", "vowels"], anyOf("aeio")), explain: "the check forgets the vowel u" }],
    },
    {
      id: "str:spaces",
      fn: counter(["count", "spaces"], b("==", ch, { k: "char", c: " " })),
      spec: "returns how many space characters a string contains",
      samples,
      mutations: [
        {
          id: "negated",
          fn: counter(["count", "spaces"], b("!=", ch, { k: "char", c: " " })),
          explain: "the comparison is inverted, so it counts every character that is not a space",
        },
      ],
    },
    {
      id: "str:digits",
      fn: counter(["count", "digit", "chars"], between("0", "9")),
      spec: "returns how many characters of a string are the digits 0 to 9",
      samples,
      mutations: [
        {
          id: "boundary",
          fn: counter(["count", "digit", "chars"], between("0", "9", true)),
          explain: "the upper bound uses < '9', so the digit 9 is not counted",
        },
      ],
    },
    {
      id: "str:upper",
      fn: counter(["count", "uppercase"], between("A", "Z")),
      spec: "returns how many characters of a string are uppercase ASCII letters A to Z",
      samples,
      mutations: [
        {
          id: "boundary",
          fn: counter(["count", "uppercase"], between("A", "Z", true)),
          explain: "the upper bound uses < 'Z', so the letter Z is not counted",
        },
      ],
    },
    {
      id: "str:lower",
      fn: counter(["count", "lowercase"], between("a", "z")),
      spec: "returns how many characters of a string are lowercase ASCII letters a to z",
      samples,
      mutations: [
        {
          id: "boundary",
          fn: counter(["count", "lowercase"], between("a", "z", true)),
          explain: "the upper bound uses < 'z', so the letter z is not counted",
        },
      ],
    },
  ];
}

/** Every task, in a fixed order. */
export function allTasks(): Task[] {
  const tasks: Task[] = [];
  for (const op of ["sum", "count", "product", "max", "min"] as FoldOp[]) {
    if (op !== "count") tasks.push(foldTask(op, undefined));
    for (const p of PREDS) tasks.push(foldTask(op, p));
  }
  for (const t of TRANSFORMS) {
    tasks.push(mapTask(t, undefined));
    for (const p of PREDS) tasks.push(mapTask(t, p));
  }
  for (const t of TRANSFORMS) {
    tasks.push(sumOfTask(t, undefined));
    for (const p of PREDS) tasks.push(sumOfTask(t, p));
  }
  tasks.push(runningTask(undefined));
  for (const p of PREDS)
    tasks.push(findTask("first", p), findTask("last", p), quantTask("all", p), quantTask("any", p), filterTask(p), runningTask(p));
  tasks.push(...numberTasks(), ...stringTasks());
  return tasks;
}
