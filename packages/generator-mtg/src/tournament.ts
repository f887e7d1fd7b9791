// Tournament policy at Competitive rules enforcement level: a described incident is classified as an infraction,
// with its penalty and the section of the Infraction Procedure Guide (IPG) that covers it. Intent matters: the same
// act is a different infraction when done knowingly to gain an advantage.
import { digits, product } from "@neural/generators";

export type Penalty = "No Penalty" | "Warning" | "Game Loss" | "Match Loss" | "Disqualification";

export interface Infraction {
  name: string;
  section: string;
  penalty: Penalty;
  /** Why this infraction and not a neighbour, in our words. */
  gist: string;
}

export const INFRACTIONS = {
  missedTrigger: {
    name: "Missed Trigger",
    section: "2.1",
    penalty: "No Penalty",
    gist: "a player forgot their own triggered ability; at Competitive REL this carries no penalty in itself, and the opponent is not obliged to point it out",
  },
  lookingExtra: {
    name: "Looking at Extra Cards",
    section: "2.2",
    penalty: "Warning",
    gist: "a player saw cards they were not entitled to see, by accident, without drawing them into hand",
  },
  hiddenCard: {
    name: "Hidden Card Error",
    section: "2.3",
    penalty: "Warning",
    gist: "a mistake involving cards the opponent can't see, such as drawing one card too many, where the fix has to protect the opponent from not knowing which card is which",
  },
  mulligan: { name: "Mulligan Procedure Error", section: "2.4", penalty: "Warning", gist: "a player made an error while taking mulligans" },
  grv: {
    name: "Game Rule Violation",
    section: "2.5",
    penalty: "Warning",
    gist: "a rules mistake made in the open, without intent to gain an advantage",
  },
  ftmgs: {
    name: "Failure to Maintain Game State",
    section: "2.6",
    penalty: "Warning",
    gist: "the opponent let a visible rules error happen without noticing it; both players share responsibility for the game state",
  },
  tardiness: { name: "Tardiness", section: "3.1", penalty: "Game Loss", gist: "the player was not in their seat when the round began" },
  outsideAssistance: {
    name: "Outside Assistance",
    section: "3.2",
    penalty: "Match Loss",
    gist: "a player sought or received play advice or notes during a game from outside the match",
  },
  slowPlay: {
    name: "Slow Play",
    section: "3.3",
    penalty: "Warning",
    gist: "the player took longer than reasonable over actions, without meaning to use up the clock",
  },
  communication: {
    name: "Communication Policy Violation",
    section: "3.7",
    penalty: "Warning",
    gist: "a player unintentionally gave the opponent wrong information about free or derived facts of the game",
  },
  markedCards: {
    name: "Marked Cards",
    section: "3.8",
    penalty: "Warning",
    gist: "the cards or sleeves carry marks that could tell them apart, with no sign of a pattern used for advantage",
  },
  shuffling: {
    name: "Insufficient Shuffling",
    section: "3.9",
    penalty: "Warning",
    gist: "a deck was not randomised well enough before play",
  },
  uscMinor: {
    name: "Unsporting Conduct — Minor",
    section: "4.1",
    penalty: "Warning",
    gist: "behaviour that is disruptive or inappropriate but not aimed at anyone",
  },
  uscMajor: {
    name: "Unsporting Conduct — Major",
    section: "4.2",
    penalty: "Match Loss",
    gist: "behaviour such as harassment or threats that is clearly directed at another person",
  },
  improperWinner: {
    name: "Unsporting Conduct — Improperly Determining a Winner",
    section: "4.3",
    penalty: "Disqualification",
    gist: "the players tried to decide the match result by a random method or by anything other than the game itself",
  },
  bribery: {
    name: "Unsporting Conduct — Bribery and Wagering",
    section: "4.4",
    penalty: "Disqualification",
    gist: "a player offered an incentive to change a match result, or bet on the outcome",
  },
  aggressive: {
    name: "Unsporting Conduct — Aggressive Behavior",
    section: "4.5",
    penalty: "Disqualification",
    gist: "a player acted in a threatening or violent way",
  },
  theft: {
    name: "Unsporting Conduct — Theft of Tournament Material",
    section: "4.6",
    penalty: "Disqualification",
    gist: "a player took cards or other material belonging to someone else or to the event",
  },
  stalling: {
    name: "Unsporting Conduct — Stalling",
    section: "4.7",
    penalty: "Disqualification",
    gist: "the player deliberately played slowly to use up the time on the clock",
  },
  cheating: {
    name: "Unsporting Conduct — Cheating",
    section: "4.8",
    penalty: "Disqualification",
    gist: "the player broke a rule on purpose, knowing it was against the rules, to gain an advantage",
  },
} as const satisfies Record<string, Infraction>;

export type InfractionId = keyof typeof INFRACTIONS;

interface Situation {
  id: string;
  /** Parameter lists; the text gets {a} {b} (players) and {0} {1} ... (the parameters). */
  params: readonly (readonly (string | number)[])[];
  text: string;
  infraction: InfractionId;
  /** Extra notes for the answer, in our words. */
  note?: string;
}

const GAMES = ["game 1", "game 2", "game 3"];
const TURNS = [2, 3, 4, 5, 6, 7, 8, 9];

const SITUATIONS: readonly Situation[] = [
  {
    id: "missed-upkeep",
    params: [TURNS, GAMES],
    text: "On turn {0} of {1}, {a} forgets the upkeep trigger of one of their own permanents, and only notices during their draw step.",
    infraction: "missedTrigger",
    note: "the judge looks at how long ago the trigger was missed to decide whether it is put on the stack now.",
  },
  {
    id: "flip-extra",
    params: [[1, 2, 3], GAMES],
    text: "Before {1}, while shuffling {b}'s deck, {a} accidentally flips {0} card(s) of it face up.",
    infraction: "lookingExtra",
    note: "the seen cards are shuffled back into the unknown part of the library.",
  },
  {
    id: "saw-top",
    params: [[1, 2], TURNS],
    text: "On turn {1}, {a} resolves an effect that lets them look at the top card of their library but picks up {0} extra card(s) and sees them before putting them back.",
    infraction: "lookingExtra",
    note: "the extra cards are shuffled back among the cards {a} was not supposed to know.",
  },
  {
    id: "drew-extra",
    params: [[1, 2], TURNS],
    text: "On turn {1}, {a} draws {0} card(s) more than the effect they resolved allowed, and the cards are now mixed into their hand.",
    infraction: "hiddenCard",
    note: "because the opponent can't tell which cards are the extra ones, the fix lets the opponent see the hand and choose which card(s) go back.",
  },
  {
    id: "mulligan-count",
    params: [[7, 6, 5], GAMES],
    text: "In {1}, after deciding to keep a hand, {a} realises they drew {0} cards instead of the number their mulligan called for.",
    infraction: "mulligan",
    note: "the judge applies the fix that the mulligan rules call for.",
  },
  {
    id: "grv-untap",
    params: [TURNS, GAMES],
    text: "On turn {0} of {1}, {a} forgets that a creature affected by a 'doesn't untap' effect should stay tapped and untaps it; {b} does not notice either.",
    infraction: "grv",
    note: "{b} also receives a Warning for Failure to Maintain Game State, since both players are responsible for the game state.",
  },
  {
    id: "grv-cost",
    params: [TURNS, [1, 2, 3]],
    text: "On turn {0}, {a} casts a spell but pays {1} mana less than it costs, and nobody spots it until the next turn.",
    infraction: "grv",
    note: "the opponent shares responsibility and gets a Failure to Maintain Game State Warning; a backup may be considered if the error was just made.",
  },
  {
    id: "grv-draw-skip",
    params: [TURNS, GAMES],
    text: "On turn {0} of {1}, {a} forgets to draw a card in their draw step and plays a land; {b} notices a minute later.",
    infraction: "grv",
    note: "{b} also shares the responsibility for the game state (Failure to Maintain Game State).",
  },
  {
    id: "ftmgs",
    params: [TURNS, GAMES],
    text: "On turn {0} of {1}, {b} made a visible rules mistake and {a}, watching, did not notice and let it pass.",
    infraction: "ftmgs",
    note: "{b}, who made the mistake, receives the Game Rule Violation.",
  },
  {
    id: "late",
    params: [
      [2, 4, 6, 8],
      ["round 2", "round 4", "round 6"],
    ],
    text: "{a} arrives at the table {0} minutes after the start of {1} without having told anyone.",
    infraction: "tardiness",
    note: "being later still can lead to a Match Loss, as the IPG describes.",
  },
  {
    id: "advice",
    params: [GAMES, ["a friend standing behind them", "a spectator", "a teammate at the next table"]],
    text: "During {0}, {a} asks {1} which card they should play.",
    infraction: "outsideAssistance",
    note: "advice during a game from outside the match is what the infraction exists to stop.",
  },
  {
    id: "notes",
    params: [GAMES, ["a list of sideboard plans", "a printed strategy sheet"]],
    text: "During {0}, {a} glances at {1} while a game is in progress.",
    infraction: "outsideAssistance",
    note: "notes made before the match may not be consulted during a game.",
  },
  {
    id: "slow",
    params: [[2, 3, 4], GAMES],
    text: "In {1}, {a} spends about {0} minutes deciding on a simple attack, repeatedly recounting, with no sign of trying to run out the clock.",
    infraction: "slowPlay",
    note: "an extra-turn allowance at the end of the round may be granted.",
  },
  {
    id: "slow-search",
    params: [[2, 3, 4], GAMES],
    text: "In {1}, {a} searches their library for a basic land for about {0} minutes, re-reading every card, with no sign of doing it on purpose.",
    infraction: "slowPlay",
    note: "taking an unreasonable time is Slow Play even when it is honest.",
  },
  {
    id: "stall",
    params: [[2, 3, 4], GAMES],
    text: "Ahead on games with little time left, {a} deliberately takes {0} minutes over trivial decisions in {1} so that the round ends before {b} can win.",
    infraction: "stalling",
    note: "the difference from Slow Play is intent: wasting time on purpose.",
  },
  {
    id: "grv-vs-cheat",
    params: [TURNS, GAMES],
    text: "On turn {0} of {1}, {a} knowingly skips paying the extra cost of a spell, hoping {b} won't notice, and admits to the judge they knew it was required.",
    infraction: "cheating",
    note: "an intentional rule violation made for an advantage is Cheating, not a Game Rule Violation.",
  },
  {
    id: "lie",
    params: [GAMES, ["how many cards they hold", "their life total"]],
    text: "In {0}, asked by {b} about {1}, {a} deliberately gives a wrong answer to mislead them.",
    infraction: "cheating",
    note: "lying about facts of the game to gain an advantage is Cheating.",
  },
  {
    id: "wrong-info",
    params: [GAMES, ["their life total", "the number of cards in their hand"]],
    text: "In {0}, {a} miscounts and tells {b} the wrong value for {1}, by honest mistake.",
    infraction: "communication",
    note: "the error was unintentional; lying on purpose would be Cheating.",
  },
  {
    id: "marked",
    params: [
      [2, 3, 5],
      ["worn sleeves", "a coffee stain on the sleeves"],
    ],
    text: "A deck check finds {0} cards in {a}'s deck distinguishable because of {1}, with no pattern that favours {a}.",
    infraction: "markedCards",
    note: "the player is asked to replace the affected sleeves.",
  },
  {
    id: "shuffle",
    params: [GAMES, [1, 2]],
    text: "Before {0}, {a} presents a deck after giving it only {1} quick cut(s) and no real shuffle.",
    infraction: "shuffling",
    note: "the deck must be properly randomised before it is presented.",
  },
  {
    id: "language",
    params: [GAMES, ["loud swearing after a bad draw", "throwing their cards on the table in frustration"]],
    text: "During {0}, {a} reacts with {1}, not directed at anyone.",
    infraction: "uscMinor",
    note: "when behaviour is aimed at someone it becomes Major.",
  },
  {
    id: "harass",
    params: [GAMES, ["insults {b} repeatedly about their play", "follows {b} around the hall mocking them"]],
    text: "After {0}, {a} {1}.",
    infraction: "uscMajor",
    note: "conduct aimed at another person is the Major form.",
  },
  {
    id: "dice",
    params: [
      ["time is called", "the players are tied 1-1"],
      ["roll a die", "flip a coin"],
    ],
    text: "When {0}, {a} and {b} agree to {1} to decide who wins the match.",
    infraction: "improperWinner",
    note: "results must come from the games played (or a concession), never from a random method.",
  },
  {
    id: "bribe",
    params: [
      ["booster packs", "a share of the prize"],
      ["concede", "agree to a draw"],
    ],
    text: "{a} offers {b} {0} if {b} will {1}.",
    infraction: "bribery",
    note: "offering an incentive in exchange for a result is not allowed.",
  },
  {
    id: "threat",
    params: [GAMES, ["shoves the table toward {b}", "threatens to hurt {b} after the match"]],
    text: "Losing {0}, {a} {1}.",
    infraction: "aggressive",
    note: "threatening or violent conduct leads to disqualification.",
  },
  {
    id: "theft",
    params: [["a card from {b}'s deck box", "a stack of prize packs from the judge station"], GAMES],
    text: "After {1}, {a} is seen pocketing {0}.",
    infraction: "theft",
    note: "taking material that belongs to others leads to disqualification.",
  },
];

export interface TournamentCase {
  situation: Situation;
  values: (string | number)[];
  /** The Swiss round the incident happens in. */
  round: number;
}

const ROUNDS = [1, 2, 3, 4, 5, 6, 7];

export function tournamentSpace(): { size: number; at(index: number): TournamentCase } {
  const sizes = SITUATIONS.map((s) => product(s.params.map((p) => p.length)));
  const offsets: number[] = [];
  let total = 0;
  for (const s of sizes) {
    offsets.push(total);
    total += s;
  }
  return {
    size: total * ROUNDS.length,
    at(index: number): TournamentCase {
      const round = ROUNDS[index % ROUNDS.length]!;
      index = Math.floor(index / ROUNDS.length);
      let i = 0;
      while (i + 1 < offsets.length && offsets[i + 1]! <= index) i++;
      const s = SITUATIONS[i]!;
      const d = digits(
        index - offsets[i]!,
        s.params.map((p) => p.length),
      );
      return { situation: s, values: d.map((x, k) => s.params[k]![x]!), round };
    },
  };
}

export function fillSituation(text: string, values: readonly (string | number)[], [a, b]: readonly [string, string]): string {
  return text
    .replace(/\{(\d)\}/g, (_, k: string) => String(values[Number(k)]))
    .replace(/\{a\}/g, a)
    .replace(/\{b\}/g, b);
}
