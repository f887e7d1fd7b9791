// A taxonomy for Traffic Light Protocol 2.0 decisions: what the information is (each kind of data has the least
// restrictive label its content allows) and who the source means it for (each sharing context implies a label).
// The label is the stricter of the two. All wording is ours.

export const TLP_LABELS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"] as const;
export type TlpLabel = (typeof TLP_LABELS)[number];

export const rank = (label: TlpLabel): number => TLP_LABELS.indexOf(label);
export const stricter = (a: TlpLabel, b: TlpLabel): TlpLabel => (rank(a) >= rank(b) ? a : b);

/** What each label allows, in our words. */
export const MEANING: Record<TlpLabel, string> = {
  CLEAR: "there is no limit on disclosure: it may be published and passed on freely (copyright aside)",
  GREEN:
    "it may be shared with peers and partner organisations in the recipient's community, but not through public channels such as websites or social media",
  AMBER:
    "it may be shared on a need-to-know basis inside the recipient's organisation and with that organisation's clients who need it to protect themselves",
  "AMBER+STRICT":
    "it may be shared on a need-to-know basis inside the recipient's organisation only, not with its clients, suppliers or partners",
  RED: "it is for the named recipients only and must not be passed on to anyone else, not even colleagues",
};

export interface DataKind {
  id: string;
  /** Noun phrase; "{subject}" is replaced by a system such as "VPN gateway". */
  text: string;
  /** The least restrictive label the content allows. */
  floor: TlpLabel;
  /** Why the content allows no less (a clause). */
  why: string;
}

export interface SharingContext {
  id: string;
  /** A sentence describing the intended audience; "{org}" is the recipient organisation. */
  text: string;
  label: TlpLabel;
  /** The audience in a few words. */
  audience: string;
}

export const DATA_KINDS: readonly DataKind[] = [
  // CLEAR floor: nothing in the content itself needs protecting.
  {
    id: "patched-advisory",
    floor: "CLEAR",
    text: "an advisory about a flaw in the {subject} that the vendor has already fixed and announced",
    why: "the flaw is fixed and already public, so spreading the word only helps people patch",
  },
  {
    id: "hardening-guide",
    floor: "CLEAR",
    text: "general hardening guidance for the {subject}",
    why: "it is generic advice that names no victim and reveals nothing about an investigation",
  },
  {
    id: "anonymous-trends",
    floor: "CLEAR",
    text: "aggregated statistics on attacks against the {subject}, with every organisation anonymised",
    why: "the figures are aggregated and no organisation can be identified",
  },
  {
    id: "scam-warning",
    floor: "CLEAR",
    text: "a warning to the public about fraudsters posing as support staff for the {subject}",
    why: "its whole purpose is to reach as many potential victims as possible",
  },
  {
    id: "published-research",
    floor: "CLEAR",
    text: "a summary of already published research on malware that targets the {subject}",
    why: "everything in it is already in the public domain",
  },
  {
    id: "training-material",
    floor: "CLEAR",
    text: "training slides on recognising phishing aimed at users of the {subject}",
    why: "it contains no incident data, only awareness material",
  },
  {
    id: "eol-notice",
    floor: "CLEAR",
    text: "a notice that the {subject} is reaching end of support and should be replaced",
    why: "it is a lifecycle fact the vendor has announced openly",
  },
  {
    id: "best-practice-checklist",
    floor: "CLEAR",
    text: "a checklist of backup and recovery practices for the {subject}",
    why: "it is good practice that exposes no one",
  },
  // GREEN floor: useful to defenders, but publishing it would tip off the attackers or invite copycats.
  {
    id: "campaign-iocs",
    floor: "GREEN",
    text: "indicators of compromise (addresses, domains and file hashes) from a phishing campaign still running against users of the {subject}",
    why: "publishing live indicators would warn the attackers, who would simply rotate their infrastructure",
  },
  {
    id: "detection-rules",
    floor: "GREEN",
    text: "unpublished detection rules for an intrusion set that targets the {subject}",
    why: "attackers who read public detection logic learn how to evade it",
  },
  {
    id: "lookalike-domains",
    floor: "GREEN",
    text: "a list of newly registered look-alike domains impersonating the {subject}",
    why: "the list helps defenders block the domains, but publicising it early would show the fraudsters which ones were spotted",
  },
  {
    id: "scanning-infrastructure",
    floor: "GREEN",
    text: "addresses of attacker infrastructure seen scanning the {subject} across the sector",
    why: "it is actionable for defenders yet would lose its value if the operators learned it was known",
  },
  {
    id: "sector-threat-brief",
    floor: "GREEN",
    text: "a threat briefing on a criminal group now focusing on the {subject}, without victim names",
    why: "it names no victim but describes ongoing activity the group should not learn is being tracked",
  },
  {
    id: "exploit-chatter",
    floor: "GREEN",
    text: "observations from closed forums where an exploit for the {subject} is being offered for sale",
    why: "revealing the source of these observations publicly could burn the access that produced them",
  },
  // AMBER floor: names or exposes a victim or an unfixed weakness; need-to-know only.
  {
    id: "unpatched-vuln",
    floor: "AMBER",
    text: "technical details of a flaw in the {subject} for which no fix exists yet",
    why: "until a fix exists, wider circulation mostly helps attackers, so only those who must act should see it",
  },
  {
    id: "victim-timeline",
    floor: "AMBER",
    text: "the timeline of an intrusion at a named company through its {subject}, without personal data",
    why: "it identifies a victim and its weaknesses, which could hurt the company's reputation and security",
  },
  {
    id: "intrusion-logs",
    floor: "AMBER",
    text: "raw logs from the {subject} of a victim, showing how an attacker moved through its network",
    why: "the logs expose the victim's internal layout, which attackers could reuse",
  },
  {
    id: "embargoed-advisory",
    floor: "AMBER",
    text: "a vendor advisory for the {subject} shared ahead of its publication date under embargo",
    why: "the vendor has asked for restraint until the fix ships, so only organisations that need to prepare may see it",
  },
  {
    id: "supplier-compromise",
    floor: "AMBER",
    text: "a notice that a supplier's remote access to the {subject} was abused, naming the supplier",
    why: "it names an affected supplier while the clean-up is still under way",
  },
  // AMBER+STRICT floor: about the recipient's own exposure; must not leave the organisation.
  {
    id: "pentest-findings",
    floor: "AMBER+STRICT",
    text: "penetration-test findings listing exploitable weaknesses in the recipient's own {subject}",
    why: "it is a map of the recipient's own open weaknesses, and even its clients or suppliers have no need to hold it",
  },
  {
    id: "internal-exposure",
    floor: "AMBER+STRICT",
    text: "an assessment of which parts of the recipient's own {subject} are exposed to an active exploit",
    why: "it describes the recipient's unfixed exposure, which must stay inside the organisation",
  },
  {
    id: "negotiation-status",
    floor: "AMBER+STRICT",
    text: "the status of the recipient's own ransom negotiations after an attack on its {subject}",
    why: "any leak beyond the organisation could undermine the response and its legal position",
  },
  // RED floor: sharing beyond the people in the room could endanger people or an operation.
  {
    id: "insider-suspect",
    floor: "RED",
    text: "the name of an employee suspected of leaking data from the {subject}, while the investigation is still open",
    why: "naming a suspect beyond the investigators could ruin an innocent person or warn a guilty one",
  },
  {
    id: "takedown-plan",
    floor: "RED",
    text: "the date and plan of a law-enforcement takedown of servers behind attacks on the {subject}",
    why: "any leak could warn the operators and wreck the operation",
  },
  {
    id: "victim-contacts",
    floor: "RED",
    text: "names and phone numbers of people being extorted after a breach of the {subject}",
    why: "it is personal data of people at risk, and every extra copy adds to that risk",
  },
  {
    id: "live-credentials",
    floor: "RED",
    text: "working administrator passwords for the {subject} found in an attacker's dump",
    why: "anyone who sees them could log in, so they must reach only the people who will reset them",
  },
  {
    id: "informant-details",
    floor: "RED",
    text: "details that would reveal the source who reported an intrusion into the {subject}",
    why: "exposing the source could put that person in danger",
  },
];

export const SHARING_CONTEXTS: readonly SharingContext[] = [
  { id: "website", label: "CLEAR", audience: "the general public", text: "The author wants it posted on {org}'s public website." },
  {
    id: "press",
    label: "CLEAR",
    audience: "the general public",
    text: "It is meant for a press release that {org} will send to journalists.",
  },
  { id: "public-list", label: "CLEAR", audience: "anyone", text: "{org} plans to send it to an open mailing list that anyone can join." },
  { id: "social", label: "CLEAR", audience: "the general public", text: "{org} would like to share it on its social media accounts." },
  {
    id: "isac",
    label: "GREEN",
    audience: "a sector community",
    text: "It is for the members of the sector's information sharing and analysis centre, which {org} belongs to.",
  },
  {
    id: "cert-peers",
    label: "GREEN",
    audience: "a community of peer teams",
    text: "{org} intends to circulate it among the national network of peer security teams.",
  },
  {
    id: "closed-forum",
    label: "GREEN",
    audience: "a closed professional community",
    text: "It will go to a members-only forum of security practitioners that {org} runs.",
  },
  {
    id: "partners",
    label: "GREEN",
    audience: "partner organisations in the same community",
    text: "{org} wants its partner organisations in the regional defence community to have it.",
  },
  {
    id: "member-and-clients",
    label: "AMBER",
    audience: "one organisation and its clients",
    text: "It is going to {org}, which may pass it to the clients that depend on it so they can protect themselves.",
  },
  {
    id: "provider-clients",
    label: "AMBER",
    audience: "a provider and its customers",
    text: "{org}, a managed service provider, needs to warn the customers whose systems it runs.",
  },
  {
    id: "need-to-know-org",
    label: "AMBER",
    audience: "one organisation and, where needed, its clients",
    text: "The recipient is {org}; staff there and its clients should learn of it only if they need it to act.",
  },
  {
    id: "internal-only",
    label: "AMBER+STRICT",
    audience: "one organisation's own staff",
    text: "It is for {org}'s internal security team and must not go to its clients or suppliers.",
  },
  {
    id: "board-and-it",
    label: "AMBER+STRICT",
    audience: "people inside one organisation",
    text: "Only people inside {org} who need it, such as its IT staff and board, should receive it.",
  },
  {
    id: "no-third-parties",
    label: "AMBER+STRICT",
    audience: "one organisation, no third parties",
    text: "{org} may use it internally but has agreed not to hand it to any outside party.",
  },
  {
    id: "call",
    label: "RED",
    audience: "the people on one call",
    text: "It is shared verbally with the four people on a conference call at {org}, and should not be written down or forwarded.",
  },
  {
    id: "named-responders",
    label: "RED",
    audience: "named individuals only",
    text: "It is addressed to two named incident responders at {org} and to no one else.",
  },
  {
    id: "closed-meeting",
    label: "RED",
    audience: "the attendees of one meeting",
    text: "It is presented in a closed meeting with {org}'s chief security officer and must stay in that room.",
  },
];

export const SUBJECTS: readonly string[] = [
  "VPN gateway",
  "email server",
  "payroll system",
  "patient records platform",
  "industrial control network",
  "online banking portal",
  "content management system",
  "point-of-sale system",
  "single sign-on service",
  "cloud storage service",
  "customer support chat",
  "building access system",
];

export const ORGANISATIONS: readonly string[] = [
  "a regional hospital",
  "a mid-sized bank",
  "a water utility",
  "a university",
  "a city council",
  "a logistics company",
  "an online retailer",
  "an insurance firm",
  "a power distributor",
  "a telecom operator",
  "a law firm",
  "a pharmaceutical maker",
  "a school district",
  "an airline",
  "a software vendor",
  "a port authority",
  "a credit union",
  "a television broadcaster",
];

export function classify(kind: DataKind, context: SharingContext): TlpLabel {
  return stricter(kind.floor, context.label);
}
