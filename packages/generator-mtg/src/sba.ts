// State-based actions: a snapshot of the game with several conditions at once; every applicable action happens
// simultaneously, and the answer says which ones apply, which don't, and why.
import { digits, product } from "@neural/generators";
import { cite, type RuleName } from "./common.js";

export interface Condition {
  id: string;
  /** Parameter choices. */
  options: readonly number[];
  describe(p: number, players: readonly [string, string]): string;
  /** What happens (or why nothing does), and the rule. */
  judge(p: number, players: readonly [string, string]): { applies: boolean; text: string; rule: RuleName; loser?: string };
}

export const CONDITIONS: readonly Condition[] = [
  {
    id: "life",
    options: [-3, 0, 1, 5],
    describe: (p, [a]) => `${a} is at ${p} life.`,
    judge: (p, [a]) =>
      p <= 0
        ? { applies: true, text: `${a}, at ${p} life, loses the game`, rule: "sbaLife", loser: a }
        : { applies: false, text: `${a} is at ${p} life, which is above 0, so nothing happens to ${a} for life`, rule: "sbaLife" },
  },
  {
    id: "poison",
    options: [8, 9, 10, 12],
    describe: (p, [, b]) => `${b} has ${p} poison counters.`,
    judge: (p, [, b]) =>
      p >= 10
        ? { applies: true, text: `${b}, with ${p} poison counters, loses the game`, rule: "sbaPoison", loser: b }
        : { applies: false, text: `${b} has only ${p} poison counters, fewer than ten, so that is not yet a loss`, rule: "sbaPoison" },
  },
  {
    id: "empty-draw",
    options: [0, 1],
    describe: (p, [, b]) =>
      p
        ? `Since the last check, ${b} was instructed to draw a card with an empty library.`
        : `${b}'s library is empty, but ${b} has not had to draw from it yet.`,
    judge: (p, [, b]) =>
      p
        ? { applies: true, text: `${b} tried to draw from an empty library and loses the game`, rule: "sbaDraw", loser: b }
        : { applies: false, text: `an empty library alone does not make ${b} lose; only an attempted draw does`, rule: "sbaDraw" },
  },
  {
    id: "damage",
    options: [1, 2, 3, 4],
    describe: (p) => `A 3/3 creature has ${p} damage marked on it.`,
    judge: (p) =>
      p >= 3
        ? { applies: true, text: `the 3/3 with ${p} damage is destroyed`, rule: "sbaLethal" }
        : { applies: false, text: `the 3/3 with ${p} damage survives, since ${p} is less than its toughness`, rule: "sbaLethal" },
  },
  {
    id: "counters",
    // p encodes (+1/+1 counters, -1/-1 counters) on a 2/2: tens digit and units digit
    options: [2, 3, 11, 12, 13, 21, 23, 32],
    describe: (p) => {
      const plus = Math.floor(p / 10);
      const minus = p % 10;
      const counters = [plus ? `${plus} +1/+1 counter${plus === 1 ? "" : "s"}` : "", `${minus} -1/-1 counter${minus === 1 ? "" : "s"}`]
        .filter(Boolean)
        .join(" and ");
      return `A 2/2 creature has ${counters} on it.`;
    },
    judge: (p) => {
      const plus = Math.floor(p / 10);
      const minus = p % 10;
      const t = 2 + plus - minus;
      const pairs = Math.min(plus, minus);
      const pairText = pairs
        ? `${pairs} pair${pairs === 1 ? "" : "s"} of +1/+1 and -1/-1 counters ${pairs === 1 ? "is" : "are"} removed`
        : "";
      if (t <= 0)
        return {
          applies: true,
          text: `the 2/2 has toughness ${t} with its counters and is put into the graveyard${pairText ? ` (at the same time ${pairText} ${cite("sbaCounters")})` : ""}`,
          rule: "sbaToughness",
        };
      return pairs
        ? { applies: true, text: `${pairText}, and the creature stays a ${2 + plus - minus}/${t}`, rule: "sbaCounters" }
        : { applies: false, text: `the 2/2 with only -1/-1 counters is still ${2 - minus}/${t} and survives`, rule: "sbaToughness" };
    },
  },
  {
    id: "deathtouch",
    options: [1, 2],
    describe: (p) => `A 5/5 creature was dealt ${p} damage by a source with deathtouch since the last check.`,
    judge: () => ({ applies: true, text: "the 5/5 dealt deathtouch damage is destroyed, however small the damage", rule: "sbaDeathtouch" }),
  },
  {
    id: "loyalty",
    options: [0, 1],
    describe: (p, [a]) => `${a}'s planeswalker has ${p} loyalty counter${p === 1 ? "" : "s"}.`,
    judge: (p, [a]) =>
      p === 0
        ? { applies: true, text: `${a}'s planeswalker with 0 loyalty goes to the graveyard`, rule: "sbaLoyalty" }
        : { applies: false, text: `${a}'s planeswalker still has 1 loyalty and stays`, rule: "sbaLoyalty" },
  },
  {
    id: "legend",
    options: [1, 2],
    describe: (p, [a, b]) =>
      p === 1
        ? `${a} controls two legendary permanents with the same name.`
        : `${a} and ${b} each control one legendary permanent, and both have the same name.`,
    judge: (p, [a]) =>
      p === 1
        ? {
            applies: true,
            text: `${a} chooses one of the two same-name legendary permanents and puts the other into the graveyard`,
            rule: "sbaLegend",
          }
        : {
            applies: false,
            text: "the legend rule looks at each player separately, so two players may each keep a legendary permanent with the same name",
            rule: "sbaLegend",
          },
  },
  {
    id: "aura",
    options: [0, 1],
    describe: (p) =>
      p
        ? "An Aura is on the battlefield but the creature it enchanted has just left the battlefield."
        : "An Aura enchants a creature that is still on the battlefield.",
    judge: (p) =>
      p
        ? { applies: true, text: "the Aura that is attached to nothing goes to its owner's graveyard", rule: "sbaAura" }
        : { applies: false, text: "the Aura is legally attached, so it stays", rule: "sbaAura" },
  },
  {
    id: "token",
    options: [0, 1],
    describe: (p) => (p ? "A creature token has just been put into a graveyard." : "A creature token is on the battlefield."),
    judge: (p) =>
      p
        ? { applies: true, text: "the token in the graveyard ceases to exist", rule: "sbaToken" }
        : { applies: false, text: "the token on the battlefield is unaffected", rule: "sbaToken" },
  },
  {
    id: "indestructible",
    options: [4, 10],
    describe: (p) => `An indestructible 4/4 creature has ${p} damage marked on it.`,
    judge: () => ({
      applies: false,
      text: `the indestructible 4/4 is not destroyed by its lethal damage ${cite("indestructible")}`,
      rule: "sbaLethal",
    }),
  },
  {
    id: "indestructible-shrunk",
    options: [4, 5],
    describe: (p) => `An indestructible 3/3 creature has ${p === 4 ? "three" : "four"} -1/-1 counters on it.`,
    judge: (p) => ({
      applies: true,
      text: `the indestructible 3/3 now has toughness ${3 - (p - 1)}, and toughness 0 or less puts it into the graveyard even though it is indestructible`,
      rule: "sbaToughness",
    }),
  },
];

export interface SbaScenario {
  conditions: [Condition, number][];
}

/** Three conditions at a time (in catalogue order), each with each of its parameter values. */
export function sbaSpace(): { size: number; at(index: number): SbaScenario } {
  const triples: Condition[][] = [];
  for (let i = 0; i < CONDITIONS.length; i++)
    for (let j = i + 1; j < CONDITIONS.length; j++)
      for (let k = j + 1; k < CONDITIONS.length; k++) triples.push([CONDITIONS[i]!, CONDITIONS[j]!, CONDITIONS[k]!]);
  const sizes = triples.map((t) => product(t.map((c) => c.options.length)));
  const offsets: number[] = [];
  let total = 0;
  for (const s of sizes) {
    offsets.push(total);
    total += s;
  }
  return {
    size: total,
    at(index: number): SbaScenario {
      let t = 0;
      while (t + 1 < offsets.length && offsets[t + 1]! <= index) t++;
      const triple = triples[t]!;
      const d = digits(
        index - offsets[t]!,
        triple.map((c) => c.options.length),
      );
      return { conditions: triple.map((c, i) => [c, c.options[d[i]!]!]) };
    },
  };
}

export function judgeSba(s: SbaScenario, players: readonly [string, string]): { lines: string[]; verdict: string; rules: RuleName[] } {
  const rules = new Set<RuleName>(["sbaWhen"]);
  const lines: string[] = [];
  const losers: string[] = [];
  for (const [c, p] of s.conditions) {
    const j = c.judge(p, players);
    rules.add(j.rule);
    lines.push(`${j.applies ? "Applies" : "Does not apply"}: ${j.text} ${cite(j.rule)}.`);
    if (j.loser && !losers.includes(j.loser)) losers.push(j.loser);
  }
  let verdict: string;
  if (losers.length === 2) {
    verdict = `Both players lose at the same moment, so the game is a draw ${cite("draw")}.`;
    rules.add("draw");
  } else if (losers.length === 1) verdict = `${losers[0]} loses the game; everything else listed above happens at the same time.`;
  else verdict = "No player loses; the actions that apply all happen at the same time, in a single check.";
  return { lines, verdict, rules: [...rules] };
}
