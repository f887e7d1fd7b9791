// Keyword abilities as questions of legality: can this block that, can this spell target that, can this creature
// attack (and does it tap)? Each answer is computed from the keyword model, not looked up.
import { digits, joinList, product } from "@neural/generators";
import { cite, type RuleName } from "./common.js";

const PT: readonly [number, number][] = [
  [1, 1],
  [2, 2],
  [3, 3],
  [2, 5],
  [5, 1],
  [4, 4],
];

// --- blocking -------------------------------------------------------------------------------------------------
type AttackerEvasion = "none" | "flying" | "menace" | "flying and menace";
type BlockerTrait = "none" | "flying" | "reach" | "defender" | "defender and reach";
const EVASIONS: readonly AttackerEvasion[] = ["none", "flying", "menace", "flying and menace"];
const TRAITS: readonly BlockerTrait[] = ["none", "flying", "reach", "defender", "defender and reach"];
const BLOCKER_COUNTS = [1, 2] as const;

export interface BlockQuestion {
  kind: "block";
  attacker: [number, number];
  evasion: AttackerEvasion;
  blocker: [number, number];
  trait: BlockerTrait;
  blockers: 1 | 2;
}

export function judgeBlock(q: BlockQuestion): { legal: boolean; reasons: string[]; rules: RuleName[] } {
  const reasons: string[] = [];
  const rules = new Set<RuleName>(["blockRestrictions"]);
  let legal = true;
  const flying = q.evasion.includes("flying");
  const menace = q.evasion.includes("menace");
  if (flying) {
    const ok = q.trait.includes("flying") || q.trait.includes("reach");
    rules.add("flying");
    if (q.trait.includes("reach")) rules.add("reach");
    if (ok)
      reasons.push(
        `flying does not stop ${q.blockers === 2 ? "these blockers" : "this blocker"}, because ${q.trait.includes("reach") ? "reach lets a creature block fliers" : "a creature with flying may block a flier"} ${cite(q.trait.includes("reach") ? "reach" : "flying")}`,
      );
    else {
      legal = false;
      reasons.push(`the attacker has flying, and a creature without flying or reach can't block it ${cite("flying")}`);
    }
  }
  if (menace) {
    if (q.blockers === 2)
      reasons.push(
        "menace is satisfied because two creatures block together (menace means it can't be blocked except by two or more creatures)",
      );
    else {
      legal = false;
      reasons.push("the attacker has menace, so a single creature can't block it; it takes two or more blockers");
    }
  }
  if (q.trait.includes("defender"))
    (reasons.push(`defender only stops a creature from attacking, not from blocking ${cite("defender")}`), rules.add("defender"));
  if (!flying && !menace) reasons.push("the attacker has no evasion ability, so any untapped creature may block it");
  return { legal, reasons, rules: [...rules] };
}

// --- targeting ------------------------------------------------------------------------------------------------
type Protection = "hexproof" | "shroud" | "protection from red" | "ward {2}" | "no ability";
const PROTECTIONS: readonly Protection[] = ["hexproof", "shroud", "protection from red", "ward {2}", "no ability"];
const SPELLS: readonly { text: string; color: string }[] = [
  { text: "a red instant that deals 3 damage to target creature", color: "red" },
  { text: "a green instant that gives target creature +2/+2 until end of turn", color: "green" },
  { text: "a blue instant that returns target creature to its owner's hand", color: "blue" },
  { text: "a red instant that gives target creature +1/+0 and first strike until end of turn", color: "red" },
];
const CASTERS = ["controller", "opponent"] as const;

export interface TargetQuestion {
  kind: "target";
  creature: [number, number];
  protection: Protection;
  spell: number;
  caster: "controller" | "opponent";
}

export function judgeTarget(q: TargetQuestion): { legal: boolean; text: string; rules: RuleName[] } {
  const spell = SPELLS[q.spell]!;
  const own = q.caster === "controller";
  switch (q.protection) {
    case "hexproof":
      return own
        ? {
            legal: true,
            text: `Yes. Hexproof only stops opponents' spells and abilities from targeting it; its controller may target it freely ${cite("hexproof")}.`,
            rules: ["hexproof"],
          }
        : {
            legal: false,
            text: `No. Hexproof means it can't be the target of spells or abilities its opponents control ${cite("hexproof")}.`,
            rules: ["hexproof"],
          };
    case "shroud":
      return {
        legal: false,
        text: `No. Shroud stops every spell and ability from targeting it, including ones its own controller controls ${cite("shroud")}.`,
        rules: ["shroud"],
      };
    case "protection from red":
      return spell.color === "red"
        ? {
            legal: false,
            text: `No. Protection from red means red spells can't target it, whoever casts them ${cite("protection")}.`,
            rules: ["protection"],
          }
        : {
            legal: true,
            text: `Yes. Protection from red says nothing about ${spell.color} spells, so this one may target it ${cite("protection")}.`,
            rules: ["protection"],
          };
    case "ward {2}":
      return own
        ? {
            legal: true,
            text: `Yes, and ward does nothing here: it only triggers when an opponent's spell or ability targets the creature ${cite("ward")}.`,
            rules: ["ward"],
          }
        : {
            legal: true,
            text: `Yes, it can be targeted, but ward then triggers: the spell is countered unless its caster pays {2} ${cite("ward")}.`,
            rules: ["ward"],
          };
    case "no ability":
      return { legal: true, text: "Yes. Nothing prevents the creature from being targeted.", rules: [] };
  }
}

// --- attacking ------------------------------------------------------------------------------------------------
export interface AttackQuestion {
  kind: "attack";
  creature: [number, number];
  arrived: "this turn" | "before this turn";
  haste: boolean;
  defender: boolean;
  vigilance: boolean;
}

export function judgeAttack(q: AttackQuestion): { canAttack: boolean; tapsWhenAttacking: boolean; reasons: string[]; rules: RuleName[] } {
  const rules = new Set<RuleName>();
  const reasons: string[] = [];
  let canAttack = true;
  if (q.defender) {
    canAttack = false;
    reasons.push(`it has defender, so it can't attack at all ${cite("defender")}`);
    rules.add("defender");
  }
  if (q.arrived === "this turn") {
    rules.add("summoningSickness");
    if (q.haste) {
      reasons.push(`it came under its controller's control this turn, but haste removes that restriction ${cite("haste")}`);
      rules.add("haste");
    } else {
      canAttack = false;
      reasons.push(
        `it came under its controller's control this turn and has no haste, so it can't attack yet ${cite("summoningSickness")}`,
      );
    }
  } else reasons.push("its controller has controlled it continuously since the start of the turn, so it is ready to attack");
  const taps = canAttack && !q.vigilance;
  if (canAttack) {
    if (q.vigilance) {
      reasons.push(`with vigilance it does not tap when it attacks ${cite("vigilance")}`);
      rules.add("vigilance");
    } else reasons.push("attacking taps it, since it has no vigilance");
  }
  return { canAttack, tapsWhenAttacking: taps, reasons, rules: [...rules] };
}

export type KeywordQuestion = BlockQuestion | TargetQuestion | AttackQuestion;

export function keywordSpace(): { size: number; at(index: number): KeywordQuestion } {
  const block = [PT.length, EVASIONS.length, PT.length, TRAITS.length, BLOCKER_COUNTS.length];
  const target = [PT.length, PROTECTIONS.length, SPELLS.length, CASTERS.length];
  const attack = [PT.length, 2, 2, 2, 2];
  const sizes = [product(block), product(target), product(attack)];
  return {
    size: sizes[0]! + sizes[1]! + sizes[2]!,
    at(index: number): KeywordQuestion {
      if (index < sizes[0]!) {
        const d = digits(index, block);
        return {
          kind: "block",
          attacker: PT[d[0]!]!,
          evasion: EVASIONS[d[1]!]!,
          blocker: PT[d[2]!]!,
          trait: TRAITS[d[3]!]!,
          blockers: BLOCKER_COUNTS[d[4]!]!,
        };
      }
      index -= sizes[0]!;
      if (index < sizes[1]!) {
        const d = digits(index, target);
        return { kind: "target", creature: PT[d[0]!]!, protection: PROTECTIONS[d[1]!]!, spell: d[2]!, caster: CASTERS[d[3]!]! };
      }
      const d = digits(index - sizes[1]!, attack);
      return {
        kind: "attack",
        creature: PT[d[0]!]!,
        arrived: d[1] ? "this turn" : "before this turn",
        haste: d[2] === 1,
        defender: d[3] === 1,
        vigilance: d[4] === 1,
      };
    },
  };
}

export function describeKeywordQuestion(
  q: KeywordQuestion,
  [a, b]: readonly [string, string],
): { question: string; answer: string; rules: RuleName[] } {
  if (q.kind === "block") {
    const evasion = q.evasion === "none" ? "" : ` with ${q.evasion}`;
    const trait = q.trait === "none" ? "" : ` with ${q.trait}`;
    const blockers =
      q.blockers === 1 ? `a ${q.blocker[0]}/${q.blocker[1]} creature${trait}` : `two ${q.blocker[0]}/${q.blocker[1]} creatures${trait}`;
    const j = judgeBlock(q);
    return {
      question: `${a} attacks with a ${q.attacker[0]}/${q.attacker[1]} creature${evasion}. ${b} wants to block it with ${blockers}. Is that block legal?`,
      answer: `${j.legal ? "Yes, the block is legal." : "No, the block is not legal."} ${j.reasons.map((r) => r.charAt(0).toUpperCase() + r.slice(1) + ".").join(" ")} Blocks must respect every restriction on blocking ${cite("blockRestrictions")}.`,
      rules: j.rules,
    };
  }
  if (q.kind === "target") {
    const spell = SPELLS[q.spell]!;
    const caster = q.caster === "controller" ? a : b;
    const ability = q.protection === "no ability" ? "" : ` with ${q.protection}`;
    const j = judgeTarget(q);
    return {
      question: `${a} controls a ${q.creature[0]}/${q.creature[1]} creature${ability}. Can ${caster} cast ${spell.text}, targeting it?`,
      answer: j.text,
      rules: j.rules,
    };
  }
  const traits = [q.haste ? "haste" : "", q.defender ? "defender" : "", q.vigilance ? "vigilance" : ""].filter(Boolean);
  const j = judgeAttack(q);
  return {
    question: `It is ${a}'s turn. ${a} controls a ${q.creature[0]}/${q.creature[1]} creature${traits.length ? ` with ${joinList(traits)}` : ""} that entered the battlefield ${q.arrived}. Can it attack ${b}, and if so, is it tapped afterwards?`,
    answer: `${j.canAttack ? `Yes, it can attack${j.tapsWhenAttacking ? ", and it becomes tapped" : " and stays untapped"}.` : "No, it can't attack."} ${j.reasons.map((r) => r.charAt(0).toUpperCase() + r.slice(1) + ".").join(" ")}`,
    rules: j.rules,
  };
}
