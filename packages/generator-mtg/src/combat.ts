// Combat damage, simulated: one attacker, zero or one legal blocker, first-strike and regular damage steps,
// trample, deathtouch, lifelink, indestructible, and state-based actions after each step.
import { cite, describeCreature, has, subsets, type CreatureSpec, type Keyword, type RuleName } from "./common.js";

const STATS: readonly [number, number][] = [
  [1, 1],
  [2, 1],
  [2, 2],
  [3, 2],
  [3, 3],
  [4, 4],
  [5, 2],
  [6, 6],
];

const ATTACKER_KEYWORDS: readonly Keyword[] = [
  "first strike",
  "double strike",
  "deathtouch",
  "trample",
  "lifelink",
  "flying",
  "indestructible",
];
const BLOCKER_KEYWORDS: readonly Keyword[] = [
  "first strike",
  "double strike",
  "deathtouch",
  "reach",
  "flying",
  "lifelink",
  "indestructible",
];
const LIFE: readonly number[] = [20, 7, 4, 2];

const valid = (ks: readonly Keyword[]) => !(ks.includes("first strike") && ks.includes("double strike"));

export interface CombatScenario {
  attacker: CreatureSpec;
  blocker: CreatureSpec | null;
  defenderLife: number;
  attackerLife: number;
}

function creatures(keywords: readonly Keyword[]): CreatureSpec[] {
  const sets = subsets(keywords, 2).filter(valid);
  return STATS.flatMap(([power, toughness]) => sets.map((ks) => ({ power, toughness, keywords: ks })));
}

/** Can this blocker legally block this attacker (evasion only)? */
export function canBlock(attacker: CreatureSpec, blocker: CreatureSpec): boolean {
  return !has(attacker, "flying") || has(blocker, "flying") || has(blocker, "reach");
}

let pairs: [CreatureSpec, CreatureSpec | null][] | undefined;

export function combatSpace(): { size: number; at(index: number): CombatScenario } {
  if (!pairs) {
    const attackers = creatures(ATTACKER_KEYWORDS);
    const blockers = creatures(BLOCKER_KEYWORDS);
    pairs = attackers.flatMap((a) => [
      [a, null] as [CreatureSpec, null],
      ...blockers.filter((b) => canBlock(a, b)).map((b) => [a, b] as [CreatureSpec, CreatureSpec]),
    ]);
  }
  const all = pairs;
  return {
    size: all.length * LIFE.length,
    at(index: number): CombatScenario {
      const [attacker, blocker] = all[index % all.length]!;
      const defenderLife = LIFE[Math.floor(index / all.length)]!;
      return { attacker, blocker, defenderLife, attackerLife: 20 };
    },
  };
}

interface Fighter {
  spec: CreatureSpec;
  name: string;
  damage: number;
  deathtouched: boolean;
  alive: boolean;
}

export interface CombatResult {
  steps: string[];
  summary: string;
  rules: RuleName[];
}

export function resolveCombat(s: CombatScenario, players: readonly [string, string]): CombatResult {
  const [ap, nap] = players;
  const rules = new Set<RuleName>(["combatDamage", "combatSimultaneous"]);
  const steps: string[] = [];
  const att: Fighter = { spec: s.attacker, name: `${ap}'s attacker`, damage: 0, deathtouched: false, alive: true };
  const blk: Fighter | null = s.blocker ? { spec: s.blocker, name: `${nap}'s blocker`, damage: 0, deathtouched: false, alive: true } : null;
  const life: Record<string, number> = { [ap]: s.attackerLife, [nap]: s.defenderLife };
  const firstStrikers = (f: Fighter) => has(f.spec, "first strike") || has(f.spec, "double strike");
  const anyFirst = firstStrikers(att) || (blk ? firstStrikers(blk) : false);
  if (has(s.attacker, "flying") && blk) {
    steps.push(
      `The block is legal: the attacker has flying and the blocker has ${has(s.blocker!, "flying") ? "flying" : "reach"} ${cite(has(s.blocker!, "flying") ? "flying" : "reach")}.`,
    );
    rules.add(has(s.blocker!, "flying") ? "flying" : "reach");
  }
  const phases: ("first" | "regular")[] = anyFirst ? ["first", "regular"] : ["regular"];
  if (anyFirst) {
    steps.push(
      `Because a creature in this combat has ${[att, blk].some((f) => f && has(f.spec, "double strike")) ? "double strike" : "first strike"}, there are two combat damage steps ${cite("firstStrikeStep")}.`,
    );
    rules.add("firstStrikeStep");
  }
  for (const phase of phases) {
    const dealsNow = (f: Fighter) =>
      f.alive && (phase === "first" ? firstStrikers(f) : !has(f.spec, "first strike") || has(f.spec, "double strike"));
    const events: string[] = [];
    const gains: [string, number][] = [];
    // Attacker
    if (dealsNow(att)) {
      const p = att.spec.power;
      if (has(att.spec, "double strike")) rules.add("doubleStrike");
      else if (phase === "first") rules.add("firstStrike");
      if (!blk) {
        life[nap]! -= p;
        events.push(`the unblocked attacker deals ${p} damage to ${nap} ${cite("playerDamage")}`);
        rules.add("playerDamage");
        if (has(att.spec, "lifelink")) gains.push([ap, p]);
      } else if (!blk.alive) {
        if (has(att.spec, "trample")) {
          life[nap]! -= p;
          events.push(`the attacker's blocker is gone, so with trample it assigns all ${p} damage to ${nap} ${cite("trampleAlone")}`);
          rules.add("trampleAlone");
          if (has(att.spec, "lifelink")) gains.push([ap, p]);
        } else {
          events.push(`the attacker stays blocked although its blocker is gone, so it deals no damage ${cite("remainsBlocked")}`);
          rules.add("remainsBlocked");
        }
      } else {
        let toBlocker = p;
        let toPlayer = 0;
        if (has(att.spec, "trample")) {
          const lethal = has(att.spec, "deathtouch") ? 1 : Math.max(0, blk.spec.toughness - blk.damage);
          toBlocker = Math.min(p, lethal);
          toPlayer = p - toBlocker;
          rules.add("trample");
          if (has(att.spec, "deathtouch")) rules.add("deathtouchLethal");
        }
        if (toBlocker > 0) {
          blk.damage += toBlocker;
          if (has(att.spec, "deathtouch")) blk.deathtouched = true;
        }
        events.push(
          toPlayer > 0
            ? `the attacker assigns ${toBlocker} damage to the blocker (lethal${has(att.spec, "deathtouch") ? ", thanks to deathtouch" : ""}) and tramples over for ${toPlayer} to ${nap} ${cite("trample")}`
            : `the attacker deals ${toBlocker} damage to the blocker`,
        );
        if (toPlayer > 0) life[nap]! -= toPlayer;
        if (has(att.spec, "lifelink") && p > 0) gains.push([ap, p]);
      }
    }
    // Blocker
    if (blk && dealsNow(blk) && att.alive) {
      const p = blk.spec.power;
      if (has(blk.spec, "double strike")) rules.add("doubleStrike");
      else if (phase === "first") rules.add("firstStrike");
      att.damage += p;
      if (has(blk.spec, "deathtouch") && p > 0) att.deathtouched = true;
      events.push(`the blocker deals ${p} damage to the attacker`);
      if (has(blk.spec, "lifelink") && p > 0) gains.push([nap, p]);
    }
    for (const [who, n] of gains) {
      life[who]! += n;
      rules.add("lifelink");
    }
    if (events.length === 0) continue;
    let text = `${phase === "first" ? "First-strike damage step" : anyFirst ? "Regular combat damage step" : "Combat damage step"}: ${events.join("; ")}.`;
    if (gains.length) text += ` Lifelink: ${gains.map(([who, n]) => `${who} gains ${n} life`).join(", ")} ${cite("lifelink")}.`;
    steps.push(text);
    // State-based actions
    for (const f of [att, blk]) {
      if (!f || !f.alive) continue;
      const lethal = f.damage >= f.spec.toughness;
      if ((lethal || f.deathtouched) && has(f.spec, "indestructible")) {
        steps.push(
          `The ${f === att ? "attacker" : "blocker"} has ${lethal ? "lethal damage" : "deathtouch damage"} but is indestructible, so it is not destroyed ${cite("indestructible")}.`,
        );
        rules.add("indestructible");
      } else if (lethal) {
        f.alive = false;
        steps.push(
          `State-based actions: the ${f === att ? "attacker" : "blocker"} has ${f.damage} damage and toughness ${f.spec.toughness}, so it is destroyed ${cite("sbaLethal")}.`,
        );
        rules.add("sbaLethal");
      } else if (f.deathtouched) {
        f.alive = false;
        steps.push(
          `State-based actions: the ${f === att ? "attacker" : "blocker"} was dealt damage by a creature with deathtouch, so it is destroyed ${cite("sbaDeathtouch")}.`,
        );
        rules.add("sbaDeathtouch").add("deathtouch");
      }
    }
    for (const who of [nap, ap]) {
      if (life[who]! <= 0) {
        steps.push(`State-based actions: ${who} is at ${life[who]} life and loses the game ${cite("sbaLife")}.`);
        rules.add("sbaLife");
      }
    }
    if (life[nap]! <= 0 || life[ap]! <= 0) break;
  }
  const fate = (f: Fighter | null, label: string) => (f ? `${label} ${f.alive ? "survives" : "dies"}` : "");
  const summary = [
    fate(att, "The attacker"),
    blk ? fate(blk, "the blocker") : "",
    `${nap} ends at ${life[nap]} life${life[nap]! <= 0 ? " and loses" : ""}`,
    life[ap] !== s.attackerLife ? `${ap} ends at ${life[ap]} life` : "",
  ]
    .filter(Boolean)
    .join("; ");
  return { steps, summary: summary.charAt(0).toUpperCase() + summary.slice(1) + ".", rules: [...rules] };
}

export function describeCombat(s: CombatScenario, players: readonly [string, string]): string {
  const [ap, nap] = players;
  return (
    `${ap} attacks ${nap} (at ${s.defenderLife} life) with ${describeCreature(s.attacker)}. ` +
    (s.blocker ? `${nap} blocks with ${describeCreature(s.blocker)}.` : `${nap} does not block.`) +
    " No other spells or abilities are involved."
  );
}
