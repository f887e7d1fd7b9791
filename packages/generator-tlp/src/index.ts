// @neural/generator-tlp: "which TLP 2.0 label, and why?" rows, balanced over the five labels.
import { digits, product, type CategorySpace, type Example, type GeneratorDefinition, type Rng } from "@neural/generators";
import {
  classify,
  DATA_KINDS,
  MEANING,
  ORGANISATIONS,
  rank,
  SHARING_CONTEXTS,
  SUBJECTS,
  TLP_LABELS,
  type DataKind,
  type SharingContext,
  type TlpLabel,
} from "./taxonomy.js";

export {
  classify,
  DATA_KINDS,
  MEANING,
  ORGANISATIONS,
  SHARING_CONTEXTS,
  stricter,
  SUBJECTS,
  TLP_LABELS,
  type DataKind,
  type SharingContext,
  type TlpLabel,
} from "./taxonomy.js";

/** The category of a label: "clear", "green", "amber", "amber_strict", "red". */
export const categoryOf = (label: TlpLabel): string => label.toLowerCase().replace("+", "_");

const QUESTIONS = [
  "Which TLP 2.0 label should this information carry? Give the label and the reason.",
  "Classify the following under the Traffic Light Protocol (TLP 2.0) and explain your choice.",
  "As a threat-intelligence analyst, pick the right TLP 2.0 marking for this and say why.",
  "What TLP 2.0 label applies here (CLEAR, GREEN, AMBER, AMBER+STRICT or RED), and why?",
  "Assign a TLP 2.0 label to the information described below. Justify it briefly.",
  "Before this is shared, it needs a TLP 2.0 label. Which one, and on what grounds?",
];

const INFO_LEADS = ["Information:", "What is being shared:", "Content:"];
const SHARING_LEADS = ["Intended sharing:", "Audience:", "Who it is for:"];

export function explain(kind: DataKind, context: SharingContext): string {
  const label = classify(kind, context);
  let reason: string;
  if (rank(kind.floor) > rank(context.label)) {
    reason =
      `The content sets the bar: ${kind.why}, so it needs at least TLP:${kind.floor}. ` +
      `The intended audience (${context.audience}) on its own would suggest TLP:${context.label}, but a label may never be looser than the content allows.`;
  } else if (rank(context.label) > rank(kind.floor)) {
    reason =
      `On its content alone this could go as low as TLP:${kind.floor}, because ${kind.why}. ` +
      `But the source means it for ${context.audience} only, which is TLP:${context.label}, and recipients must respect the restriction the source chose.`;
  } else {
    reason = `Both the content (${kind.why}) and the intended audience (${context.audience}) point to the same label.`;
  }
  return `TLP:${label}\n\n${reason} Under TLP:${label}, ${MEANING[label]}.`;
}

export function scenario(kind: DataKind, context: SharingContext, subject: string, org: string, rng: Rng): Example {
  const info = kind.text.replace("{subject}", subject);
  const sharing = context.text.replace("{org}", org).replace(/^./, (c) => c.toUpperCase());
  return {
    instruction: rng.pick(QUESTIONS),
    input: `${rng.pick(INFO_LEADS)} ${info.charAt(0).toUpperCase()}${info.slice(1)}.\n${rng.pick(SHARING_LEADS)} ${sharing}`,
    output: explain(kind, context),
  };
}

/** One category per label: every (kind, context) pair that yields it, times subjects and organisations. */
export function tlpSpaces(): CategorySpace[] {
  return TLP_LABELS.map((label) => {
    const pairs: [DataKind, SharingContext][] = [];
    for (const kind of DATA_KINDS)
      for (const context of SHARING_CONTEXTS) if (classify(kind, context) === label) pairs.push([kind, context]);
    const radices = [pairs.length, SUBJECTS.length, ORGANISATIONS.length];
    return {
      name: categoryOf(label),
      weight: 1,
      size: product(radices),
      description: `information that should be TLP:${label}`,
      at(index: number, rng: Rng): Example {
        const [p, s, o] = digits(index, radices);
        const [kind, context] = pairs[p!]!;
        return scenario(kind, context, SUBJECTS[s!]!, ORGANISATIONS[o!]!, rng);
      },
    };
  });
}

export const tlpGenerator: GeneratorDefinition = {
  name: "tlp",
  summary:
    "Classify a described piece of information into TLP 2.0 (CLEAR, GREEN, AMBER, AMBER+STRICT, RED) with the reason; balanced over the labels.",
  options: [],
  defaultOutput: "data/tlp.jsonl",
  defaultCount: 1000,
  prepare: () => tlpSpaces(),
};
