// The graphs the rows talk about: labels with properties and values, relationship types; and the intents that turn a
// request about them into Cypher.
import type { Rng } from "@neural/generators";

export interface LabelSpec {
  label: string;
  /** The property a node is named by. */
  key: string;
  values: readonly string[];
  /** Other string properties with example values. */
  props: ReadonlyArray<[string, readonly string[]]>;
  /** A numeric property. */
  numeric: [string, readonly number[]];
}

export interface RelSpec {
  type: string;
  from: string;
  to: string;
  /** "people who {verb} …" */
  verb: string;
}

export interface Domain {
  name: string;
  labels: readonly LabelSpec[];
  rels: readonly RelSpec[];
}

export const DOMAINS: readonly Domain[] = [
  {
    name: "people",
    labels: [
      {
        label: "Person",
        key: "name",
        values: ["Alice", "Bob", "Carol", "Dmitri", "Elena", "Farid", "Grace", "Hiro"],
        props: [
          ["city", ["Berlin", "Lisbon", "Osaka", "Austin"]],
          ["role", ["engineer", "analyst", "manager"]],
        ],
        numeric: ["age", [25, 30, 40, 55]],
      },
      {
        label: "Company",
        key: "name",
        values: ["Acme", "Globex", "Initech", "Umbrella", "Hooli"],
        props: [
          ["industry", ["software", "retail", "energy"]],
          ["country", ["Germany", "Japan", "Brazil"]],
        ],
        numeric: ["employees", [50, 200, 1000]],
      },
      {
        label: "Skill",
        key: "name",
        values: ["Go", "Python", "Cypher", "Kubernetes", "SQL"],
        props: [["level", ["basic", "advanced"]]],
        numeric: ["demand", [3, 5, 8]],
      },
    ],
    rels: [
      { type: "KNOWS", from: "Person", to: "Person", verb: "know" },
      { type: "WORKS_AT", from: "Person", to: "Company", verb: "work at" },
      { type: "HAS_SKILL", from: "Person", to: "Skill", verb: "have" },
    ],
  },
  {
    name: "movies",
    labels: [
      {
        label: "Movie",
        key: "title",
        values: ["The Matrix", "Heat", "Alien", "Arrival", "Memento", "Up"],
        props: [
          ["genre", ["drama", "sci-fi", "thriller"]],
          ["language", ["English", "French"]],
        ],
        numeric: ["released", [1979, 1999, 2016]],
      },
      {
        label: "Actor",
        key: "name",
        values: ["Keanu Reeves", "Amy Adams", "Sigourney Weaver", "Al Pacino"],
        props: [["nationality", ["American", "Canadian"]]],
        numeric: ["born", [1940, 1964, 1974]],
      },
      {
        label: "Director",
        key: "name",
        values: ["Ridley Scott", "Denis Villeneuve", "Michael Mann"],
        props: [["nationality", ["British", "Canadian", "American"]]],
        numeric: ["born", [1937, 1943, 1967]],
      },
    ],
    rels: [
      { type: "ACTED_IN", from: "Actor", to: "Movie", verb: "acted in" },
      { type: "DIRECTED", from: "Director", to: "Movie", verb: "directed" },
    ],
  },
  {
    name: "code",
    labels: [
      {
        label: "File",
        key: "path",
        values: ["pkg/heimdall/handler.go", "pkg/cypher/parser.go", "cmd/nornicdb/main.go", "pkg/storage/badger.go"],
        props: [["language", ["Go", "TypeScript"]]],
        numeric: ["lines", [120, 800, 2400]],
      },
      {
        label: "Function",
        key: "name",
        values: ["handleChat", "parseQuery", "openStore", "buildPrompt", "runServer"],
        props: [["visibility", ["public", "private"]]],
        numeric: ["complexity", [2, 7, 15]],
      },
      {
        label: "Module",
        key: "name",
        values: ["heimdall", "cypher", "storage", "server"],
        props: [["owner", ["core", "platform"]]],
        numeric: ["files", [4, 12, 30]],
      },
    ],
    rels: [
      { type: "DEFINES", from: "File", to: "Function", verb: "define" },
      { type: "CALLS", from: "Function", to: "Function", verb: "call" },
      { type: "BELONGS_TO", from: "File", to: "Module", verb: "belong to" },
    ],
  },
  {
    name: "shop",
    labels: [
      {
        label: "Customer",
        key: "name",
        values: ["Ana", "Ben", "Chen", "Dora", "Emil"],
        props: [
          ["tier", ["gold", "silver", "bronze"]],
          ["region", ["EU", "US", "APAC"]],
        ],
        numeric: ["orders", [1, 5, 20]],
      },
      {
        label: "Product",
        key: "sku",
        values: ["SKU-100", "SKU-200", "SKU-310", "SKU-420"],
        props: [["category", ["books", "garden", "audio"]]],
        numeric: ["price", [10, 49, 199]],
      },
      {
        label: "Order",
        key: "id",
        values: ["ORD-1", "ORD-2", "ORD-3", "ORD-9"],
        props: [["status", ["shipped", "pending", "returned"]]],
        numeric: ["total", [20, 75, 300]],
      },
    ],
    rels: [
      { type: "PLACED", from: "Customer", to: "Order", verb: "placed" },
      { type: "CONTAINS", from: "Order", to: "Product", verb: "contain" },
    ],
  },
];

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const plural = (label: string) =>
  label === "Person" ? "people" : label.endsWith("y") ? label.slice(0, -1) + "ies" : label.endsWith("s") ? label + "es" : label + "s";
export const labelWords = (label: string) => lower(plural(label)).toLowerCase();
const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;

export interface QueryIntent {
  /** What the user asks, before a frame. */
  question: string;
  cypher: string;
}

/** A family of requests answered by one Cypher shape; `count` variants, `at(i)` builds one. */
export interface IntentFamily {
  name: string;
  count(d: Domain): number;
  at(d: Domain, i: number, rng: Rng): QueryIntent;
}

const labelProps = (l: LabelSpec) => [[l.key, l.values] as [string, readonly string[]], ...l.props];

export const INTENTS: readonly IntentFamily[] = [
  {
    name: "count_label",
    count: (d) => d.labels.length,
    at: (d, i, rng) => {
      const l = d.labels[i]!;
      const w = labelWords(l.label);
      return {
        question: rng.pick([
          `how many ${w} are there`,
          `count the ${w}`,
          `number of ${l.label} nodes`,
          `how many ${l.label} nodes do we have`,
        ]),
        cypher: `MATCH (n:${l.label}) RETURN count(n) AS count`,
      };
    },
  },
  {
    name: "sample_label",
    count: (d) => d.labels.length * 4,
    at: (d, i, rng) => {
      const l = d.labels[i % d.labels.length]!;
      const k = [5, 10, 20, 25][Math.floor(i / d.labels.length)]!;
      const w = labelWords(l.label);
      return {
        question: rng.pick([`show me ${k} ${w}`, `list ${k} ${l.label} nodes`, `give me ${k} sample ${w}`]),
        cypher: `MATCH (n:${l.label}) RETURN n LIMIT ${k}`,
      };
    },
  },
  {
    name: "find_by_property",
    count: (d) => d.labels.reduce((s, l) => s + labelProps(l).reduce((t, [, vs]) => t + vs.length, 0), 0),
    at: (d, i, rng) => {
      const all: [LabelSpec, string, string][] = [];
      for (const l of d.labels) for (const [p, vs] of labelProps(l)) for (const v of vs) all.push([l, p, v]);
      const [l, p, v] = all[i]!;
      const w = labelWords(l.label);
      return {
        question: rng.pick([
          `find ${w} whose ${p} is ${v}`,
          `which ${w} have ${p} ${v}`,
          `show the ${l.label} with ${p} = ${v}`,
          `look up ${w} where ${p} equals ${v}`,
        ]),
        cypher: `MATCH (n:${l.label}) WHERE n.${p} = ${quote(v)} RETURN n LIMIT 25`,
      };
    },
  },
  {
    name: "contains_text",
    count: (d) => d.labels.reduce((s, l) => s + l.values.length, 0),
    at: (d, i, rng) => {
      const all: [LabelSpec, string][] = [];
      for (const l of d.labels) for (const v of l.values) all.push([l, v]);
      const [l, v] = all[i]!;
      const part = v.length > 4 ? v.slice(0, Math.max(3, Math.floor(v.length / 2))) : v;
      const w = labelWords(l.label);
      return {
        question: rng.pick([`search ${w} with ${l.key} containing ${part}`, `${w} whose ${l.key} contains "${part}"`]),
        cypher: `MATCH (n:${l.label}) WHERE n.${l.key} CONTAINS ${quote(part)} RETURN n LIMIT 20`,
      };
    },
  },
  {
    name: "numeric_filter",
    count: (d) => d.labels.length * 3 * 2,
    at: (d, i, rng) => {
      const l = d.labels[i % d.labels.length]!;
      const [p, vs] = l.numeric;
      const v = vs[Math.floor(i / d.labels.length) % vs.length]!;
      const above = Math.floor(i / (d.labels.length * vs.length)) % 2 === 0;
      const w = labelWords(l.label);
      return {
        question: rng.pick([
          `${w} with ${p} ${above ? "above" : "below"} ${v}`,
          `which ${w} have a ${p} ${above ? "greater" : "less"} than ${v}`,
        ]),
        cypher: `MATCH (n:${l.label}) WHERE n.${p} ${above ? ">" : "<"} ${v} RETURN n.${l.key} AS ${l.key}, n.${p} AS ${p} ORDER BY n.${p} ${above ? "DESC" : "ASC"} LIMIT 25`,
      };
    },
  },
  {
    name: "top_by_numeric",
    count: (d) => d.labels.length * 3,
    at: (d, i, rng) => {
      const l = d.labels[i % d.labels.length]!;
      const k = [3, 5, 10][Math.floor(i / d.labels.length)]!;
      const [p] = l.numeric;
      const w = labelWords(l.label);
      return {
        question: rng.pick([`top ${k} ${w} by ${p}`, `the ${k} ${w} with the highest ${p}`]),
        cypher: `MATCH (n:${l.label}) RETURN n.${l.key} AS ${l.key}, n.${p} AS ${p} ORDER BY n.${p} DESC LIMIT ${k}`,
      };
    },
  },
  {
    name: "related",
    count: (d) => d.rels.reduce((s, r) => s + d.labels.find((l) => l.label === r.from)!.values.length, 0),
    at: (d, i, rng) => {
      const all: [RelSpec, string][] = [];
      for (const r of d.rels) for (const v of d.labels.find((l) => l.label === r.from)!.values) all.push([r, v]);
      const [r, v] = all[i]!;
      const from = d.labels.find((l) => l.label === r.from)!;
      const to = d.labels.find((l) => l.label === r.to)!;
      return {
        question: rng.pick([
          `what does ${v} ${r.verb}`,
          `which ${labelWords(to.label)} does ${v} ${r.verb}`,
          `show ${r.type} relationships of ${v}`,
        ]),
        cypher: `MATCH (a:${from.label})-[:${r.type}]->(b:${to.label}) WHERE a.${from.key} = ${quote(v)} RETURN b.${to.key} AS ${to.key} LIMIT 25`,
      };
    },
  },
  {
    name: "count_rel",
    count: (d) => d.rels.length,
    at: (d, i, rng) => {
      const r = d.rels[i]!;
      return {
        question: rng.pick([`how many ${r.type} relationships exist`, `count ${r.type} edges`]),
        cypher: `MATCH ()-[r:${r.type}]->() RETURN count(r) AS count`,
      };
    },
  },
  {
    name: "degree",
    count: (d) => d.rels.length * 2,
    at: (d, i, rng) => {
      const r = d.rels[i % d.rels.length]!;
      const k = i < d.rels.length ? 5 : 10;
      const from = d.labels.find((l) => l.label === r.from)!;
      return {
        question: rng.pick([
          `which ${labelWords(from.label)} have the most ${r.type} relationships`,
          `top ${k} ${labelWords(from.label)} by ${r.type} count`,
        ]),
        cypher: `MATCH (a:${from.label})-[r:${r.type}]->() RETURN a.${from.key} AS ${from.key}, count(r) AS total ORDER BY total DESC LIMIT ${k}`,
      };
    },
  },
  {
    name: "orphans",
    count: (d) => d.labels.length,
    at: (d, i, rng) => {
      const l = d.labels[i]!;
      return {
        question: rng.pick([`${labelWords(l.label)} without any relationships`, `find isolated ${l.label} nodes`]),
        cypher: `MATCH (n:${l.label}) WHERE NOT (n)--() RETURN n LIMIT 25`,
      };
    },
  },
  {
    name: "distinct_values",
    count: (d) => d.labels.reduce((s, l) => s + l.props.length, 0),
    at: (d, i, rng) => {
      const all: [LabelSpec, string][] = [];
      for (const l of d.labels) for (const [p] of l.props) all.push([l, p]);
      const [l, p] = all[i]!;
      return {
        question: rng.pick([`which ${p} values do ${labelWords(l.label)} have`, `list the distinct ${p} of ${labelWords(l.label)}`]),
        cypher: `MATCH (n:${l.label}) RETURN DISTINCT n.${p} AS ${p}`,
      };
    },
  },
];

/** Every (domain, intent family, variant) as one flat index. */
export const INTENT_INDEX: ReadonlyArray<{ domain: Domain; family: IntentFamily; variant: number }> = (() => {
  const out: { domain: Domain; family: IntentFamily; variant: number }[] = [];
  for (const domain of DOMAINS)
    for (const family of INTENTS) for (let v = 0; v < family.count(domain); v++) out.push({ domain, family, variant: v });
  return out;
})();

/** Ways a request is phrased around the bare question. */
export const FRAMES: readonly string[] = [
  "{q}",
  "{q}?",
  "Can you {q}?",
  "please {q}",
  "I need to know: {q}",
  "Quick question, {q}?",
  "Heimdall, {q}",
  "{Q}.",
  "could you tell me {q}",
  "run a query: {q}",
];

export function frame(question: string, rng: Rng): string {
  const f = rng.pick(FRAMES);
  return f.replace("{q}", question).replace("{Q}", question.charAt(0).toUpperCase() + question.slice(1));
}
