// Small helpers for writing Cypher and the English that asks for it.
import type { Indexed } from "@neural/generators";
import type { LabelDef, PropDef, RelDef, Schema } from "./schemas.js";
import { labelOf } from "./schemas.js";

export type Value = string | number | boolean;

/** A Cypher literal. Floats always carry a decimal point, so 25.0 stays a FLOAT. */
export function lit(value: Value, prop?: PropDef): string {
  if (typeof value === "string") return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (prop?.type === "float" && Number.isInteger(value)) return value.toFixed(1);
  return String(value);
}

/** A value as a question would say it. */
export function say(value: Value, prop?: PropDef): string {
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return prop?.unit ? `${value} ${prop.unit}` : String(value);
  return value;
}

export interface Op {
  op: string;
  words: readonly string[];
}

export const NUMERIC_OPS: readonly Op[] = [
  { op: ">", words: ["greater than", "above", "more than"] },
  { op: ">=", words: ["at least", "greater than or equal to", "no less than"] },
  { op: "<", words: ["less than", "below", "under"] },
  { op: "<=", words: ["at most", "less than or equal to", "no more than"] },
  { op: "=", words: ["equal to", "exactly"] },
  { op: "<>", words: ["not equal to", "different from", "other than"] },
];

export interface Built {
  /** Ways to ask for it; the generator picks one per row. */
  questions: readonly string[];
  cypher: string;
}

/** A finite family of queries for one schema. */
export type Family = Indexed<Built>;

/** Every combination of the given lists, in mixed-radix order. */
export function grid<const T extends readonly (readonly unknown[])[]>(
  lists: T,
  build: (items: { [K in keyof T]: T[K][number] }) => Built,
): Family {
  const radices = lists.map((l) => l.length);
  const size = radices.reduce((a, b) => a * b, 1);
  return {
    size,
    at(index: number): Built {
      let rest = index;
      const items = lists.map((list, k) => {
        const d = rest % radices[k]!;
        rest = Math.floor(rest / radices[k]!);
        return list[d];
      });
      return build(items as never);
    },
  };
}

export interface LabelProp {
  label: LabelDef;
  prop: PropDef;
}
export interface LabelPropValue extends LabelProp {
  value: Value;
}

export function labelProps(schema: Schema, types: readonly PropDef["type"][], options: { key?: boolean } = {}): LabelProp[] {
  const out: LabelProp[] = [];
  for (const label of schema.labels)
    for (const prop of label.props) {
      if (!types.includes(prop.type)) continue;
      if (options.key === false && prop.key === label.key) continue;
      if (options.key === true && prop.key !== label.key) continue;
      out.push({ label, prop });
    }
  return out;
}

export function labelPropValues(schema: Schema, types: readonly PropDef["type"][], options: { key?: boolean } = {}): LabelPropValue[] {
  return labelProps(schema, types, options).flatMap(({ label, prop }) => prop.values.map((value) => ({ label, prop, value })));
}

/** Each key value of each label: the ways to name one node. */
export function keyedNodes(schema: Schema): { label: LabelDef; value: Value }[] {
  return schema.labels.flatMap((label) => keyProp(label).values.map((value) => ({ label, value })));
}

export function keyProp(label: LabelDef): PropDef {
  return label.props.find((p) => p.key === label.key)!;
}

export interface RelEnds {
  rel: RelDef;
  from: LabelDef;
  to: LabelDef;
  /** Variables for the two ends (distinct even when both ends have the same label). */
  a: string;
  b: string;
}

export function relEnds(schema: Schema, rel: RelDef): RelEnds {
  const from = labelOf(schema, rel.from);
  const to = labelOf(schema, rel.to);
  return { rel, from, to, a: from.v, b: from.v === to.v ? `${to.v}2` : to.v };
}

export function rels(schema: Schema, filter: (r: RelDef) => boolean = () => true): RelEnds[] {
  return schema.rels.filter(filter).map((r) => relEnds(schema, r));
}

/** Relationships whose two ends have the same label (good for paths of any length). */
export const selfRels = (schema: Schema): RelEnds[] => rels(schema, (r) => r.from === r.to);

/** Two relationships that chain: (x)-[r1]->(y)-[r2]->(z). */
export function chains(schema: Schema): [RelEnds, RelEnds][] {
  const out: [RelEnds, RelEnds][] = [];
  for (const r1 of schema.rels)
    for (const r2 of schema.rels) {
      if (r1.to !== r2.from || (r1 === r2 && r1.from !== r1.to)) continue;
      out.push([relEnds(schema, r1), relEnds(schema, r2)]);
    }
  return out;
}

/** Pairs of distinct items (i < j). */
export function pairs<T>(items: readonly T[]): [T, T][] {
  const out: [T, T][] = [];
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) out.push([items[i]!, items[j]!]);
  return out;
}

export const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** "the person named Alice", "the movie titled Neon Tides", "the airport with code OSL". */
export function named(label: LabelDef, value: Value): string {
  const prop = keyProp(label);
  if (prop.key === "name") return `the ${label.singular} named ${say(value)}`;
  if (prop.key === "title") return `the ${label.singular} titled "${say(value)}"`;
  return `the ${label.singular} with ${prop.noun} ${say(value)}`;
}

/** "whose age is 30", "in the drama genre". */
export function having(prop: PropDef, value: Value): string {
  if (prop.type === "bool") return value ? `whose ${prop.noun} is set` : `whose ${prop.noun} is not set`;
  return `whose ${prop.noun} is ${say(value, prop)}`;
}

/** An alias for a returned expression: "averageAge". */
export function alias(...words: string[]): string {
  const joined = words
    .join(" ")
    .replace(/[^A-Za-z0-9 ]/g, " ")
    .trim()
    .split(/\s+/)
    .map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join("");
  return /^[0-9]/.test(joined) ? `x${joined}` : joined;
}
