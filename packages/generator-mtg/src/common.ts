// Shared pieces of the MTG judge model: players, creatures, keywords, and the rule numbers we cite.
// Every explanation is written in our own words; only rule *numbers* refer to the Comprehensive Rules and the
// Infraction Procedure Guide. No rules text and no card text is reproduced; creatures are described generically.
import { joinList } from "@neural/generators";

export const PLAYER_PAIRS: readonly (readonly [string, string])[] = [
  ["Ana", "Ben"],
  ["Cleo", "Dev"],
  ["Eli", "Fay"],
  ["Gus", "Hana"],
  ["Ivo", "Jun"],
  ["Kai", "Lea"],
  ["Mo", "Nia"],
  ["Oren", "Pia"],
];

export type Keyword =
  | "flying"
  | "reach"
  | "first strike"
  | "double strike"
  | "deathtouch"
  | "trample"
  | "lifelink"
  | "indestructible"
  | "vigilance"
  | "haste"
  | "defender"
  | "menace"
  | "hexproof"
  | "shroud";

/** Rule numbers with a one-line summary in our words. */
export const RULE = {
  priorityStart: ["117.3a", "the active player gets priority at the start of most steps and phases"],
  priorityAfterResolve: ["117.3b", "after a spell or ability resolves, the active player gets priority"],
  priorityAfterCast: ["117.3c", "a player who casts a spell or activates an ability gets priority again afterwards"],
  priorityPass: ["117.3d", "passing priority hands it to the next player in turn order"],
  allPass: ["117.4", "when every player passes in a row, the top object of the stack resolves, or the step ends if the stack is empty"],
  stack: ["405.5", "objects on the stack resolve one at a time, last in first out"],
  resolve: ["608.2", "a resolving spell follows its instructions in order"],
  illegalTargets: ["608.2b", "a spell whose targets have all become illegal does not resolve and does nothing"],
  damageMarked: ["120.3e", "damage dealt to a creature stays marked on it"],
  damageWearsOff: ["514.2", "in the cleanup step marked damage is removed and until-end-of-turn effects end"],
  playerDamage: ["120.3a", "damage dealt to a player makes that player lose that much life"],
  sbaWhen: ["704.3", "state-based actions are checked whenever a player would receive priority, and all applicable ones happen at once"],
  sbaLife: ["704.5a", "a player with 0 or less life loses the game"],
  sbaDraw: ["704.5b", "a player who tried to draw from an empty library since the last check loses the game"],
  sbaPoison: ["704.5c", "a player with ten or more poison counters loses the game"],
  sbaToken: ["704.5d", "a token that is in a zone other than the battlefield ceases to exist"],
  sbaToughness: ["704.5f", "a creature with toughness 0 or less is put into its owner's graveyard"],
  sbaLethal: ["704.5g", "a creature with damage marked on it at least equal to its toughness is destroyed"],
  sbaDeathtouch: ["704.5h", "a creature dealt damage by a source with deathtouch since the last check is destroyed"],
  sbaLoyalty: ["704.5i", "a planeswalker with 0 loyalty is put into its owner's graveyard"],
  sbaLegend: [
    "704.5j",
    "if a player controls two or more legendary permanents with the same name, that player keeps one and puts the rest into the graveyard",
  ],
  sbaAura: ["704.5m", "an Aura that is not attached to anything, or attached illegally, is put into its owner's graveyard"],
  sbaCounters: ["704.5q", "if a permanent has both +1/+1 and -1/-1 counters, pairs of them are removed"],
  draw: ["104.4a", "if every player loses at the same time, the game is a draw"],
  combatDamage: ["510.1", "each attacking and blocking creature assigns combat damage equal to its power"],
  combatSimultaneous: ["510.2", "combat damage in one step is dealt at the same time"],
  firstStrikeStep: ["510.4", "if a creature has first strike or double strike, there is an extra combat damage step before the normal one"],
  remainsBlocked: ["509.1h", "an attacking creature stays blocked even if its blocker leaves combat"],
  blockRestrictions: ["509.1b", "a block must obey every restriction on blocking, such as evasion abilities"],
  deathtouch: ["702.2b", "any damage from a source with deathtouch is enough to destroy a creature"],
  deathtouchLethal: ["702.2c", "for assigning combat damage, 1 damage from a deathtouch source counts as lethal"],
  defender: ["702.3b", "a creature with defender can't attack"],
  doubleStrike: ["702.4b", "double strike means the creature deals combat damage in both the first-strike and the regular damage step"],
  firstStrike: ["702.7b", "first strike makes the creature deal combat damage in the earlier, first-strike damage step"],
  flying: ["702.9b", "a creature with flying can be blocked only by creatures with flying or reach"],
  haste: ["702.10b", "haste lets a creature attack and use tap abilities even if it came under its controller's control this turn"],
  hexproof: ["702.11b", "hexproof stops spells and abilities controlled by opponents from targeting the permanent"],
  indestructible: ["702.12b", "an indestructible permanent is not destroyed by lethal damage or by destroy effects"],
  lifelink: ["702.15b", "damage dealt by a source with lifelink also makes its controller gain that much life"],
  protection: ["702.16", "protection from a quality stops targeting, blocking, damage, and attachment by sources with that quality"],
  reach: ["702.17b", "a creature with reach can block creatures with flying"],
  shroud: ["702.18b", "shroud stops every spell and ability, including its controller's, from targeting the permanent"],
  trample: ["702.19b", "a trampling attacker must assign lethal damage to its blockers and may assign the rest to the player"],
  trampleAlone: ["702.19e", "if every creature blocking a trampler has left combat, it assigns all its damage to the player"],
  vigilance: ["702.20b", "attacking does not cause a creature with vigilance to tap"],
  ward: [
    "702.21a",
    "when a permanent with ward becomes the target of an opponent's spell or ability, that spell or ability is countered unless its controller pays the ward cost",
  ],
  summoningSickness: [
    "302.6",
    "a creature can't attack or use tap abilities unless its controller has controlled it continuously since the start of their most recent turn",
  ],
  layers: ["613.1", "continuous effects apply in a fixed order of layers"],
  layer2: ["613.1b", "layer 2 holds control-changing effects"],
  layer4: ["613.1d", "layer 4 holds type-changing effects"],
  layer5: ["613.1e", "layer 5 holds color-changing effects"],
  layer6: ["613.1f", "layer 6 holds effects that add or remove abilities"],
  layer7b: ["613.4b", "sublayer 7b holds effects that set power and toughness to specific values"],
  layer7c: ["613.4c", "sublayer 7c holds effects and counters that raise or lower power and toughness"],
  layer7d: ["613.4d", "sublayer 7d holds effects that switch power and toughness"],
  timestamp: ["613.7", "within a layer or sublayer, effects apply in timestamp order"],
  sorcery: ["307.1", "a sorcery can be cast only in its controller's main phase while the stack is empty"],
  untapNoPriority: ["502.4", "no player receives priority during the untap step"],
  cleanupNoPriority: ["514.3", "normally no player receives priority during the cleanup step"],
  manaAbility: ["605.3b", "mana abilities resolve immediately and don't use the stack"],
} as const satisfies Record<string, readonly [string, string]>;

export type RuleName = keyof typeof RULE;

/** "(rule 704.5g)" */
export const cite = (name: RuleName): string => `(rule ${RULE[name][0]})`;
/** "Rule 704.5g: a creature with ... ." */
export const explainRule = (name: RuleName): string => `rule ${RULE[name][0]}: ${RULE[name][1]}`;

export interface CreatureSpec {
  power: number;
  toughness: number;
  keywords: readonly Keyword[];
}

export function describeCreature(c: CreatureSpec): string {
  return `a ${c.power}/${c.toughness} creature${c.keywords.length ? ` with ${joinList([...c.keywords])}` : ""}`;
}

export const has = (c: { keywords: readonly Keyword[] }, k: Keyword): boolean => c.keywords.includes(k);

/** Every subset of at most `max` items, smallest first. */
export function subsets<T>(items: readonly T[], max: number): T[][] {
  const out: T[][] = [[]];
  const rec = (start: number, current: T[]) => {
    for (let i = start; i < items.length; i++) {
      const next = [...current, items[i]!];
      out.push(next);
      if (next.length < max) rec(i + 1, next);
    }
  };
  rec(0, []);
  return out.sort((a, b) => a.length - b.length);
}

export const ordinal = (n: number): string =>
  ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"][n - 1] ?? `${n}th`;
