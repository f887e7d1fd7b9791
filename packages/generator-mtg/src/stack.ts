// The stack, simulated: two creatures, a chain of instants cast in response to each other, resolved last in first
// out with target checks and state-based actions after each resolution.
import { digits, product } from "@neural/generators";
import { cite, type RuleName } from "./common.js";

export type SpellKind = "damage" | "pump" | "shrink" | "destroy" | "bounce" | "counter";

export interface SpellSpec {
  kind: SpellKind;
  /** Amount for damage, pump and shrink. */
  n: number;
  /** 0 or 1: which creature; for a counterspell, the spell right below it. */
  target: 0 | 1;
}

export interface StackScenario {
  creatures: [{ power: number; toughness: number }, { power: number; toughness: number }];
  spells: SpellSpec[];
}

const STATS: readonly [number, number][] = [
  [1, 1],
  [2, 2],
  [3, 3],
  [2, 4],
  [4, 4],
  [5, 3],
];

const CREATURE_SPELLS: readonly Omit<SpellSpec, "target">[] = [
  ...[1, 2, 3, 4].flatMap((n) => [
    { kind: "damage" as const, n },
    { kind: "pump" as const, n },
    { kind: "shrink" as const, n },
  ]),
  { kind: "destroy", n: 0 },
  { kind: "bounce", n: 0 },
];

/**
 * Choices for the k-th spell (cast by player k % 2): harmful spells (damage, -N/-N, destroy) target the opponent's
 * creature, a pump targets the caster's own, a bounce either (saving one's own creature or removing the other);
 * after the first spell, a counterspell aimed at the spell just below is also possible.
 */
function choices(k: number): SpellSpec[] {
  const caster = (k % 2) as 0 | 1;
  const opponent = (1 - caster) as 0 | 1;
  const out: SpellSpec[] = [];
  for (const s of CREATURE_SPELLS) {
    if (s.kind === "bounce") out.push({ ...s, target: caster }, { ...s, target: opponent });
    else out.push({ ...s, target: s.kind === "pump" ? caster : opponent });
  }
  if (k > 0) out.push({ kind: "counter", n: 0, target: 0 });
  return out;
}

export function stackSpace(): { size: number; at(index: number): StackScenario } {
  const perSpell = [0, 1, 2].map(choices);
  const shapes = [2, 3].map((k) => [STATS.length, STATS.length, ...Array.from({ length: k }, (_, i) => perSpell[i]!.length)]);
  const sizes = shapes.map(product);
  return {
    size: sizes.reduce((a, b) => a + b, 0),
    at(index: number): StackScenario {
      let shape = 0;
      while (index >= sizes[shape]!) index -= sizes[shape++]!;
      const d = digits(index, shapes[shape]!);
      const [a, b] = [STATS[d[0]!]!, STATS[d[1]!]!];
      const spells = d.slice(2).map((x, i) => perSpell[i]![x]!);
      return {
        creatures: [
          { power: a[0], toughness: a[1] },
          { power: b[0], toughness: b[1] },
        ],
        spells,
      };
    },
  };
}

export function describeSpell(s: SpellSpec, creatureNames: readonly string[], spellIndex: number): string {
  const t = creatureNames[s.target]!;
  switch (s.kind) {
    case "damage":
      return `an instant that deals ${s.n} damage to ${t}`;
    case "pump":
      return `an instant that gives ${t} +${s.n}/+${s.n} until end of turn`;
    case "shrink":
      return `an instant that gives ${t} -${s.n}/-${s.n} until end of turn`;
    case "destroy":
      return `an instant that destroys ${t}`;
    case "bounce":
      return `an instant that returns ${t} to its owner's hand`;
    case "counter":
      return `an instant that counters spell ${spellIndex} (the one just below it)`;
  }
}

interface CreatureState {
  name: string;
  base: [number, number];
  mod: number;
  damage: number;
  zone: "battlefield" | "graveyard" | "hand";
}

export interface StackResult {
  steps: string[];
  final: string;
  rules: RuleName[];
}

/** Resolves the stack by simulation and explains each step. */
export function resolveStack(
  scenario: StackScenario,
  players: readonly [string, string],
  creatureNames: readonly [string, string],
): StackResult {
  const creatures: CreatureState[] = scenario.creatures.map((c, i) => ({
    name: creatureNames[i]!,
    base: [c.power, c.toughness],
    mod: 0,
    damage: 0,
    zone: "battlefield",
  }));
  const onStack = scenario.spells.map((_, i) => true);
  const steps: string[] = [];
  const rules = new Set<RuleName>(["stack", "allPass"]);
  const toughness = (c: CreatureState) => c.base[1] + c.mod;
  const power = (c: CreatureState) => c.base[0] + c.mod;
  for (let i = scenario.spells.length - 1; i >= 0; i--) {
    if (!onStack[i]) continue; // countered earlier: already gone
    onStack[i] = false;
    const spell = scenario.spells[i]!;
    const caster = players[i % 2]!;
    const label = `Spell ${i + 1} (${caster}'s)`;
    if (spell.kind === "counter") {
      const target = i - 1;
      if (!onStack[target]) {
        steps.push(
          `${label} tries to resolve, but spell ${target + 1}, its only target, has already left the stack, so it does not resolve ${cite("illegalTargets")}.`,
        );
        rules.add("illegalTargets");
      } else {
        onStack[target] = false;
        steps.push(`${label} resolves and counters spell ${target + 1}, which goes to the graveyard without doing anything.`);
        rules.add("resolve");
      }
    } else {
      const c = creatures[spell.target]!;
      if (c.zone !== "battlefield") {
        steps.push(
          `${label} tries to resolve, but ${c.name} is no longer on the battlefield, so its only target is illegal and it does not resolve ${cite("illegalTargets")}.`,
        );
        rules.add("illegalTargets");
      } else {
        switch (spell.kind) {
          case "damage":
            c.damage += spell.n;
            steps.push(`${label} resolves: ${c.name} is dealt ${spell.n} damage, now ${c.damage} damage marked ${cite("damageMarked")}.`);
            rules.add("damageMarked");
            break;
          case "pump":
          case "shrink": {
            c.mod += spell.kind === "pump" ? spell.n : -spell.n;
            steps.push(`${label} resolves: ${c.name} becomes ${power(c)}/${toughness(c)} until end of turn.`);
            break;
          }
          case "destroy":
            c.zone = "graveyard";
            steps.push(`${label} resolves and destroys ${c.name}.`);
            break;
          case "bounce":
            c.zone = "hand";
            c.damage = 0;
            c.mod = 0;
            steps.push(`${label} resolves and returns ${c.name} to its owner's hand; as a new object there it keeps no damage or effects.`);
            break;
        }
        rules.add("resolve");
      }
    }
    // State-based actions before anyone gets priority again.
    for (const c of creatures) {
      if (c.zone !== "battlefield") continue;
      if (toughness(c) <= 0) {
        c.zone = "graveyard";
        steps.push(
          `State-based actions: ${c.name} has toughness ${toughness(c)}, so it is put into the graveyard ${cite("sbaToughness")}.`,
        );
        rules.add("sbaToughness").add("sbaWhen");
      } else if (c.damage >= toughness(c)) {
        c.zone = "graveyard";
        steps.push(
          `State-based actions: ${c.name} has ${c.damage} damage and toughness ${toughness(c)}, so it is destroyed ${cite("sbaLethal")}.`,
        );
        rules.add("sbaLethal").add("sbaWhen");
      }
    }
  }
  const final = creatures
    .map((c) =>
      c.zone === "battlefield"
        ? `${c.name} survives as a ${power(c)}/${toughness(c)}${c.damage ? ` with ${c.damage} damage` : ""} (damage and until-end-of-turn effects wear off in the cleanup step ${cite("damageWearsOff")})`
        : c.zone === "graveyard"
          ? `${c.name} ends up in the graveyard`
          : `${c.name} is back in its owner's hand`,
    )
    .join("; ");
  if (creatures.some((c) => c.zone === "battlefield" && (c.damage || c.mod))) rules.add("damageWearsOff");
  return { steps, final, rules: [...rules] };
}
