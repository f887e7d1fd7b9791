// @neural/generator-mtg: Magic: The Gathering judge questions whose rulings are computed by a small model of the
// rules (stack, priority, state-based actions, combat, keywords, layers) and of tournament policy, explained in
// our own words with rule numbers. No rules text or card text is copied; creatures and spells are generic.
import { type CategorySpace, type Example, type GeneratorDefinition, type Rng } from "@neural/generators";
import { describeCombat, combatSpace, resolveCombat } from "./combat.js";
import { cite, PLAYER_PAIRS, RULE, type RuleName } from "./common.js";
import { describeKeywordQuestion, keywordSpace } from "./keywords.js";
import { abilitySpace, computeAbilities, computePt, describeAbilityEffect, describePtEffect, ptSpace } from "./layers.js";
import { INSTANTS, prioritySequences, simulate, STEPS, type Action } from "./priority.js";
import { judgeSba, sbaSpace } from "./sba.js";
import { describeSpell, resolveStack, stackSpace } from "./stack.js";
import { fillSituation, INFRACTIONS, tournamentSpace } from "./tournament.js";

export { RULE, type RuleName } from "./common.js";
export { resolveCombat, canBlock, type CombatScenario } from "./combat.js";
export { resolveStack, type StackScenario } from "./stack.js";
export { computePt, computeAbilities } from "./layers.js";
export { simulate as simulatePriority } from "./priority.js";
export { judgeSba, CONDITIONS as SBA_CONDITIONS } from "./sba.js";
export { judgeBlock, judgeTarget, judgeAttack } from "./keywords.js";
export { INFRACTIONS } from "./tournament.js";

const players = (rng: Rng): readonly [string, string] => rng.pick(PLAYER_PAIRS);

/** "Rules: 117.4 (when every player passes ...); 608.2b (...)." */
function rulesLine(rules: readonly RuleName[]): string {
  const sorted = [...new Set(rules)].sort((a, b) => RULE[a][0].localeCompare(RULE[b][0], "en", { numeric: true }));
  return `Rules involved: ${sorted.map((r) => `${RULE[r][0]} (${RULE[r][1]})`).join("; ")}.`;
}

const numbered = (lines: readonly string[]): string => lines.map((l, i) => `${i + 1}. ${l}`).join("\n");

function stackCategory(): CategorySpace {
  const space = stackSpace();
  return {
    name: "stack",
    weight: 1,
    size: space.size,
    description: "resolve a stack of spells cast in response to each other",
    at(index, rng): Example {
      const s = space.at(index);
      const [a, b] = players(rng);
      const names: [string, string] = [
        `${a}'s ${s.creatures[0].power}/${s.creatures[0].toughness}`,
        `${b}'s ${s.creatures[1].power}/${s.creatures[1].toughness}`,
      ];
      const casts = s.spells.map(
        (spell, i) => `${i + 1}. ${i % 2 === 0 ? a : b} casts ${describeSpell(spell, names, i)}${i ? ", in response" : ""}.`,
      );
      const result = resolveStack(s, [a, b], names);
      return {
        instruction: rng.pick([
          "As a judge, resolve this stack and give the final state of the creatures.",
          "Work out how this stack resolves. What happens to each creature?",
          "Both players pass priority each time. Resolve the stack step by step.",
          "Explain the ruling: in what order do these spells resolve, and what is the result?",
        ]),
        input: `${a} is the active player. ${a} controls a ${s.creatures[0].power}/${s.creatures[0].toughness} creature; ${b} controls a ${s.creatures[1].power}/${s.creatures[1].toughness} creature. Neither creature has any abilities or damage. In ${a}'s main phase:\n${casts.join("\n")}\nNo one does anything else, and both players pass priority whenever they can.`,
        output: `The stack resolves last in, first out, and state-based actions are checked before each new priority.\n${numbered(result.steps)}\nResult: ${result.final}.\n\n${rulesLine(result.rules)}`,
      };
    },
  };
}

function combatCategory(): CategorySpace {
  const space = combatSpace();
  return {
    name: "combat",
    weight: 1,
    size: space.size,
    description: "combat damage with first strike, double strike, trample, deathtouch, lifelink and indestructible",
    at(index, rng): Example {
      const s = space.at(index);
      const p = players(rng);
      const r = resolveCombat(s, p);
      return {
        instruction: rng.pick([
          "What happens in this combat? Give the damage, the creatures that die and the life totals.",
          "Resolve combat damage and explain the result.",
          "As a judge, walk through the combat damage step(s) for this attack.",
          "Who survives this combat, and what are the life totals afterwards?",
        ]),
        input: describeCombat(s, p),
        output: `${numbered(r.steps)}\nResult: ${r.summary}\n\n${rulesLine(r.rules)}`,
      };
    },
  };
}

function sbaCategory(): CategorySpace {
  const space = sbaSpace();
  return {
    name: "state_based_actions",
    weight: 1,
    size: space.size,
    description: "which state-based actions apply to a game snapshot",
    at(index, rng): Example {
      const s = space.at(index);
      const p = players(rng);
      const j = judgeSba(s, p);
      return {
        instruction: rng.pick([
          "State-based actions are about to be checked. Which of them apply, and what happens?",
          "A player is about to receive priority. Which state-based actions are performed?",
          "Judge call: given this game state, what do state-based actions do?",
        ]),
        input: s.conditions.map(([c, v]) => c.describe(v, p)).join(" "),
        output: `State-based actions are checked all at once, and everything that applies happens simultaneously.\n${numbered(j.lines)}\n${j.verdict}\n\n${rulesLine(j.rules)}`,
      };
    },
  };
}

function layersCategory(): CategorySpace {
  const pt = ptSpace();
  const abilities = abilitySpace();
  return {
    name: "layers",
    weight: 1,
    size: pt.size + abilities.size,
    description: "continuous effects applied by layer and timestamp",
    at(index, rng): Example {
      const p = players(rng);
      if (index < pt.size) {
        const s = pt.at(index);
        const r = computePt(s);
        return {
          instruction: rng.pick([
            "What are this creature's power and toughness? Explain with the layer system.",
            "Apply the layers: what is the creature's final power/toughness?",
            "Judge question on layers: work out the creature's power and toughness.",
          ]),
          input: `${p[0]} controls a creature printed as ${s.base[0]}/${s.base[1]}. These apply to it, in timestamp order:\n${s.effects.map((e, i) => `${i + 1}. ${describePtEffect(e)}`).join("\n")}`,
          output: `It is ${r.result[0]}/${r.result[1]}.\n${numbered(r.steps)}\n\n${rulesLine(r.rules)}`,
        };
      }
      const s = abilities.at(index - pt.size);
      const r = computeAbilities(s);
      return {
        instruction: rng.pick([
          "Which abilities does the creature have at the end? Use the layer rules.",
          "After these effects, what abilities does the creature have?",
          "Apply layer 6 in timestamp order and list the creature's abilities.",
        ]),
        input: `${p[0]} controls a creature printed with ${s.printed.length ? s.printed.join(" and ") : "no abilities"}. These effects apply to it, in timestamp order:\n${s.effects.map((e, i) => `${i + 1}. ${describeAbilityEffect(e)}`).join("\n")}`,
        output: `It ends with ${r.result.length ? r.result.join(" and ") : "no abilities"}.\n${numbered(r.steps)}\n\n${rulesLine(r.rules)}`,
      };
    },
  };
}

function priorityCategory(): CategorySpace {
  const sequences = prioritySequences(5);
  return {
    name: "priority",
    weight: 1,
    size: sequences.length * STEPS.length,
    description: "who holds priority, and when the stack resolves or the step ends",
    at(index, rng): Example {
      const stepIndex = index % STEPS.length;
      const actions: Action[] = sequences[Math.floor(index / STEPS.length)]!;
      const p = players(rng);
      const sim = simulate(actions, p, stepIndex);
      const described = actions.map((action, i) =>
        action.kind === "cast" ? `${sim.actors[i]} casts ${INSTANTS[action.spell]}.` : `${sim.actors[i]} passes priority.`,
      );
      return {
        instruction: rng.pick([
          "Who has priority now, and what happens next?",
          "Trace priority through these actions. What is the situation at the end?",
          "As a judge, explain what each action does to priority and the stack.",
        ]),
        input: `It is ${p[0]}'s turn, in the ${STEPS[stepIndex]!.name}. ${p[0]} has just received priority and the stack is empty. Then, in order:\n${described.map((d, i) => `${i + 1}. ${d}`).join("\n")}`,
        output: `At the start of the step ${p[0]}, the active player, receives priority ${cite("priorityStart")}.\n${numbered(sim.lines)}\nNow: ${sim.next}\n\n${rulesLine(sim.rules)}`,
      };
    },
  };
}

function keywordCategory(): CategorySpace {
  const space = keywordSpace();
  return {
    name: "keywords",
    weight: 1,
    size: space.size,
    description: "keyword abilities: blocking, targeting and attacking legality",
    at(index, rng): Example {
      const q = describeKeywordQuestion(space.at(index), players(rng));
      return {
        instruction: rng.pick([
          "Answer this rules question and explain why.",
          "Judge call about keyword abilities:",
          "Is this allowed? Explain with the relevant rules.",
        ]),
        input: q.question,
        output: `${q.answer}${q.rules.length ? `\n\n${rulesLine(q.rules)}` : ""}`,
      };
    },
  };
}

function tournamentCategory(): CategorySpace {
  const space = tournamentSpace();
  return {
    name: "tournament",
    weight: 1,
    size: space.size,
    description: "tournament infractions and penalties at Competitive REL",
    at(index, rng): Example {
      const c = space.at(index);
      const p = players(rng);
      const inf = INFRACTIONS[c.situation.infraction];
      const note = c.situation.note ? ` Also, ${fillSituation(c.situation.note, c.values, p)}` : "";
      return {
        instruction: rng.pick([
          "At a Competitive REL tournament, what is the infraction and the penalty?",
          "You are the floor judge at a Competitive event. Which infraction is this, and what penalty applies?",
          "Name the infraction, the penalty and the section of the Infraction Procedure Guide for this incident (Competitive REL).",
        ]),
        input: `Round ${c.round}. ${fillSituation(c.situation.text, c.values, p)}`,
        output: `Infraction: ${inf.name} (IPG ${inf.section}). Penalty: ${inf.penalty}.\n\nWhy: ${inf.gist}.${note}`,
      };
    },
  };
}

export function mtgSpaces(): CategorySpace[] {
  return [stackCategory(), priorityCategory(), sbaCategory(), combatCategory(), keywordCategory(), layersCategory(), tournamentCategory()];
}

export const mtgGenerator: GeneratorDefinition = {
  name: "mtg",
  summary:
    "Magic: The Gathering judge questions with rulings computed by a model of the rules: stack resolution, priority, state-based actions, combat damage, keyword abilities, layers, and tournament infractions; explanations in our own words with rule numbers.",
  options: [],
  defaultOutput: "data/mtg.jsonl",
  defaultCount: 1000,
  prepare: () => mtgSpaces(),
};
