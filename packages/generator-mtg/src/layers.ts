// Layers: a creature's final power/toughness (sublayers 7b, 7c, 7d) and abilities (layer 6) computed by applying
// continuous effects in layer order, then timestamp order within a layer.
import { digits, joinList, product } from "@neural/generators";
import { cite, ordinal, type RuleName } from "./common.js";

export type PtEffect =
  | { kind: "set"; p: number; t: number }
  | { kind: "mod"; p: number; t: number; source: "spell" | "anthem" }
  | { kind: "counters"; n: number }
  | { kind: "switch" };

const PT_EFFECTS: readonly PtEffect[] = [
  { kind: "set", p: 0, t: 1 },
  { kind: "set", p: 1, t: 1 },
  { kind: "set", p: 4, t: 4 },
  { kind: "mod", p: 2, t: 2, source: "spell" },
  { kind: "mod", p: 3, t: 0, source: "spell" },
  { kind: "mod", p: -2, t: -2, source: "spell" },
  { kind: "mod", p: 1, t: 1, source: "anthem" },
  { kind: "counters", n: 1 },
  { kind: "counters", n: 2 },
  { kind: "counters", n: -1 },
  { kind: "switch" },
];

const BASES: readonly [number, number][] = [
  [1, 1],
  [2, 3],
  [3, 1],
  [4, 5],
  [0, 4],
];

const signed = (n: number) => (n >= 0 ? `+${n}` : `${n}`);

export function describePtEffect(e: PtEffect): string {
  switch (e.kind) {
    case "set":
      return `an effect that makes it a ${e.p}/${e.t} (setting its base power and toughness)`;
    case "mod":
      return e.source === "anthem"
        ? `a static ability of another permanent its controller controls that gives their creatures ${signed(e.p)}/${signed(e.t)}`
        : `a spell that gives it ${signed(e.p)}/${signed(e.t)} until end of turn`;
    case "counters":
      return e.n > 0
        ? `${e.n === 1 ? "a +1/+1 counter" : `${e.n} +1/+1 counters`} put on it`
        : `${-e.n === 1 ? "a -1/-1 counter" : `${-e.n} -1/-1 counters`} put on it`;
    case "switch":
      return "an effect that switches its power and toughness until end of turn";
  }
}

export interface PtScenario {
  base: [number, number];
  effects: PtEffect[];
}

export function ptSpace(): { size: number; at(index: number): PtScenario } {
  const shapes = [2, 3].map((k) => [BASES.length, ...Array.from({ length: k }, () => PT_EFFECTS.length)]);
  const sizes = shapes.map(product);
  return {
    size: sizes[0]! + sizes[1]!,
    at(index: number): PtScenario {
      const shape = index < sizes[0]! ? 0 : 1;
      const d = digits(shape ? index - sizes[0]! : index, shapes[shape]!);
      return { base: [...BASES[d[0]!]!] as [number, number], effects: d.slice(1).map((x) => PT_EFFECTS[x]!) };
    },
  };
}

export function computePt(s: PtScenario): { steps: string[]; result: [number, number]; rules: RuleName[] } {
  const rules = new Set<RuleName>(["layers", "timestamp"]);
  const steps: string[] = [];
  let [p, t] = s.base;
  steps.push(`Start from the printed ${p}/${t}.`);
  const setters = s.effects.map((e, i) => [e, i] as const).filter(([e]) => e.kind === "set");
  if (setters.length) {
    const [last, i] = setters[setters.length - 1]! as [Extract<PtEffect, { kind: "set" }>, number];
    [p, t] = [last.p, last.t];
    rules.add("layer7b");
    steps.push(
      setters.length > 1
        ? `Sublayer 7b ${cite("layer7b")}: ${setters.length} effects set the base power and toughness; they apply in timestamp order, so the latest (effect ${i + 1}) wins: ${p}/${t}.`
        : `Sublayer 7b ${cite("layer7b")}: effect ${i + 1} sets it to ${p}/${t}, whenever it arrived.`,
    );
  }
  const mods = s.effects.map((e, i) => [e, i] as const).filter(([e]) => e.kind === "mod" || e.kind === "counters");
  if (mods.length) {
    let dp = 0;
    let dt = 0;
    for (const [e] of mods) {
      if (e.kind === "mod") {
        dp += e.p;
        dt += e.t;
      } else if (e.kind === "counters") {
        dp += e.n;
        dt += e.n;
      }
    }
    [p, t] = [p + dp, t + dt];
    rules.add("layer7c");
    steps.push(
      `Sublayer 7c ${cite("layer7c")}: the modifications and counters (effect${mods.length > 1 ? "s" : ""} ${joinList(mods.map(([, i]) => String(i + 1)))}) add up to ${signed(dp)}/${signed(dt)}, giving ${p}/${t}.`,
    );
  }
  const switches = s.effects.filter((e) => e.kind === "switch").length;
  if (switches) {
    rules.add("layer7d");
    if (switches % 2 === 1) [p, t] = [t, p];
    steps.push(
      switches % 2 === 1
        ? `Sublayer 7d ${cite("layer7d")}: the switch applies last, after every other power/toughness effect: ${p}/${t}.`
        : `Sublayer 7d ${cite("layer7d")}: two switches cancel out: still ${p}/${t}.`,
    );
  }
  if (setters.length && s.effects.some((e, i) => e.kind !== "set" && i < setters[setters.length - 1]![1])) {
    steps.push(
      "Timestamps only order effects inside the same sublayer: an earlier +N/+N or counter still applies on top of a later setting effect, because 7c comes after 7b.",
    );
  }
  if (t <= 0) {
    steps.push(
      `With toughness ${t} it is put into its owner's graveyard the next time state-based actions are checked ${cite("sbaToughness")}.`,
    );
    rules.add("sbaToughness");
  }
  return { steps, result: [p, t], rules: [...rules] };
}

// Layer 6: abilities granted and removed, in timestamp order.
export type AbilityEffect = { kind: "gain"; ability: string } | { kind: "lose-all" } | { kind: "lose"; ability: string };
const ABILITY_EFFECTS: readonly AbilityEffect[] = [
  { kind: "gain", ability: "flying" },
  { kind: "gain", ability: "trample" },
  { kind: "gain", ability: "lifelink" },
  { kind: "lose", ability: "flying" },
  { kind: "lose", ability: "vigilance" },
  { kind: "lose-all" },
];
const PRINTED: readonly string[][] = [[], ["vigilance"], ["flying"], ["flying", "vigilance"]];

export interface AbilityScenario {
  printed: string[];
  effects: AbilityEffect[];
}

export function abilitySpace(): { size: number; at(index: number): AbilityScenario } {
  const shapes = [2, 3].map((k) => [PRINTED.length, ...Array.from({ length: k }, () => ABILITY_EFFECTS.length)]);
  const sizes = shapes.map(product);
  return {
    size: sizes[0]! + sizes[1]!,
    at(index: number): AbilityScenario {
      const shape = index < sizes[0]! ? 0 : 1;
      const d = digits(shape ? index - sizes[0]! : index, shapes[shape]!);
      return { printed: PRINTED[d[0]!]!, effects: d.slice(1).map((x) => ABILITY_EFFECTS[x]!) };
    },
  };
}

export function describeAbilityEffect(e: AbilityEffect): string {
  return e.kind === "gain"
    ? `an effect that gives it ${e.ability} until end of turn`
    : e.kind === "lose"
      ? `an effect that makes it lose ${e.ability} until end of turn`
      : "an effect that makes it lose all abilities until end of turn";
}

export function computeAbilities(s: AbilityScenario): { steps: string[]; result: string[]; rules: RuleName[] } {
  let current = [...s.printed];
  const steps = [
    `Layer 6 ${cite("layer6")} handles every effect here, one at a time in timestamp order ${cite("timestamp")}. It starts with ${current.length ? joinList(current) : "no abilities"}.`,
  ];
  s.effects.forEach((e, i) => {
    if (e.kind === "gain") {
      if (!current.includes(e.ability)) current.push(e.ability);
      steps.push(`The ${ordinal(i + 1)} effect adds ${e.ability}: ${current.length ? joinList(current) : "none"}.`);
    } else if (e.kind === "lose") {
      current = current.filter((a) => a !== e.ability);
      steps.push(`The ${ordinal(i + 1)} effect removes ${e.ability}: ${current.length ? joinList(current) : "none"}.`);
    } else {
      current = [];
      steps.push(
        `The ${ordinal(i + 1)} effect removes every ability it has at that point; effects with later timestamps can still add abilities.`,
      );
    }
  });
  return { steps, result: current, rules: ["layer6", "timestamp"] };
}
