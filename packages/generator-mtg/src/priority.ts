// Priority, simulated: a step of a turn, the active player receives priority, and a sequence of actions (casting
// an instant or passing) by whoever holds priority. The question is what happens next.
import { cite, type RuleName } from "./common.js";

export const STEPS: readonly { name: string; next: string }[] = [
  { name: "upkeep step", next: "the draw step" },
  { name: "draw step", next: "the precombat main phase" },
  { name: "precombat main phase", next: "the beginning of combat step" },
  { name: "beginning of combat step", next: "the declare attackers step" },
  { name: "declare blockers step", next: "the combat damage step" },
  { name: "end of combat step", next: "the postcombat main phase" },
  { name: "end step", next: "the cleanup step" },
];

export const INSTANTS: readonly string[] = [
  "an instant that draws a card",
  "an instant that gains 3 life",
  "an instant that deals 2 damage to a creature",
  "an instant that taps a creature",
];

export type Action = { kind: "pass" } | { kind: "cast"; spell: number };

/** Every action sequence of length 1..maxLength that stops no later than the moment the step ends. */
export function prioritySequences(maxLength: number): Action[][] {
  const out: Action[][] = [];
  const choices: Action[] = [{ kind: "pass" }, ...INSTANTS.map((_, spell) => ({ kind: "cast" as const, spell }))];
  const rec = (seq: Action[]) => {
    if (seq.length > 0) out.push(seq);
    if (seq.length === maxLength) return;
    if (seq.length > 0 && simulate(seq, ["A", "B"], 0).stepEnded) return;
    for (const c of choices) rec([...seq, c]);
  };
  rec([]);
  return out;
}

export interface PriorityOutcome {
  lines: string[];
  /** Who took each action (whoever held priority at that moment). */
  actors: string[];
  /** What happens after the last action. */
  next: string;
  stepEnded: boolean;
  rules: RuleName[];
}

export function simulate(actions: readonly Action[], players: readonly [string, string], stepIndex: number): PriorityOutcome {
  const rules = new Set<RuleName>(["priorityStart"]);
  const step = STEPS[stepIndex]!;
  const lines: string[] = [];
  const actors: string[] = [];
  const stack: { spell: number; caster: string }[] = [];
  let holder = 0; // the active player
  let passes = 0;
  let stepEnded = false;
  let next = "";
  const resolveOrEnd = (): string => {
    rules.add("allPass");
    if (stack.length) {
      const top = stack.pop()!;
      rules.add("stack").add("priorityAfterResolve");
      holder = 0;
      passes = 0;
      return `both players have passed in succession with ${INSTANTS[top.spell]} (${top.caster}'s) on top of the stack, so it resolves ${cite("allPass")}; then ${players[0]}, the active player, receives priority ${cite("priorityAfterResolve")}`;
    }
    stepEnded = true;
    return `both players have passed in succession with an empty stack, so the ${step.name} ends and the game moves to ${step.next} ${cite("allPass")}`;
  };
  for (const action of actions) {
    const who = players[holder]!;
    actors.push(who);
    if (action.kind === "cast") {
      stack.push({ spell: action.spell, caster: who });
      passes = 0;
      rules.add("priorityAfterCast");
      lines.push(`${who} casts ${INSTANTS[action.spell]} and receives priority again ${cite("priorityAfterCast")}.`);
    } else {
      passes++;
      rules.add("priorityPass");
      if (passes === 2) {
        lines.push(`${who} passes; ${resolveOrEnd()}.`);
      } else {
        holder = 1 - holder;
        lines.push(`${who} passes, and priority goes to ${players[holder]} ${cite("priorityPass")}.`);
      }
    }
  }
  if (stepEnded) next = `The ${step.name} is over; the game proceeds to ${step.next}.`;
  else {
    const top = stack[stack.length - 1];
    next =
      `${players[holder]} holds priority. ` +
      (stack.length
        ? `The stack holds ${stack.length} object${stack.length > 1 ? "s" : ""}, with ${INSTANTS[top!.spell]} (${top!.caster}'s) on top. `
        : "The stack is empty. ") +
      (passes === 1
        ? `${players[1 - holder]} has just passed, so if ${players[holder]} passes too, ${stack.length ? "the top object resolves" : `the ${step.name} ends`}; if ${players[holder]} acts instead, ${players[1 - holder]} will get another chance to respond.`
        : `Nothing resolves until both players pass in succession.`);
  }
  return { lines, actors, next, stepEnded, rules: [...rules] };
}
