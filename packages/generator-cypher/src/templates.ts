// Query families per clause family (the dataset's categories). Each family is a finite grid of slot choices on
// one schema; every slot shows up in the query, so different indices give different queries.
import {
  alias,
  cap,
  chains,
  grid,
  having,
  keyedNodes,
  keyProp,
  labelProps,
  labelPropValues,
  lit,
  named,
  NUMERIC_OPS,
  pairs,
  rels,
  say,
  selfRels,
  type Built,
  type Family,
  type RelEnds,
  type Value,
} from "./lang.js";
import type { LabelDef, PropDef, RelDef, Schema } from "./schemas.js";

/** "v.a, v.b" without repeating a property (Neo4j refuses two result columns with the same name). */
const cols = (v: string, ...keys: string[]): string => [...new Set(keys)].map((k) => `${v}.${k}`).join(", ");

/** Third-person singular of a relationship verb: "know" -> "knows", "are about" -> "is about". */
export function verb3(rel: RelDef): string {
  const [first, ...rest] = rel.verb.split(" ");
  let head = first!;
  if (head === "are") head = "is";
  else if (head === "were") head = "was";
  else if (head === "have") head = "has";
  else if (head.endsWith("ed") || head === "wrote") head = first!;
  else if (/[^aeiou]y$/.test(head)) head = head.slice(0, -1) + "ies";
  else head = head + "s";
  return [head, ...rest].join(" ");
}

const who = (label: LabelDef): string =>
  label.label === "Person" ||
  label.label === "Employee" ||
  label.label === "Customer" ||
  label.label === "Author" ||
  label.label === "Member"
    ? "who"
    : "that";

const LIMITS = [1, 3, 5, 10, 20] as const;
const DIRECTIONS = [
  { dir: "DESC", words: ["highest", "largest", "top"], order: "descending" },
  { dir: "ASC", words: ["lowest", "smallest", "bottom"], order: "ascending" },
] as const;
const EXTRA_LABELS = ["Archived", "Featured", "Flagged", "Inactive", "Reviewed"] as const;

const AGGREGATES = [
  { fn: "avg", words: "average" },
  { fn: "sum", words: "total" },
  { fn: "min", words: "minimum" },
  { fn: "max", words: "maximum" },
] as const;

function numericValuePairs(prop: PropDef): [number, number][] {
  const values = (prop.values as number[]).slice().sort((a, b) => a - b);
  return pairs(values).filter(([a, b]) => a < b);
}

/** Substrings of a string value to use with STARTS WITH / ENDS WITH / CONTAINS. */
function fragment(value: string, op: "STARTS WITH" | "ENDS WITH" | "CONTAINS"): string {
  const n = Math.min(3, Math.max(1, value.length - 1));
  if (op === "STARTS WITH") return value.slice(0, n);
  if (op === "ENDS WITH") return value.slice(-n);
  const mid = Math.max(0, Math.floor((value.length - n) / 2));
  return value.slice(mid, mid + n);
}

/** Amounts that can sensibly grow or shrink by a percentage (not years, ages, ports or ranks). */
const isQuantity = (p: PropDef): boolean =>
  !/year|born|founded|released|hired|joined|since|age|port|priority|position|runways|cores|experience/i.test(`${p.key} ${p.noun}`);

/** Distinct (label, property, operator, fragment) choices: two values may share a prefix ("Berlin", "Bergen"). */
function stringFragments(s: Schema): { x: { label: LabelDef; prop: PropDef }; op: "STARTS WITH" | "ENDS WITH" | "CONTAINS"; f: string }[] {
  const out = new Map<string, { x: { label: LabelDef; prop: PropDef }; op: "STARTS WITH" | "ENDS WITH" | "CONTAINS"; f: string }>();
  for (const x of labelPropValues(s, ["string"]).filter((v) => String(v.value).length >= 3))
    for (const op of ["STARTS WITH", "ENDS WITH", "CONTAINS"] as const) {
      const f = fragment(String(x.value), op);
      out.set(`${x.label.label}.${x.prop.key} ${op} ${f}`, { x, op, f });
    }
  return [...out.values()];
}

export type CategoryName =
  | "match"
  | "where"
  | "relationships"
  | "aggregation"
  | "ordering"
  | "optional_match"
  | "with"
  | "unwind"
  | "create"
  | "merge"
  | "set"
  | "delete"
  | "remove"
  | "shortest_path"
  | "subqueries"
  | "case"
  | "list_comprehension"
  | "parameters"
  | "clauses";

export interface CategoryDef {
  name: CategoryName;
  description: string;
  weight: number;
  families: (schema: Schema) => Family[];
}

const otherProps = (label: LabelDef, types?: readonly PropDef["type"][]): PropDef[] =>
  label.props.filter((p) => p.key !== label.key && (!types || types.includes(p.type)));

// ---------------------------------------------------------------------------------------------------------------

const match = (s: Schema): Family[] => [
  // (:Label {key: value}) RETURN one other property
  grid([keyedNodes(s).flatMap((n) => otherProps(n.label).map((prop) => ({ ...n, prop })))], ([n]) => ({
    questions: [
      `What is the ${n.prop.noun} of ${named(n.label, n.value)}?`,
      `Look up ${named(n.label, n.value)} and return its ${n.prop.noun}.`,
      `Return the ${n.prop.noun} of ${named(n.label, n.value)}.`,
    ],
    cypher: `MATCH (${n.label.v}:${n.label.label} {${n.label.key}: ${lit(n.value)}}) RETURN ${n.label.v}.${n.prop.key}`,
  })),
  // (:Label {prop: value}) RETURN key
  grid([labelPropValues(s, ["string", "int", "float", "bool"], { key: false })], ([x]) => ({
    questions: [
      `Find the ${x.label.plural} ${having(x.prop, x.value)}.`,
      `Which ${x.label.plural} have ${x.prop.noun} ${say(x.value, x.prop)}?`,
      `List every ${x.label.singular} ${having(x.prop, x.value)}, by ${keyProp(x.label).noun}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label} {${x.prop.key}: ${lit(x.value, x.prop)}}) RETURN ${x.label.v}.${x.label.key}`,
  })),
  // whole nodes, two properties
  grid(
    [s.labels.flatMap((label) => label.props.flatMap((p1) => label.props.filter((p2) => p2 !== p1).map((p2) => ({ label, p1, p2 }))))],
    ([x]) => ({
      questions: [
        `List the ${x.p1.noun} and ${x.p2.noun} of every ${x.label.singular}.`,
        `Show each ${x.label.singular}'s ${x.p1.noun} together with its ${x.p2.noun}.`,
        `For all ${x.label.plural}, return ${x.p1.noun} and ${x.p2.noun}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v}.${x.p1.key}, ${x.label.v}.${x.p2.key}`,
    }),
  ),
  // DISTINCT values
  grid([labelProps(s, ["string", "int"], { key: false })], ([x]) => ({
    questions: [
      `What different ${x.prop.noun} values do the ${x.label.plural} have?`,
      `List the distinct ${x.prop.noun}s of all ${x.label.plural}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN DISTINCT ${x.label.v}.${x.prop.key}`,
  })),
];

const where = (s: Schema): Family[] => [
  grid([labelPropValues(s, ["int", "float"]), NUMERIC_OPS], ([x, op]) => ({
    questions: op.words.map((w, i) =>
      i === 0
        ? `Which ${x.label.plural} have a ${x.prop.noun} ${w} ${say(x.value, x.prop)}?`
        : i === 1
          ? `Find ${x.label.plural} whose ${x.prop.noun} is ${w} ${say(x.value, x.prop)}.`
          : `Show me all ${x.label.plural} with ${x.prop.noun} ${w} ${say(x.value, x.prop)}.`,
    ),
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} ${op.op} ${lit(x.value, x.prop)} RETURN ${cols(x.label.v, x.label.key, x.prop.key)}`,
  })),
  grid([stringFragments(s)], ([{ x, op, f }]) => {
    const how = op === "STARTS WITH" ? "starts with" : op === "ENDS WITH" ? "ends with" : "contains";
    return {
      questions: [
        `Find ${x.label.plural} whose ${x.prop.noun} ${how} "${f}".`,
        `Which ${x.label.plural} have a ${x.prop.noun} that ${how} "${f}"?`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} ${op} ${lit(f)} RETURN ${x.label.v}.${x.prop.key}`,
    };
  }),
  grid([labelProps(s, ["int", "float"]).flatMap((x) => numericValuePairs(x.prop).map(([lo, hi]) => ({ ...x, lo, hi })))], ([x]) => ({
    questions: [
      `Which ${x.label.plural} have a ${x.prop.noun} between ${say(x.lo, x.prop)} and ${say(x.hi, x.prop)}?`,
      `Find ${x.label.plural} with ${x.prop.noun} from ${x.lo} to ${x.hi}, inclusive.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} >= ${lit(x.lo, x.prop)} AND ${x.label.v}.${x.prop.key} <= ${lit(x.hi, x.prop)} RETURN ${x.label.v}.${x.label.key}`,
  })),
  grid(
    [labelProps(s, ["string"]).flatMap((x) => pairs(x.prop.values).map(([a, b]) => ({ ...x, a, b }))), ["IN", "OR", "NOT IN"] as const],
    ([x, form]) => ({
      questions:
        form === "NOT IN"
          ? [
              `Find ${x.label.plural} whose ${x.prop.noun} is neither ${say(x.a)} nor ${say(x.b)}.`,
              `Which ${x.label.plural} have a ${x.prop.noun} other than ${say(x.a)} and ${say(x.b)}?`,
            ]
          : [
              `Find ${x.label.plural} whose ${x.prop.noun} is ${say(x.a)} or ${say(x.b)}.`,
              `Which ${x.label.plural} have ${x.prop.noun} ${say(x.a)} or ${say(x.b)}?`,
            ],
      cypher:
        form === "IN"
          ? `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} IN [${lit(x.a)}, ${lit(x.b)}] RETURN ${cols(x.label.v, x.label.key, x.prop.key)}`
          : form === "OR"
            ? `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} = ${lit(x.a)} OR ${x.label.v}.${x.prop.key} = ${lit(x.b)} RETURN ${x.label.v}.${x.label.key}`
            : `MATCH (${x.label.v}:${x.label.label}) WHERE NOT ${x.label.v}.${x.prop.key} IN [${lit(x.a)}, ${lit(x.b)}] RETURN ${x.label.v}.${x.label.key}`,
    }),
  ),
  grid([labelProps(s, ["string", "int", "float", "bool"], { key: false }), [true, false]], ([x, isNull]) => ({
    questions: isNull
      ? [`Which ${x.label.plural} have no ${x.prop.noun} recorded?`, `Find ${x.label.plural} where the ${x.prop.noun} is missing.`]
      : [`Which ${x.label.plural} have a ${x.prop.noun} recorded?`, `Find ${x.label.plural} where the ${x.prop.noun} is known.`],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} IS ${isNull ? "" : "NOT "}NULL RETURN ${x.label.v}.${x.label.key}`,
  })),
  // two conditions on different properties
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label, ["string", "bool"]).flatMap((p1) =>
          p1.values.flatMap((v1) =>
            otherProps(label, ["int", "float"]).flatMap((p2) =>
              (p2.values as number[]).slice(0, 4).map((v2) => ({ label, p1, v1, p2, v2 })),
            ),
          ),
        ),
      ),
      [NUMERIC_OPS[0]!, NUMERIC_OPS[2]!],
    ],
    ([x, op]) => ({
      questions: [
        `Find ${x.label.plural} ${having(x.p1, x.v1)} and with a ${x.p2.noun} ${op.words[0]} ${say(x.v2, x.p2)}.`,
        `Which ${x.label.plural} ${having(x.p1, x.v1)} have a ${x.p2.noun} ${op.words[1]} ${say(x.v2, x.p2)}?`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.p1.key} = ${lit(x.v1, x.p1)} AND ${x.label.v}.${x.p2.key} ${op.op} ${lit(x.v2, x.p2)} RETURN ${x.label.v}.${x.label.key}, ${x.label.v}.${x.p2.key}`,
    }),
  ),
];

const relationships = (s: Schema): Family[] => [
  // outgoing from a named node
  grid([rels(s).flatMap((r) => keyProp(r.from).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `List the ${r.to.plural} that ${named(r.from, value)} ${verb3(r.rel)}.`,
      `Find every ${r.to.singular} that ${named(r.from, value)} ${verb3(r.rel)}.`,
      `Follow the ${r.rel.type} relationships out of ${named(r.from, value)} and return the ${r.to.plural}' ${keyProp(r.to).noun}s.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.b}.${r.to.key}`,
  })),
  // incoming to a named node
  grid([rels(s).flatMap((r) => keyProp(r.to).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `Which ${r.from.plural} ${r.rel.verb} ${named(r.to, value)}?`,
      `Find all ${r.from.plural} ${who(r.from)} ${r.rel.verb} ${named(r.to, value)}.`,
      `Return the ${keyProp(r.from).noun} of each ${r.from.singular} with a ${r.rel.type} relationship to ${named(r.to, value)}.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label} {${r.to.key}: ${lit(value)}}) RETURN ${r.a}.${r.from.key}`,
  })),
  // either direction, same-label relationships
  grid([selfRels(s).flatMap((r) => keyProp(r.from).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `Which ${r.to.plural} are linked to ${named(r.from, value)} by ${r.rel.type}, in either direction?`,
      `Find every ${r.to.singular} connected to ${named(r.from, value)} through a ${r.rel.type} relationship, whichever way it points.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}})-[:${r.rel.type}]-(${r.b}:${r.to.label}) RETURN DISTINCT ${r.b}.${r.to.key}`,
  })),
  // two hops from a named node
  grid([chains(s).flatMap(([r1, r2]) => keyProp(r1.from).values.map((value) => ({ r1, r2, value })))], ([{ r1, r2, value }]) => {
    const end = r2.to;
    const endVar = end.v === r1.from.v ? `${end.v}3` : end.v === r2.from.v ? `${end.v}3` : end.v;
    const mid = r1.to.v === r1.from.v ? `${r1.to.v}2` : r1.to.v;
    const distinct = r1.from.label === end.label ? ` WHERE ${endVar} <> ${r1.from.v}` : "";
    return {
      questions: [
        `Starting from ${named(r1.from, value)}, follow ${r1.rel.type} and then ${r2.rel.type}: which ${end.plural} do you reach?`,
        `Which ${end.plural} are two hops from ${named(r1.from, value)}, going through ${r1.rel.type} then ${r2.rel.type}?`,
      ],
      cypher: `MATCH (${r1.from.v}:${r1.from.label} {${r1.from.key}: ${lit(value)}})-[:${r1.rel.type}]->(${mid}:${r1.to.label})-[:${r2.rel.type}]->(${endVar}:${end.label})${distinct} RETURN DISTINCT ${endVar}.${end.key}`,
    };
  }),
  // variable length
  grid(
    [
      selfRels(s).flatMap((r) => keyProp(r.from).values.map((value) => ({ r, value }))),
      [
        [1, 2],
        [1, 3],
        [2, 3],
        [2, 4],
        [1, 5],
      ] as const,
    ],
    ([{ r, value }, [lo, hi]]) => ({
      questions: [
        `Which ${r.to.plural} can be reached from ${named(r.from, value)} in ${lo} to ${hi} ${r.rel.type} steps?`,
        `Find the ${r.to.plural} between ${lo} and ${hi} ${r.rel.type} hops away from ${named(r.from, value)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}})-[:${r.rel.type}*${lo}..${hi}]->(${r.b}:${r.to.label}) RETURN DISTINCT ${r.b}.${r.to.key}`,
    }),
  ),
  // relationship property filter and return
  grid(
    [rels(s).flatMap((r) => (r.rel.props ?? []).flatMap((prop) => prop.values.map((value) => ({ r, prop, value }))))],
    ([{ r, prop, value }]) => ({
      questions: [
        `Which ${r.from.plural} ${r.rel.verb} which ${r.to.plural}, where the ${r.rel.type} ${prop.noun} is ${say(value, prop)}?`,
        `List pairs of ${r.from.singular} and ${r.to.singular} joined by ${r.rel.type} with ${prop.noun} ${say(value, prop)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label})-[r:${r.rel.type}]->(${r.b}:${r.to.label}) WHERE r.${prop.key} = ${lit(value, prop)} RETURN ${r.a}.${r.from.key}, ${r.b}.${r.to.key}`,
    }),
  ),
  grid(
    [rels(s).flatMap((r) => (r.rel.props ?? []).flatMap((prop) => keyProp(r.from).values.map((value) => ({ r, prop, value }))))],
    ([{ r, prop, value }]) => ({
      questions: [
        `For each ${r.to.singular} that ${named(r.from, value)} ${verb3(r.rel)}, show the ${prop.noun} of the relationship.`,
        `Return the ${r.to.plural} linked from ${named(r.from, value)} by ${r.rel.type}, with the ${prop.noun}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}})-[r:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.b}.${r.to.key}, r.${prop.key}`,
    }),
  ),
];

const aggregation = (s: Schema): Family[] => [
  grid([rels(s), ["from", "to"] as const], ([r, side]) => {
    const [g, other] = side === "from" ? [r.from, r.to] : [r.to, r.from];
    const gv = side === "from" ? r.a : r.b;
    const ov = side === "from" ? r.b : r.a;
    const name = alias(other.plural);
    return {
      questions:
        side === "from"
          ? [
              `How many ${r.to.plural} is each ${r.from.singular} linked to by ${r.rel.type}?`,
              `Count the outgoing ${r.rel.type} relationships of each ${r.from.singular}.`,
            ]
          : [
              `For each ${r.to.singular}, how many ${r.from.plural} ${r.rel.verb} it?`,
              `Count the ${r.from.plural} ${who(r.from)} ${r.rel.verb} each ${r.to.singular}.`,
            ],
      cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${gv}.${g.key}, count(${ov}) AS ${name}`,
    };
  }),
  grid([labelPropValues(s, ["string", "bool"], { key: false })], ([x]) => ({
    questions: [
      `How many ${x.label.plural} are there ${having(x.prop, x.value)}?`,
      `Count the ${x.label.plural} ${having(x.prop, x.value)}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} = ${lit(x.value, x.prop)} RETURN count(${x.label.v}) AS ${alias("number of", x.label.plural)}`,
  })),
  grid([labelProps(s, ["int", "float"]), AGGREGATES], ([x, agg]) => ({
    questions: [
      `What is the ${agg.words} ${x.prop.noun} of all ${x.label.plural}?`,
      `Compute the ${agg.words} ${x.prop.noun} across ${x.label.plural}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${agg.fn}(${x.label.v}.${x.prop.key}) AS ${alias(agg.words, x.prop.noun)}`,
  })),
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label, ["int", "float"]).flatMap((num) => otherProps(label, ["string", "bool"]).map((by) => ({ label, num, by }))),
      ),
      AGGREGATES,
    ],
    ([x, agg]) => ({
      questions: [
        `What is the ${agg.words} ${x.num.noun} of ${x.label.plural} for each ${x.by.noun}?`,
        `Group ${x.label.plural} by ${x.by.noun} and show the ${agg.words} ${x.num.noun} of each group.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v}.${x.by.key}, ${agg.fn}(${x.label.v}.${x.num.key}) AS ${alias(agg.words, x.num.noun)}`,
    }),
  ),
  grid([rels(s).flatMap((r) => keyProp(r.from).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `Collect into one list the ${keyProp(r.to).noun}s of the ${r.to.plural} that ${named(r.from, value)} ${verb3(r.rel)}.`,
      `Give me a list of every ${r.to.singular} linked from ${named(r.from, value)} by ${r.rel.type}, as a single collection.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN collect(${r.b}.${r.to.key}) AS ${alias(r.to.plural)}`,
  })),
  grid([chains(s).filter(([r1, r2]) => r1.from.label !== r2.to.label)], ([[r1, r2]]) => {
    const end = r2.to;
    const mid = r1.to.v === r1.from.v ? `${r1.to.v}2` : r1.to.v;
    return {
      questions: [
        `For each ${r1.from.singular}, how many distinct ${end.plural} are reached through ${r1.rel.type} and then ${r2.rel.type}?`,
        `Count the different ${end.plural} each ${r1.from.singular} reaches via ${r1.rel.type} then ${r2.rel.type}.`,
      ],
      cypher: `MATCH (${r1.from.v}:${r1.from.label})-[:${r1.rel.type}]->(${mid}:${r1.to.label})-[:${r2.rel.type}]->(${end.v}:${end.label}) RETURN ${r1.from.v}.${r1.from.key}, count(DISTINCT ${end.v}) AS ${alias("distinct", end.plural)}`,
    };
  }),
  grid(
    [
      rels(s).flatMap((r) => (r.rel.props ?? []).filter((p) => p.type === "int" || p.type === "float").map((prop) => ({ r, prop }))),
      AGGREGATES,
    ],
    ([{ r, prop }, agg]) => ({
      questions: [
        `For each ${r.to.singular}, what is the ${agg.words} ${prop.noun} on its incoming ${r.rel.type} relationships?`,
        `Show the ${agg.words} ${r.rel.type} ${prop.noun} per ${r.to.singular}.`,
      ],
      cypher: `MATCH (:${r.from.label})-[r:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.b}.${r.to.key}, ${agg.fn}(r.${prop.key}) AS ${alias(agg.words, prop.noun)}`,
    }),
  ),
];

const ordering = (s: Schema): Family[] => [
  grid([labelProps(s, ["int", "float"]), DIRECTIONS, LIMITS], ([x, d, n]) => ({
    questions: [
      n === 1
        ? `Which ${x.label.singular} has the ${d.words[0]} ${x.prop.noun}?`
        : `Which ${n} ${x.label.plural} have the ${d.words[0]} ${x.prop.noun}?`,
      `List the ${d.words[2]} ${n} ${x.label.plural} by ${x.prop.noun}.`,
      `Sort ${x.label.plural} by ${x.prop.noun} in ${d.order} order and keep the first ${n}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${cols(x.label.v, x.label.key, x.prop.key)} ORDER BY ${x.label.v}.${x.prop.key} ${d.dir} LIMIT ${n}`,
  })),
  grid([labelProps(s, ["string", "int", "float"]), [10, 20, 50] as const, [2, 3, 4, 5] as const], ([x, size, page]) => ({
    questions: [
      `Show page ${page} of the ${x.label.plural}, ${size} per page, sorted by ${x.prop.noun}.`,
      `Sorting ${x.label.plural} by ${x.prop.noun}, skip the first ${(page - 1) * size} and return the next ${size}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${cols(x.label.v, x.label.key, x.prop.key)} ORDER BY ${x.label.v}.${x.prop.key} SKIP ${(page - 1) * size} LIMIT ${size}`,
  })),
  grid([rels(s), LIMITS], ([r, n]) => {
    const name = alias(r.to.plural);
    return {
      questions: [
        `Which ${n === 1 ? r.from.singular : `${n} ${r.from.plural}`} ${r.rel.verb} the most ${r.to.plural}?`.replace(/Which 1 /, "Which "),
        `Rank ${r.from.plural} by how many ${r.to.plural} they are linked to by ${r.rel.type} and return the top ${n}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.a}.${r.from.key}, count(${r.b}) AS ${name} ORDER BY ${name} DESC LIMIT ${n}`,
    };
  }),
  grid(
    [
      s.labels.flatMap((label) => label.props.flatMap((p1) => label.props.filter((p2) => p2 !== p1).map((p2) => ({ label, p1, p2 })))),
      DIRECTIONS,
    ],
    ([x, d]) => ({
      questions: [
        `Sort the ${x.label.plural} by ${x.p1.noun} (${d.order}), breaking ties by ${x.p2.noun}.`,
        `Order ${x.label.plural} by ${x.p1.noun} ${d.order}, then by ${x.p2.noun}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v}.${x.p1.key}, ${x.label.v}.${x.p2.key} ORDER BY ${x.label.v}.${x.p1.key} ${d.dir}, ${x.label.v}.${x.p2.key}`,
    }),
  ),
];

const optionalMatch = (s: Schema): Family[] => [
  grid([rels(s)], ([r]) => ({
    questions: [
      `List every ${r.from.singular} with the number of ${r.to.plural} it is linked to by ${r.rel.type}, including those with none.`,
      `For all ${r.from.plural}, even ones without any ${r.rel.type} relationship, count their ${r.to.plural}.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label}) OPTIONAL MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.a}.${r.from.key}, count(${r.b}) AS ${alias(r.to.plural)}`,
  })),
  grid([rels(s).flatMap((r) => keyProp(r.from).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `Show ${named(r.from, value)} and any ${r.to.plural} it is linked to by ${r.rel.type}; keep the ${r.from.singular} even if there are none.`,
      `Return ${named(r.from, value)} together with its ${r.rel.type} ${r.to.plural}, or null when it has none.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}}) OPTIONAL MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.a}.${r.from.key}, ${r.b}.${r.to.key}`,
  })),
  grid([rels(s).flatMap((r) => ["none", "unknown", "n/a", "-"].map((fallback) => ({ r, fallback })))], ([{ r, fallback }]) => ({
    questions: [
      `For each ${r.to.singular}, show one ${r.from.singular} linked to it by ${r.rel.type}, or "${fallback}" if there is none.`,
      `List ${r.to.plural} with a ${r.rel.type} ${r.from.singular}'s ${keyProp(r.from).noun}, writing "${fallback}" when missing.`,
    ],
    cypher: `MATCH (${r.b}:${r.to.label}) OPTIONAL MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}) RETURN ${r.b}.${r.to.key}, coalesce(${r.a}.${r.from.key}, ${lit(fallback)}) AS ${alias(r.from.singular)}`,
  })),
];

const withClause = (s: Schema): Family[] => [
  grid([rels(s), [1, 2, 3, 5, 10] as const, [">", ">="] as const], ([r, n, op]) => ({
    questions: [
      `Which ${r.from.plural} are linked by ${r.rel.type} to ${op === ">" ? "more than" : "at least"} ${n} ${r.to.plural}? Show the count.`,
      `Find ${r.from.plural} with ${op === ">" ? "over" : "no fewer than"} ${n} ${r.rel.type} ${r.to.plural}, and how many each has.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label}) WITH ${r.a}, count(${r.b}) AS n WHERE n ${op} ${n} RETURN ${r.a}.${r.from.key}, n`,
  })),
  grid(
    [rels(s).flatMap((r) => otherProps(r.to, ["int", "float"]).map((prop) => ({ r, prop }))), [1, 3, 5] as const, DIRECTIONS],
    ([{ r, prop }, k, d]) => ({
      questions: [
        `Take the ${k} ${r.to.plural} with the ${d.words[0]} ${prop.noun} and show which ${r.from.plural} ${r.rel.verb} them.`,
        `First pick the ${d.words[2]} ${k} ${r.to.plural} by ${prop.noun}, then find their ${r.rel.type} ${r.from.plural}.`,
      ],
      cypher: `MATCH (${r.b}:${r.to.label}) WITH ${r.b} ORDER BY ${r.b}.${prop.key} ${d.dir} LIMIT ${k} MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}) RETURN ${r.b}.${r.to.key}, ${r.a}.${r.from.key}`,
    }),
  ),
  grid([labelProps(s, ["int", "float"]), ["above", "below"] as const], ([x, side]) => ({
    questions: [
      `Which ${x.label.plural} have a ${x.prop.noun} ${side} the average?`,
      `Compute the average ${x.prop.noun} of ${x.label.plural}, then list those ${side} it.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WITH avg(${x.label.v}.${x.prop.key}) AS average MATCH (other:${x.label.label}) WHERE other.${x.prop.key} ${side === "above" ? ">" : "<"} average RETURN other.${x.label.key}, other.${x.prop.key}`,
  })),
  grid([rels(s), [2, 3, 4] as const], ([r, n]) => ({
    questions: [
      `Which ${r.to.plural} have at least ${n} ${r.from.plural} linked to them by ${r.rel.type}? List those ${r.from.plural} too.`,
      `Group the ${r.from.plural} by the ${r.to.singular} they are linked to through ${r.rel.type}, and keep groups of ${n} or more.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label}) WITH ${r.b}, collect(${r.a}.${r.from.key}) AS names WHERE size(names) >= ${n} RETURN ${r.b}.${r.to.key}, names`,
  })),
];

const unwind = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) =>
        pairs(keyProp(label).values).flatMap(([a, b]) => otherProps(label).map((prop) => ({ label, a, b, prop }))),
      ),
    ],
    ([x]) => ({
      questions: [
        `For the ${x.label.plural} ${say(x.a)} and ${say(x.b)}, look each one up and return its ${x.prop.noun}; use UNWIND over the list.`,
        `Given the list [${say(x.a)}, ${say(x.b)}], find each ${x.label.singular} by ${keyProp(x.label).noun} and show its ${x.prop.noun}.`,
      ],
      cypher: `UNWIND [${lit(x.a)}, ${lit(x.b)}] AS ${x.label.key}Value MATCH (${x.label.v}:${x.label.label} {${x.label.key}: ${x.label.key}Value}) RETURN ${cols(x.label.v, x.label.key, x.prop.key)}`,
    }),
  ),
  grid([labelProps(s, ["string", "int"], { key: false }), ["count", "list"] as const], ([x, mode]) => ({
    questions:
      mode === "count"
        ? [
            `Collect all ${x.label.plural}' ${x.prop.noun}s into a list, unwind it, and count how often each value occurs.`,
            `Using collect and UNWIND, count the ${x.label.plural} per ${x.prop.noun}.`,
          ]
        : [
            `Collect the distinct ${x.prop.noun}s of the ${x.label.plural}, then unwind them into one row each, sorted.`,
            `Turn the set of ${x.label.singular} ${x.prop.noun}s into rows with UNWIND, in order.`,
          ],
    cypher:
      mode === "count"
        ? `MATCH (${x.label.v}:${x.label.label}) WITH collect(${x.label.v}.${x.prop.key}) AS values UNWIND values AS value RETURN value, count(*) AS occurrences`
        : `MATCH (${x.label.v}:${x.label.label}) WITH collect(DISTINCT ${x.label.v}.${x.prop.key}) AS values UNWIND values AS value RETURN value ORDER BY value`,
  })),
  grid(
    [
      s.labels.flatMap((label) => {
        const other = otherProps(label)[0];
        if (!other) return [];
        const keys = keyProp(label).values;
        return pairs(keys).flatMap(([a, b]) =>
          other.values
            .slice(0, 3)
            .map((va) => ({ label, other, a, b, va, vb: other.values[(other.values.indexOf(va) + 1) % other.values.length]! })),
        );
      }),
    ],
    ([x]) => ({
      questions: [
        `Create two ${x.label.plural} from a list of maps: ${say(x.a)} with ${x.other.noun} ${say(x.va, x.other)}, and ${say(x.b)} with ${x.other.noun} ${say(x.vb, x.other)}.`,
        `Using UNWIND over a list of rows, create the ${x.label.plural} ${say(x.a)} (${x.other.noun} ${say(x.va, x.other)}) and ${say(x.b)} (${x.other.noun} ${say(x.vb, x.other)}).`,
      ],
      cypher: `UNWIND [{${x.label.key}: ${lit(x.a)}, ${x.other.key}: ${lit(x.va, x.other)}}, {${x.label.key}: ${lit(x.b)}, ${x.other.key}: ${lit(x.vb, x.other)}}] AS row CREATE (${x.label.v}:${x.label.label} {${x.label.key}: row.${x.label.key}, ${x.other.key}: row.${x.other.key}})`,
    }),
  ),
];

const create = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) => {
        const others = otherProps(label);
        return keyProp(label).values.flatMap((key) =>
          others.flatMap((p) => p.values.slice(0, 3).map((value) => ({ label, key, p, value }))),
        );
      }),
    ],
    ([x]) => ({
      questions: [
        `Create a ${x.label.singular} with ${keyProp(x.label).noun} ${say(x.key)} and ${x.p.noun} ${say(x.value, x.p)}.`,
        `Add a new ${x.label.singular} called ${say(x.key)} whose ${x.p.noun} is ${say(x.value, x.p)}, and return it.`,
      ],
      cypher: `CREATE (${x.label.v}:${x.label.label} {${x.label.key}: ${lit(x.key)}, ${x.p.key}: ${lit(x.value, x.p)}}) RETURN ${x.label.v}`,
    }),
  ),
  grid(
    [
      rels(s).flatMap((r) =>
        keyProp(r.from).values.flatMap((va) =>
          keyProp(r.to)
            .values.filter((vb) => r.from !== r.to || vb !== va)
            .map((vb) => ({ r, va, vb })),
        ),
      ),
    ],
    ([{ r, va, vb }]) => ({
      questions: [
        `Record that ${named(r.from, va)} ${verb3(r.rel)} ${named(r.to, vb)}.`,
        `Create a ${r.rel.type} relationship from ${named(r.from, va)} to ${named(r.to, vb)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}}) MATCH (${r.b}:${r.to.label} {${r.to.key}: ${lit(vb)}}) CREATE (${r.a})-[:${r.rel.type}]->(${r.b})`,
    }),
  ),
  grid(
    [
      rels(s).flatMap((r) =>
        keyProp(r.from)
          .values.slice(0, 4)
          .flatMap((va) =>
            keyProp(r.to)
              .values.filter((vb) => vb !== va)
              .map((vb) => ({ r, va, vb })),
          ),
      ),
    ],
    ([{ r, va, vb }]) => ({
      questions: [
        `Create a new ${r.from.singular} ${say(va)} and a new ${r.to.singular} ${say(vb)}, joined by ${r.rel.type}, in one statement.`,
        `In a single CREATE, add ${r.from.singular} ${say(va)} with a ${r.rel.type} relationship to a new ${r.to.singular} ${say(vb)}.`,
      ],
      cypher: `CREATE (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[:${r.rel.type}]->(${r.b}:${r.to.label} {${r.to.key}: ${lit(vb)}})`,
    }),
  ),
];

const merge = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) =>
        keyProp(label).values.flatMap((key) =>
          otherProps(label).flatMap((p) => p.values.slice(0, 3).map((value) => ({ label, key, p, value }))),
        ),
      ),
    ],
    ([x]) => ({
      questions: [
        `Make sure ${named(x.label, x.key)} exists; if it has to be created, set its ${x.p.noun} to ${say(x.value, x.p)}.`,
        `Get or create the ${x.label.singular} ${say(x.key)}, giving it ${x.p.noun} ${say(x.value, x.p)} only when it is new.`,
      ],
      cypher: `MERGE (${x.label.v}:${x.label.label} {${x.label.key}: ${lit(x.key)}}) ON CREATE SET ${x.label.v}.${x.p.key} = ${lit(x.value, x.p)} RETURN ${x.label.v}`,
    }),
  ),
  grid([keyedNodes(s), ["seenCount", "visits", "lookups"] as const], ([n, counter]) => ({
    questions: [
      `Upsert ${named(n.label, n.value)}: start its ${counter} at 1 when created, otherwise add 1.`,
      `Merge ${named(n.label, n.value)} and keep a ${counter} counter: 1 on create, incremented on match.`,
    ],
    cypher: `MERGE (${n.label.v}:${n.label.label} {${n.label.key}: ${lit(n.value)}}) ON CREATE SET ${n.label.v}.${counter} = 1 ON MATCH SET ${n.label.v}.${counter} = ${n.label.v}.${counter} + 1 RETURN ${n.label.v}.${counter}`,
  })),
  grid(
    [
      rels(s).flatMap((r) =>
        keyProp(r.from).values.flatMap((va) =>
          keyProp(r.to)
            .values.filter((vb) => r.from !== r.to || vb !== va)
            .map((vb) => ({ r, va, vb })),
        ),
      ),
    ],
    ([{ r, va, vb }]) => ({
      questions: [
        `Link ${named(r.from, va)} to ${named(r.to, vb)} with ${r.rel.type}, without creating a duplicate if the link already exists.`,
        `Ensure there is exactly one ${r.rel.type} relationship from ${named(r.from, va)} to ${named(r.to, vb)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}}) MATCH (${r.b}:${r.to.label} {${r.to.key}: ${lit(vb)}}) MERGE (${r.a})-[:${r.rel.type}]->(${r.b})`,
    }),
  ),
];

const set = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) =>
        keyProp(label).values.flatMap((key) => otherProps(label).flatMap((p) => p.values.map((value) => ({ label, key, p, value })))),
      ),
    ],
    ([x]) => ({
      questions: [
        `Set the ${x.p.noun} of ${named(x.label, x.key)} to ${say(x.value, x.p)}.`,
        `Update ${named(x.label, x.key)} so its ${x.p.noun} becomes ${say(x.value, x.p)}.`,
        `Change ${say(x.key)}'s ${x.p.noun} to ${say(x.value, x.p)} and return the ${x.label.singular}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label} {${x.label.key}: ${lit(x.key)}}) SET ${x.label.v}.${x.p.key} = ${lit(x.value, x.p)} RETURN ${x.label.v}`,
    }),
  ),
  grid([labelPropValues(s, ["string", "bool", "int"], { key: false }), EXTRA_LABELS], ([x, extra]) => ({
    questions: [
      `Add the label ${extra} to every ${x.label.singular} ${having(x.prop, x.value)}.`,
      `Tag all ${x.label.plural} ${having(x.prop, x.value)} as ${extra}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} = ${lit(x.value, x.prop)} SET ${x.label.v}:${extra}`,
  })),
  grid(
    [
      s.labels.flatMap((label) =>
        keyProp(label).values.flatMap((key) =>
          otherProps(label, ["int", "float"])
            .filter(isQuantity)
            .map((p) => ({ label, key, p })),
        ),
      ),
      [5, 10, 15, 20, 25] as const,
      ["raise", "cut"] as const,
    ],
    ([x, pct, how]) => ({
      questions: [
        `${how === "raise" ? "Increase" : "Decrease"} the ${x.p.noun} of ${named(x.label, x.key)} by ${pct} percent.`,
        `${cap(how)} ${say(x.key)}'s ${x.p.noun} by ${pct}%.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label} {${x.label.key}: ${lit(x.key)}}) SET ${x.label.v}.${x.p.key} = ${x.label.v}.${x.p.key} * ${how === "raise" ? (1 + pct / 100).toFixed(2) : (1 - pct / 100).toFixed(2)} RETURN ${x.label.v}.${x.p.key}`,
    }),
  ),
  grid(
    [
      s.labels.flatMap((label) => {
        const ps = otherProps(label);
        return keyProp(label).values.flatMap((key) =>
          pairs(ps).flatMap(([p1, p2]) =>
            p1.values.slice(0, 2).flatMap((v1) => p2.values.slice(0, 2).map((v2) => ({ label, key, p1, v1, p2, v2 }))),
          ),
        );
      }),
    ],
    ([x]) => ({
      questions: [
        `Update ${named(x.label, x.key)} with ${x.p1.noun} ${say(x.v1, x.p1)} and ${x.p2.noun} ${say(x.v2, x.p2)}, keeping its other properties.`,
        `Merge the map {${x.p1.key}: ${say(x.v1)}, ${x.p2.key}: ${say(x.v2)}} into the properties of ${named(x.label, x.key)}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label} {${x.label.key}: ${lit(x.key)}}) SET ${x.label.v} += {${x.p1.key}: ${lit(x.v1, x.p1)}, ${x.p2.key}: ${lit(x.v2, x.p2)}}`,
    }),
  ),
  grid(
    [
      rels(s).flatMap((r) =>
        (r.rel.props ?? []).flatMap((prop) =>
          prop.values.flatMap((value) =>
            keyProp(r.from)
              .values.slice(0, 5)
              .map((va) => ({ r, prop, value, va })),
          ),
        ),
      ),
    ],
    ([{ r, prop, value, va }]) => ({
      questions: [
        `Set the ${prop.noun} to ${say(value, prop)} on every ${r.rel.type} relationship of ${named(r.from, va)}.`,
        `For all ${r.rel.type} links going out of ${named(r.from, va)}, make the ${prop.noun} ${say(value, prop)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[r:${r.rel.type}]->(:${r.to.label}) SET r.${prop.key} = ${lit(value, prop)}`,
    }),
  ),
];

const del = (s: Schema): Family[] => [
  grid(
    [
      rels(s).flatMap((r) =>
        keyProp(r.from).values.flatMap((va) =>
          keyProp(r.to)
            .values.filter((vb) => r.from !== r.to || vb !== va)
            .map((vb) => ({ r, va, vb })),
        ),
      ),
    ],
    ([{ r, va, vb }]) => ({
      questions: [
        `Delete the ${r.rel.type} relationship from ${named(r.from, va)} to ${named(r.to, vb)}.`,
        `Remove the link saying that ${named(r.from, va)} ${verb3(r.rel)} ${named(r.to, vb)}, keeping both nodes.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[r:${r.rel.type}]->(${r.b}:${r.to.label} {${r.to.key}: ${lit(vb)}}) DELETE r`,
    }),
  ),
  grid([keyedNodes(s)], ([n]) => ({
    questions: [
      `Delete ${named(n.label, n.value)} and all of its relationships.`,
      `Remove ${named(n.label, n.value)} from the graph completely.`,
    ],
    cypher: `MATCH (${n.label.v}:${n.label.label} {${n.label.key}: ${lit(n.value)}}) DETACH DELETE ${n.label.v}`,
  })),
  grid([labelPropValues(s, ["string", "bool", "int", "float"], { key: false })], ([x]) => ({
    questions: [
      `Delete every ${x.label.singular} ${having(x.prop, x.value)}, along with its relationships.`,
      `Purge all ${x.label.plural} with ${x.prop.noun} ${say(x.value, x.prop)}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} = ${lit(x.value, x.prop)} DETACH DELETE ${x.label.v}`,
  })),
  grid([labelPropValues(s, ["int", "float"], { key: false }), ["<", ">"] as const], ([x, op]) => ({
    questions: [
      `Delete all ${x.label.plural} whose ${x.prop.noun} is ${op === "<" ? "below" : "above"} ${say(x.value, x.prop)}, relationships included.`,
      `Remove the ${x.label.plural} with a ${x.prop.noun} ${op === "<" ? "less" : "greater"} than ${say(x.value, x.prop)}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} ${op} ${lit(x.value, x.prop)} DETACH DELETE ${x.label.v}`,
  })),
  grid([rels(s).flatMap((r) => keyProp(r.from).values.map((va) => ({ r, va })))], ([{ r, va }]) => ({
    questions: [
      `Remove every ${r.rel.type} relationship going out of ${named(r.from, va)}.`,
      `Clear all of ${say(va)}'s outgoing ${r.rel.type} links.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[r:${r.rel.type}]->() DELETE r`,
  })),
];

const remove = (s: Schema): Family[] => [
  grid([s.labels.flatMap((label) => keyProp(label).values.flatMap((key) => otherProps(label).map((p) => ({ label, key, p }))))], ([x]) => ({
    questions: [
      `Remove the ${x.p.noun} property from ${named(x.label, x.key)}.`,
      `Erase the ${x.p.noun} of ${named(x.label, x.key)} and return the ${x.label.singular}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label} {${x.label.key}: ${lit(x.key)}}) REMOVE ${x.label.v}.${x.p.key} RETURN ${x.label.v}`,
  })),
  grid([s.labels, EXTRA_LABELS, ["all", "count"] as const], ([label, extra, mode]) => ({
    questions:
      mode === "all"
        ? [`Take the ${extra} label off every ${label.singular} that has it.`, `Remove the ${extra} label from all ${label.plural}.`]
        : [
            `Remove the ${extra} label from all ${label.plural} and report how many were changed.`,
            `Strip ${extra} from the ${label.plural} carrying it and count them.`,
          ],
    cypher:
      mode === "all"
        ? `MATCH (${label.v}:${label.label}:${extra}) REMOVE ${label.v}:${extra}`
        : `MATCH (${label.v}:${label.label}:${extra}) REMOVE ${label.v}:${extra} RETURN count(${label.v}) AS changed`,
  })),
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label).flatMap((drop) =>
          otherProps(label)
            .filter((p) => p !== drop)
            .flatMap((cond) => cond.values.slice(0, 3).map((value) => ({ label, drop, cond, value }))),
        ),
      ),
    ],
    ([x]) => ({
      questions: [
        `For the ${x.label.plural} ${having(x.cond, x.value)}, remove their ${x.drop.noun}.`,
        `Drop the ${x.drop.noun} property from every ${x.label.singular} with ${x.cond.noun} ${say(x.value, x.cond)}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.cond.key} = ${lit(x.value, x.cond)} REMOVE ${x.label.v}.${x.drop.key}`,
    }),
  ),
];

const shortestPath = (s: Schema): Family[] => {
  const ends = selfRels(s).flatMap((r) => pairs(keyProp(r.from).values).map(([va, vb]) => ({ r, va, vb })));
  return [
    grid([ends, [4, 6, 10] as const, ["length", "nodes", "path"] as const, ["any", "out"] as const], ([{ r, va, vb }, hops, ret, dir]) => {
      const arrow = dir === "out" ? "->" : "-";
      const returned =
        ret === "length" ? "length(path) AS hops" : ret === "nodes" ? `[n IN nodes(path) | n.${r.from.key}] AS route` : "path";
      const what =
        ret === "length" ? "how many hops it takes" : ret === "nodes" ? `the ${keyProp(r.from).noun}s along the way` : "the path itself";
      const way = dir === "out" ? `following ${r.rel.type} in its direction` : `over ${r.rel.type} in either direction`;
      return {
        questions: [
          `What is the shortest path from ${named(r.from, va)} to ${named(r.to, vb)}, ${way}, up to ${hops} hops? Return ${what}.`,
          `Find the shortest ${r.rel.type} route (at most ${hops} steps, ${dir === "out" ? "directed" : "undirected"}) between ${say(va)} and ${say(vb)} and give ${what}.`,
        ],
        cypher: `MATCH path = shortestPath((${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[:${r.rel.type}*..${hops}]${arrow}(${r.b}:${r.to.label} {${r.to.key}: ${lit(vb)}})) RETURN ${returned}`,
      };
    }),
    grid([ends, [5, 8] as const], ([{ r, va, vb }, hops]) => ({
      questions: [
        `List all shortest ${r.rel.type} paths between ${named(r.from, va)} and ${named(r.to, vb)}, up to ${hops} hops.`,
        `Return every shortest path (max ${hops} steps) that connects ${say(va)} and ${say(vb)} through ${r.rel.type}.`,
      ],
      cypher: `MATCH path = allShortestPaths((${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[:${r.rel.type}*..${hops}]-(${r.b}:${r.to.label} {${r.to.key}: ${lit(vb)}})) RETURN path`,
    })),
  ];
};

const subqueries = (s: Schema): Family[] => [
  grid([rels(s), ["exists", "not"] as const, ["from", "to"] as const], ([r, mode, side]) => {
    const [label, v, pattern, otherLabel] =
      side === "from"
        ? [r.from, r.a, `(${r.a})-[:${r.rel.type}]->(:${r.to.label})`, r.to]
        : [r.to, r.b, `(:${r.from.label})-[:${r.rel.type}]->(${r.b})`, r.from];
    return {
      questions:
        mode === "exists"
          ? [
              `Which ${label.plural} have at least one ${r.rel.type} relationship ${side === "from" ? "to a" : "from a"} ${otherLabel.singular}? Use an EXISTS subquery.`,
              `Find ${label.plural} for which a ${r.rel.type} link ${side === "from" ? "to" : "from"} some ${otherLabel.singular} exists.`,
            ]
          : [
              `Which ${label.plural} have no ${r.rel.type} relationship ${side === "from" ? "to any" : "from any"} ${otherLabel.singular}?`,
              `Find the ${label.plural} without a single ${r.rel.type} link ${side === "from" ? "to" : "from"} a ${otherLabel.singular}.`,
            ],
      cypher: `MATCH (${v}:${label.label}) WHERE ${mode === "not" ? "NOT " : ""}EXISTS { ${pattern} } RETURN ${v}.${label.key}`,
    };
  }),
  grid(
    [
      rels(s).flatMap((r) =>
        otherProps(r.to, ["string", "int"]).flatMap((prop) => prop.values.slice(0, 4).map((value) => ({ r, prop, value }))),
      ),
    ],
    ([{ r, prop, value }]) => ({
      questions: [
        `Which ${r.from.plural} ${r.rel.verb} some ${r.to.singular} ${having(prop, value)}?`,
        `Find ${r.from.plural} with a ${r.rel.type} relationship to a ${r.to.singular} ${having(prop, value)}, using EXISTS.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label}) WHERE EXISTS { MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) WHERE ${r.b}.${prop.key} = ${lit(value, prop)} } RETURN ${r.a}.${r.from.key}`,
    }),
  ),
  grid([rels(s), [0, 1, 2, 3, 5] as const, [">", "=", "<"] as const], ([r, n, op]) => ({
    questions: [
      `Which ${r.from.plural} have ${op === ">" ? "more than" : op === "=" ? "exactly" : "fewer than"} ${n} outgoing ${r.rel.type} relationships? Use a COUNT subquery.`,
      `List ${r.from.plural} whose number of ${r.rel.type} ${r.to.plural} is ${op === ">" ? "above" : op === "=" ? "equal to" : "below"} ${n}.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label}) WHERE COUNT { (${r.a})-[:${r.rel.type}]->(:${r.to.label}) } ${op} ${n} RETURN ${r.a}.${r.from.key}`,
  })),
  grid([rels(s), DIRECTIONS, LIMITS], ([r, d, n]) => ({
    questions: [
      `Show each ${r.from.singular} with its number of ${r.rel.type} ${r.to.plural}, computed with a COUNT subquery, ${d.words[0]} first, top ${n}.`,
      `Using COUNT { }, rank ${r.from.plural} by ${r.rel.type} count (${d.order}) and keep ${n}.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label}) RETURN ${r.a}.${r.from.key}, COUNT { (${r.a})-[:${r.rel.type}]->() } AS ${alias(r.rel.type, "count")} ORDER BY ${alias(r.rel.type, "count")} ${d.dir} LIMIT ${n}`,
  })),
];

const BUCKET_WORDS = [
  ["low", "medium", "high"],
  ["small", "moderate", "large"],
  ["cheap", "mid-range", "premium"],
  ["early", "middle", "late"],
] as const;

const caseExpr = (s: Schema): Family[] => [
  grid(
    [labelProps(s, ["int", "float"]).flatMap((x) => numericValuePairs(x.prop).map(([lo, hi]) => ({ ...x, lo, hi }))), BUCKET_WORDS],
    ([x, words]) => ({
      questions: [
        `Label each ${x.label.singular} as ${words[0]} (${x.prop.noun} under ${x.lo}), ${words[1]} (under ${x.hi}) or ${words[2]} (otherwise).`,
        `Put the ${x.label.plural} into three ${x.prop.noun} bands: below ${x.lo} is "${words[0]}", below ${x.hi} is "${words[1]}", the rest "${words[2]}".`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v}.${x.label.key}, CASE WHEN ${x.label.v}.${x.prop.key} < ${lit(x.lo, x.prop)} THEN ${lit(words[0])} WHEN ${x.label.v}.${x.prop.key} < ${lit(x.hi, x.prop)} THEN ${lit(words[1])} ELSE ${lit(words[2])} END AS band`,
    }),
  ),
  grid(
    [
      labelProps(s, ["string"], { key: false }).flatMap((x) => pairs(x.prop.values).map(([a, b]) => ({ ...x, a, b }))),
      ["yes/no", "score"] as const,
    ],
    ([x, kind]) => ({
      questions:
        kind === "yes/no"
          ? [
              `For each ${x.label.singular}, say "yes" if its ${x.prop.noun} is ${say(x.a)}, "maybe" if it is ${say(x.b)}, and "no" otherwise.`,
              `Map the ${x.prop.noun} of every ${x.label.singular} to yes (${say(x.a)}), maybe (${say(x.b)}) or no.`,
            ]
          : [
              `Score each ${x.label.singular}: 2 points if the ${x.prop.noun} is ${say(x.a)}, 1 if ${say(x.b)}, else 0.`,
              `Give the ${x.label.plural} a score from their ${x.prop.noun}: ${say(x.a)} = 2, ${say(x.b)} = 1, anything else 0.`,
            ],
      cypher:
        kind === "yes/no"
          ? `MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v}.${x.label.key}, CASE ${x.label.v}.${x.prop.key} WHEN ${lit(x.a)} THEN 'yes' WHEN ${lit(x.b)} THEN 'maybe' ELSE 'no' END AS answer`
          : `MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v}.${x.label.key}, CASE ${x.label.v}.${x.prop.key} WHEN ${lit(x.a)} THEN 2 WHEN ${lit(x.b)} THEN 1 ELSE 0 END AS score`,
    }),
  ),
  grid([labelPropValues(s, ["int", "float"]), [NUMERIC_OPS[0]!, NUMERIC_OPS[2]!]], ([x, op]) => ({
    questions: [
      `How many ${x.label.plural} have a ${x.prop.noun} ${op.words[0]} ${say(x.value, x.prop)}, and how many do not? One query, using CASE.`,
      `Count in one pass the ${x.label.plural} with ${x.prop.noun} ${op.words[1]} ${say(x.value, x.prop)} and the rest.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN sum(CASE WHEN ${x.label.v}.${x.prop.key} ${op.op} ${lit(x.value, x.prop)} THEN 1 ELSE 0 END) AS matching, sum(CASE WHEN ${x.label.v}.${x.prop.key} ${op.op} ${lit(x.value, x.prop)} THEN 0 ELSE 1 END) AS others`,
  })),
];

const listComprehension = (s: Schema): Family[] => [
  grid([rels(s), ["all", "first3"] as const], ([r, mode]) => ({
    questions:
      mode === "all"
        ? [
            `For each ${r.from.singular}, return a list of the ${r.to.plural} it is linked to by ${r.rel.type}, using a pattern comprehension.`,
            `Show every ${r.from.singular} with the ${keyProp(r.to).noun}s of its ${r.rel.type} ${r.to.plural} as a list.`,
          ]
        : [
            `For each ${r.from.singular}, list at most three of its ${r.rel.type} ${r.to.plural}.`,
            `Return every ${r.from.singular} with the first three ${r.to.plural} it is linked to via ${r.rel.type}.`,
          ],
    cypher: `MATCH (${r.a}:${r.from.label}) RETURN ${r.a}.${r.from.key}, [(${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) | ${r.b}.${r.to.key}]${mode === "first3" ? "[0..3]" : ""} AS ${alias(r.to.plural)}`,
  })),
  grid(
    [
      rels(s).flatMap((r) =>
        otherProps(r.to, ["int", "float"]).flatMap((prop) => prop.values.slice(1, 5).map((value) => ({ r, prop, value: value as number }))),
      ),
      [">", "<"] as const,
    ],
    ([{ r, prop, value }, op]) => ({
      questions: [
        `For each ${r.from.singular}, collect the ${prop.noun}s of its ${r.rel.type} ${r.to.plural} and keep only those ${op === ">" ? "above" : "below"} ${say(value, prop)}.`,
        `Build, per ${r.from.singular}, a filtered list of ${r.to.singular} ${prop.noun}s ${op === ">" ? "greater" : "less"} than ${say(value, prop)} using a list comprehension.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label}) WITH ${r.a}, collect(${r.b}.${prop.key}) AS values RETURN ${r.a}.${r.from.key}, [x IN values WHERE x ${op} ${lit(value, prop)}] AS filtered`,
    }),
  ),
  grid([selfRels(s).flatMap((r) => keyProp(r.from).values.map((va) => ({ r, va }))), [2, 3] as const], ([{ r, va }, hops]) => ({
    questions: [
      `List the ${keyProp(r.from).noun}s along every ${hops}-step ${r.rel.type} path starting at ${named(r.from, va)}.`,
      `For each path of exactly ${hops} ${r.rel.type} hops from ${say(va)}, return the ${keyProp(r.from).noun}s of the nodes on it.`,
    ],
    cypher: `MATCH path = (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[:${r.rel.type}*${hops}]->(:${r.to.label}) RETURN [n IN nodes(path) | n.${r.from.key}] AS route`,
  })),
  grid([labelProps(s, ["int", "float"]), [1, 2, 10] as const], ([x, factor]) => ({
    questions: [
      `Collect the ${x.prop.noun}s of all ${x.label.plural} and return each one multiplied by ${factor}, plus their running total with reduce.`,
      `Using a list comprehension and reduce, scale every ${x.label.singular} ${x.prop.noun} by ${factor} and sum them.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) WITH collect(${x.label.v}.${x.prop.key}) AS values RETURN [x IN values | x * ${factor}] AS scaled, reduce(total = 0, x IN values | total + x * ${factor}) AS total`,
  })),
];

const parameters = (s: Schema): Family[] => [
  grid([labelProps(s, ["int", "float"]), NUMERIC_OPS.slice(0, 4)], ([x, op]) => {
    const param = alias(op.op.startsWith(">") ? "min" : "max", x.prop.noun);
    return {
      questions: [
        `Find ${x.label.plural} with a ${x.prop.noun} ${op.words[0]} a value passed as the parameter $${param}.`,
        `Write a parameterised query: ${x.label.plural} whose ${x.prop.noun} is ${op.words[1]} $${param}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} ${op.op} $${param} RETURN ${cols(x.label.v, x.label.key, x.prop.key)}`,
    };
  }),
  grid([s.labels.flatMap((label) => label.props.filter((p) => p.key !== label.key).map((p) => ({ label, p })))], ([x]) => ({
    questions: [
      `Look up a ${x.label.singular} by the ${keyProp(x.label).noun} given in $${x.label.key} and return its ${x.p.noun}.`,
      `Given a parameter $${x.label.key}, return that ${x.label.singular}'s ${x.p.noun}.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label} {${x.label.key}: $${x.label.key}}) RETURN ${x.label.v}.${x.p.key}`,
  })),
  grid([s.labels.flatMap((label) => label.props.filter((p) => p.key !== label.key).map((p) => ({ label, p })))], ([x]) => ({
    questions: [
      `Create a ${x.label.singular} from the parameters $${x.label.key} and $${x.p.key}.`,
      `Insert a new ${x.label.singular} whose ${keyProp(x.label).noun} and ${x.p.noun} come from query parameters.`,
    ],
    cypher: `CREATE (${x.label.v}:${x.label.label} {${x.label.key}: $${x.label.key}, ${x.p.key}: $${x.p.key}}) RETURN ${x.label.v}`,
  })),
  grid([labelProps(s, ["string", "int", "float"]), DIRECTIONS], ([x, d]) => ({
    questions: [
      `Page through the ${x.label.plural} sorted by ${x.prop.noun} (${d.order}) using $skip and $limit parameters.`,
      `Return one page of ${x.label.plural}, ordered by ${x.prop.noun} ${d.order}, with the offset in $skip and the page size in $limit.`,
    ],
    cypher: `MATCH (${x.label.v}:${x.label.label}) RETURN ${cols(x.label.v, x.label.key, x.prop.key)} ORDER BY ${x.label.v}.${x.prop.key} ${d.dir} SKIP $skip LIMIT $limit`,
  })),
  grid([labelProps(s, ["string"])], ([x]) => {
    const param = alias(x.prop.noun, "list");
    return {
      questions: [
        `Find the ${x.label.plural} whose ${x.prop.noun} is in the list parameter $${param}.`,
        `Match ${x.label.plural} with any ${x.prop.noun} from $${param}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} IN $${param} RETURN ${x.label.v}.${x.label.key}`,
    };
  }),
  grid([s.labels, ["set", "merge"] as const], ([label, mode]) => ({
    questions:
      mode === "set"
        ? [
            `Update the ${label.singular} identified by $${label.key} with all properties in the map parameter $props, keeping the others.`,
            `Merge the $props map into the ${label.singular} whose ${keyProp(label).noun} is $${label.key}.`,
          ]
        : [
            `Upsert a batch of ${label.plural} from the list parameter $rows, one per row, keyed by ${keyProp(label).noun}.`,
            `For each map in $rows, merge a ${label.singular} by ${keyProp(label).noun} and copy the row's properties onto it.`,
          ],
    cypher:
      mode === "set"
        ? `MATCH (${label.v}:${label.label} {${label.key}: $${label.key}}) SET ${label.v} += $props RETURN ${label.v}`
        : `UNWIND $rows AS row MERGE (${label.v}:${label.label} {${label.key}: row.${label.key}}) SET ${label.v} += row`,
  })),
];

// One family per clause keyword that the other categories do not already drill: the systematic enumeration.
const clauses = (s: Schema): Family[] => [
  grid([selfRels(s).flatMap((r) => keyProp(r.from).values.map((va) => ({ r, va }))), EXTRA_LABELS], ([{ r, va }, extra]) => ({
    questions: [
      `FOREACH: mark every node on the ${r.rel.type} paths of up to 3 hops from ${named(r.from, va)} with the label ${extra}.`,
      `Using FOREACH over nodes(path), add the label ${extra} to all nodes within three ${r.rel.type} hops of ${say(va)}.`,
    ],
    cypher: `MATCH path = (${r.a}:${r.from.label} {${r.from.key}: ${lit(va)}})-[:${r.rel.type}*1..3]->(:${r.to.label}) FOREACH (n IN nodes(path) | SET n:${extra})`,
  })),
  grid([labelProps(s, ["int", "float"]), DIRECTIONS], ([x, d]) => ({
    questions: [
      `CALL subquery: find the ${x.label.singular} with the ${d.words[0]} ${x.prop.noun} inside CALL { }, then return its ${keyProp(x.label).noun}.`,
      `Use a CALL { ... } subquery to pick the ${d.words[1]}-${x.prop.noun} ${x.label.singular} and return it.`,
    ],
    cypher: `CALL () { MATCH (${x.label.v}:${x.label.label}) RETURN ${x.label.v} ORDER BY ${x.label.v}.${x.prop.key} ${d.dir} LIMIT 1 } RETURN ${cols(x.label.v, x.label.key, x.prop.key)}`,
  })),
  grid([pairs(s.labels), ["UNION", "UNION ALL"] as const], ([[l1, l2], u]) => ({
    questions: [
      `${u}: return the ${keyProp(l1).noun}s of all ${l1.plural} and of all ${l2.plural} in a single column${u === "UNION" ? " without duplicates" : ", keeping duplicates"}.`,
      `Combine the ${l1.plural}' ${keyProp(l1).noun}s and the ${l2.plural}' ${keyProp(l2).noun}s into one result with ${u}.`,
    ],
    cypher: `MATCH (${l1.v}:${l1.label}) RETURN ${l1.v}.${l1.key} AS name ${u} MATCH (${l2.v === l1.v ? `${l2.v}2` : l2.v}:${l2.label}) RETURN ${l2.v === l1.v ? `${l2.v}2` : l2.v}.${l2.key} AS name`,
  })),
  grid([s.labels, ["people.csv", "import.csv", "data.csv"] as const], ([label, file]) => {
    const other = otherProps(label)[0];
    return {
      questions: [
        `LOAD CSV: import ${label.plural} from ${file} (with a header row), merging on ${keyProp(label).noun}${other ? ` and setting ${other.noun}` : ""}.`,
        `Read ${file} with headers and MERGE one ${label.singular} per row by ${keyProp(label).noun}.`,
      ],
      cypher: `LOAD CSV WITH HEADERS FROM 'file:///${file}' AS row MERGE (${label.v}:${label.label} {${label.key}: row.${label.key}})${other ? ` SET ${label.v}.${other.key} = row.${other.key}` : ""}`,
    };
  }),
  grid([["labels", "relationshipTypes", "propertyKeys"] as const, [0, 1] as const], ([proc, sorted]) => {
    const column = proc === "labels" ? "label" : proc === "relationshipTypes" ? "relationshipType" : "propertyKey";
    return {
      questions: [
        `CALL a procedure: list every ${proc === "labels" ? "node label" : proc === "relationshipTypes" ? "relationship type" : "property key"} in the database${sorted ? ", sorted" : ""}.`,
        `Which ${proc === "labels" ? "labels" : proc === "relationshipTypes" ? "relationship types" : "property keys"} exist in ${s.description}? Use db.${proc}()${sorted ? " and sort them" : ""}.`,
      ],
      cypher: `CALL db.${proc}() YIELD ${column} RETURN ${column}${sorted ? ` ORDER BY ${column}` : ""}`,
    };
  }),
  grid([keyedNodes(s), ["RETURN", "WITH"] as const], ([n, clause]) => ({
    questions:
      clause === "RETURN"
        ? [
            `RETURN with an expression: return ${named(n.label, n.value)} with its labels and its properties as a map.`,
            `Show the labels and all properties of ${named(n.label, n.value)}.`,
          ]
        : [
            `WITH: find ${named(n.label, n.value)}, pass it on with WITH, and return how many relationships it has.`,
            `Chain two parts with WITH: match ${named(n.label, n.value)}, then count its relationships.`,
          ],
    cypher:
      clause === "RETURN"
        ? `MATCH (${n.label.v}:${n.label.label} {${n.label.key}: ${lit(n.value)}}) RETURN labels(${n.label.v}) AS labels, properties(${n.label.v}) AS props`
        : `MATCH (${n.label.v}:${n.label.label} {${n.label.key}: ${lit(n.value)}}) WITH ${n.label.v} MATCH (${n.label.v})-[r]-() RETURN count(r) AS degree`,
  })),
];

// ---------------------------------------------------------------------------------------------------------------
// More families for the categories whose first families are small.

const matchMore = (s: Schema): Family[] => [
  grid([keyedNodes(s)], ([n]) => ({
    questions: [
      `Find ${named(n.label, n.value)}.`,
      `Return the whole node for ${named(n.label, n.value)}.`,
      `Get ${named(n.label, n.value)} from the graph.`,
    ],
    cypher: `MATCH (${n.label.v}:${n.label.label} {${n.label.key}: ${lit(n.value)}}) RETURN ${n.label.v}`,
  })),
  grid(
    [
      s.labels.flatMap((label) =>
        pairs(otherProps(label)).flatMap(([p1, p2]) =>
          p1.values.slice(0, 4).flatMap((v1) => p2.values.slice(0, 4).map((v2) => ({ label, p1, v1, p2, v2 }))),
        ),
      ),
    ],
    ([x]) => ({
      questions: [
        `Which ${x.label.plural} have ${x.p1.noun} ${say(x.v1, x.p1)} and ${x.p2.noun} ${say(x.v2, x.p2)}?`,
        `Find ${x.label.plural} ${having(x.p1, x.v1)} and ${having(x.p2, x.v2)}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label} {${x.p1.key}: ${lit(x.v1, x.p1)}, ${x.p2.key}: ${lit(x.v2, x.p2)}}) RETURN ${x.label.v}.${x.label.key}`,
    }),
  ),
];

const aggregationMore = (s: Schema): Family[] => [
  grid([rels(s).flatMap((r) => keyProp(r.to).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `How many ${r.from.plural} ${r.rel.verb} ${named(r.to, value)}?`,
      `Count the ${r.from.plural} with a ${r.rel.type} relationship to ${named(r.to, value)}.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}:${r.to.label} {${r.to.key}: ${lit(value)}}) RETURN count(${r.a}) AS ${alias(r.from.plural)}`,
  })),
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label, ["string", "bool"]).flatMap((by) =>
          by.values.flatMap((value) => otherProps(label, ["int", "float"]).map((num) => ({ label, by, value, num }))),
        ),
      ),
      AGGREGATES,
    ],
    ([x, agg]) => ({
      questions: [
        `What is the ${agg.words} ${x.num.noun} of the ${x.label.plural} ${having(x.by, x.value)}?`,
        `Among ${x.label.plural} ${having(x.by, x.value)}, compute the ${agg.words} ${x.num.noun}.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.by.key} = ${lit(x.value, x.by)} RETURN ${agg.fn}(${x.label.v}.${x.num.key}) AS ${alias(agg.words, x.num.noun)}`,
    }),
  ),
];

const optionalMatchMore = (s: Schema): Family[] => [
  grid([rels(s).flatMap((r) => keyProp(r.to).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `Show ${named(r.to, value)} with the list of ${r.from.plural} linked to it by ${r.rel.type} (an empty list if none).`,
      `For ${named(r.to, value)}, collect its ${r.rel.type} ${r.from.plural}, keeping the row even when there are none.`,
    ],
    cypher: `MATCH (${r.b}:${r.to.label} {${r.to.key}: ${lit(value)}}) OPTIONAL MATCH (${r.a}:${r.from.label})-[:${r.rel.type}]->(${r.b}) RETURN ${r.b}.${r.to.key}, collect(${r.a}.${r.from.key}) AS ${alias(r.from.plural)}`,
  })),
  grid(
    [rels(s).flatMap((r) => otherProps(r.from, ["string", "bool"]).flatMap((prop) => prop.values.map((value) => ({ r, prop, value }))))],
    ([{ r, prop, value }]) => ({
      questions: [
        `For the ${r.from.plural} ${having(prop, value)}, list any ${r.to.plural} they are linked to by ${r.rel.type}, keeping those without one.`,
        `Show ${r.from.plural} ${having(prop, value)} and their ${r.rel.type} ${r.to.plural}, if any.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label}) WHERE ${r.a}.${prop.key} = ${lit(value, prop)} OPTIONAL MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.a}.${r.from.key}, ${r.b}.${r.to.key}`,
    }),
  ),
];

const withMore = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label, ["string", "bool"]).flatMap((by) =>
          by.values.flatMap((value) => otherProps(label, ["int", "float"]).map((num) => ({ label, by, value, num }))),
        ),
      ),
      [1, 3, 5] as const,
      DIRECTIONS,
    ],
    ([x, k, d]) => ({
      questions: [
        `Among the ${x.label.plural} ${having(x.by, x.value)}, keep the ${k} with the ${d.words[0]} ${x.num.noun} and return their ${keyProp(x.label).noun}s.`,
        `Filter ${x.label.plural} to those ${having(x.by, x.value)}, pass the ${d.words[2]} ${k} by ${x.num.noun} through WITH, and return them.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.by.key} = ${lit(x.value, x.by)} WITH ${x.label.v} ORDER BY ${x.label.v}.${x.num.key} ${d.dir} LIMIT ${k} RETURN ${x.label.v}.${x.label.key}, ${x.label.v}.${x.num.key}`,
    }),
  ),
];

const removeMore = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label, ["int", "float"]).flatMap((cond) =>
          cond.values.flatMap((value) =>
            otherProps(label)
              .filter((p) => p !== cond)
              .map((drop) => ({ label, cond, value, drop })),
          ),
        ),
      ),
      ["<", ">"] as const,
    ],
    ([x, op]) => ({
      questions: [
        `Remove the ${x.drop.noun} from every ${x.label.singular} whose ${x.cond.noun} is ${op === "<" ? "below" : "above"} ${say(x.value, x.cond)}.`,
        `For ${x.label.plural} with ${x.cond.noun} ${op === "<" ? "under" : "over"} ${say(x.value, x.cond)}, drop the ${x.drop.noun} property.`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.cond.key} ${op} ${lit(x.value, x.cond)} REMOVE ${x.label.v}.${x.drop.key}`,
    }),
  ),
];

const listComprehensionMore = (s: Schema): Family[] => [
  grid([rels(s).flatMap((r) => keyProp(r.from).values.map((value) => ({ r, value })))], ([{ r, value }]) => ({
    questions: [
      `Using a pattern comprehension, return the ${keyProp(r.to).noun}s of the ${r.to.plural} that ${named(r.from, value)} ${verb3(r.rel)}.`,
      `For ${named(r.from, value)}, build the list of its ${r.rel.type} ${r.to.plural} inside the RETURN.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: ${lit(value)}}) RETURN [(${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) | ${r.b}.${r.to.key}] AS ${alias(r.to.plural)}`,
  })),
  grid(
    [
      rels(s).flatMap((r) => otherProps(r.to, ["int", "float"]).flatMap((prop) => prop.values.map((value) => ({ r, prop, value })))),
      [">", "<"] as const,
    ],
    ([{ r, prop, value }, op]) => ({
      questions: [
        `For each ${r.from.singular}, list the ${r.rel.type} ${r.to.plural} whose ${prop.noun} is ${op === ">" ? "above" : "below"} ${say(value, prop)}, with a filtered pattern comprehension.`,
        `Return every ${r.from.singular} with its ${r.to.plural} (via ${r.rel.type}) that have a ${prop.noun} ${op === ">" ? "over" : "under"} ${say(value, prop)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label}) RETURN ${r.a}.${r.from.key}, [(${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) WHERE ${r.b}.${prop.key} ${op} ${lit(value, prop)} | ${r.b}.${r.to.key}] AS ${alias(r.to.plural)}`,
    }),
  ),
];

const subqueriesMore = (s: Schema): Family[] => [
  grid(
    [
      rels(s).flatMap((r) =>
        otherProps(r.to, ["string", "int"]).flatMap((prop) => prop.values.slice(0, 4).map((value) => ({ r, prop, value }))),
      ),
    ],
    ([{ r, prop, value }]) => ({
      questions: [
        `Which ${r.from.plural} have no ${r.rel.type} link to any ${r.to.singular} ${having(prop, value)}?`,
        `Find ${r.from.plural} for which no ${r.rel.type} relationship reaches a ${r.to.singular} ${having(prop, value)}.`,
      ],
      cypher: `MATCH (${r.a}:${r.from.label}) WHERE NOT EXISTS { MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) WHERE ${r.b}.${prop.key} = ${lit(value, prop)} } RETURN ${r.a}.${r.from.key}`,
    }),
  ),
  grid([rels(s), ["collect", "call"] as const], ([r, mode]) => ({
    questions:
      mode === "collect"
        ? [
            `For each ${r.from.singular}, gather its ${r.rel.type} ${r.to.plural} with a COLLECT subquery.`,
            `Use COLLECT { } to list, per ${r.from.singular}, the ${r.to.plural} it is linked to by ${r.rel.type}.`,
          ]
        : [
            `For each ${r.from.singular}, count its ${r.rel.type} ${r.to.plural} inside a CALL subquery that imports the ${r.from.singular}.`,
            `With CALL (${r.a}) { ... }, compute per ${r.from.singular} how many ${r.to.plural} it reaches through ${r.rel.type}.`,
          ],
    cypher:
      mode === "collect"
        ? `MATCH (${r.a}:${r.from.label}) RETURN ${r.a}.${r.from.key}, COLLECT { MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN ${r.b}.${r.to.key} } AS ${alias(r.to.plural)}`
        : `MATCH (${r.a}:${r.from.label}) CALL (${r.a}) { MATCH (${r.a})-[:${r.rel.type}]->(${r.b}:${r.to.label}) RETURN count(${r.b}) AS n } RETURN ${r.a}.${r.from.key}, n`,
  })),
];

const parametersMore = (s: Schema): Family[] => [
  grid(
    [
      s.labels.flatMap((label) =>
        otherProps(label, ["string", "bool"]).flatMap((by) =>
          by.values.flatMap((value) => otherProps(label, ["int", "float"]).map((num) => ({ label, by, value, num }))),
        ),
      ),
      [NUMERIC_OPS[0]!, NUMERIC_OPS[2]!],
    ],
    ([x, op]) => {
      const param = alias(op.op === ">" ? "min" : "max", x.num.noun);
      return {
        questions: [
          `Find ${x.label.plural} ${having(x.by, x.value)} whose ${x.num.noun} is ${op.words[0]} the parameter $${param}.`,
          `Parameterised: ${x.label.plural} with ${x.by.noun} ${say(x.value, x.by)} and ${x.num.noun} ${op.words[1]} $${param}.`,
        ],
        cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.by.key} = ${lit(x.value, x.by)} AND ${x.label.v}.${x.num.key} ${op.op} $${param} RETURN ${x.label.v}.${x.label.key}`,
      };
    },
  ),
  grid([labelProps(s, ["string"]), ["STARTS WITH", "ENDS WITH", "CONTAINS"] as const], ([x, op]) => {
    const param = op === "STARTS WITH" ? "prefix" : op === "ENDS WITH" ? "suffix" : "fragment";
    return {
      questions: [
        `Find ${x.label.plural} whose ${x.prop.noun} ${op.toLowerCase().replace(" with", "s with").replace("contains", "contains")} the text in $${param}.`,
        `Search ${x.label.plural} by ${x.prop.noun} using the parameter $${param} (${op}).`,
      ],
      cypher: `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} ${op} $${param} RETURN ${x.label.v}.${x.prop.key}`,
    };
  }),
  grid([rels(s), ["create", "merge"] as const], ([r, mode]) => ({
    questions: [
      `${mode === "create" ? "Create" : "Merge"} a ${r.rel.type} relationship between the ${r.from.singular} in $from and the ${r.to.singular} in $to, both given by ${keyProp(r.from).noun}/${keyProp(r.to).noun}.`,
      `Link two nodes passed as parameters ($from, $to) with ${r.rel.type}${mode === "merge" ? ", without duplicating it" : ""}.`,
    ],
    cypher: `MATCH (${r.a}:${r.from.label} {${r.from.key}: $from}) MATCH (${r.b}:${r.to.label} {${r.to.key}: $to}) ${mode === "create" ? "CREATE" : "MERGE"} (${r.a})-[:${r.rel.type}]->(${r.b})`,
  })),
];

const clausesMore = (s: Schema): Family[] => [
  grid([labelPropValues(s, ["string", "bool", "int"], { key: false }), ["set", "finish"] as const], ([x, mode]) => {
    const flag = alias("checked");
    return {
      questions:
        mode === "set"
          ? [
              `FINISH: mark every ${x.label.singular} ${having(x.prop, x.value)} as checked, returning nothing.`,
              `Set checked = true on all ${x.label.plural} ${having(x.prop, x.value)} and end the query with FINISH.`,
            ]
          : [
              `Update the ${x.label.plural} ${having(x.prop, x.value)} with a timestamp in updatedAt, and end with FINISH instead of RETURN.`,
              `FINISH clause: stamp updatedAt on each ${x.label.singular} ${having(x.prop, x.value)} without returning rows.`,
            ],
      cypher:
        mode === "set"
          ? `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} = ${lit(x.value, x.prop)} SET ${x.label.v}.${flag} = true FINISH`
          : `MATCH (${x.label.v}:${x.label.label}) WHERE ${x.label.v}.${x.prop.key} = ${lit(x.value, x.prop)} SET ${x.label.v}.updatedAt = timestamp() FINISH`,
    };
  }),
];

export const CATEGORIES: readonly CategoryDef[] = [
  { name: "match", description: "MATCH on labels and properties", weight: 1, families: (s) => [...match(s), ...matchMore(s)] },
  {
    name: "where",
    description: "WHERE: comparisons, ranges, string operators, IN, NULL checks, boolean logic",
    weight: 1,
    families: where,
  },
  {
    name: "relationships",
    description: "relationship patterns: direction, two hops, variable length, relationship properties",
    weight: 1,
    families: relationships,
  },
  {
    name: "aggregation",
    description: "count, sum, avg, min, max, collect, count(DISTINCT), grouping",
    weight: 1,
    families: (s) => [...aggregation(s), ...aggregationMore(s)],
  },
  { name: "ordering", description: "ORDER BY, SKIP, LIMIT, top-N", weight: 1, families: ordering },
  {
    name: "optional_match",
    description: "OPTIONAL MATCH and null handling",
    weight: 1,
    families: (s) => [...optionalMatch(s), ...optionalMatchMore(s)],
  },
  {
    name: "with",
    description: "WITH pipelines: filtering aggregates, top-k then expand",
    weight: 1,
    families: (s) => [...withClause(s), ...withMore(s)],
  },
  { name: "unwind", description: "UNWIND lists, batches of rows", weight: 1, families: unwind },
  { name: "create", description: "CREATE nodes, relationships and paths", weight: 1, families: create },
  { name: "merge", description: "MERGE with ON CREATE / ON MATCH", weight: 1, families: merge },
  { name: "set", description: "SET properties, labels, maps and relationship properties", weight: 1, families: set },
  { name: "delete", description: "DELETE and DETACH DELETE", weight: 1, families: del },
  { name: "remove", description: "REMOVE properties and labels", weight: 1, families: (s) => [...remove(s), ...removeMore(s)] },
  { name: "shortest_path", description: "shortestPath and allShortestPaths", weight: 1, families: shortestPath },
  {
    name: "subqueries",
    description: "EXISTS { } and COUNT { } subqueries",
    weight: 1,
    families: (s) => [...subqueries(s), ...subqueriesMore(s)],
  },
  { name: "case", description: "CASE expressions", weight: 1, families: caseExpr },
  {
    name: "list_comprehension",
    description: "list and pattern comprehensions, reduce",
    weight: 1,
    families: (s) => [...listComprehension(s), ...listComprehensionMore(s)],
  },
  { name: "parameters", description: "queries with $parameters", weight: 1, families: (s) => [...parameters(s), ...parametersMore(s)] },
  {
    name: "clauses",
    description: "every other clause: FOREACH, CALL { }, UNION, LOAD CSV, procedures, RETURN/WITH",
    weight: 1,
    families: (s) => [...clauses(s), ...clausesMore(s)],
  },
];

export type { Built, Family, RelEnds, Value };
