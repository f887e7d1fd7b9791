// @neural/generator-heimdall: rows in the exact formats NornicDB's Heimdall sends and accepts, one category per
// path and answer kind. Chat rows are ChatML conversations with the system prompt the server builds; raw-text paths
// (agentic loop, synthesis, autocomplete, edge QC) are `text` rows, the prompt as sent followed by the answer.
import { checkCypher } from "@neural/cypher";
import { loadTokenizer, type TextTokenizer } from "@neural/dataset";
import {
  GeneratorOptionsError,
  type CategorySpace,
  type Example,
  type GeneratorDefinition,
  type OptionValues,
  type Rng,
} from "@neural/generators";
import { builtinRegistry, checkParams, loadRegistryFile, type ActionSpec, type Naming, type Registry } from "./actions.js";
import { DOMAINS, frame, INTENT_INDEX, labelWords, type Domain, type IntentFamily } from "./domain.js";
import { actionIntents, listOutcome, outcomeFor, type ActionIntent, type ActionOutcome } from "./intents.js";
import { judgeAutocomplete, parseEnvelope2025, parseEnvelopeLater, parseQc, type Expectation, type HeimdallPath } from "./judge.js";
import {
  actionResultJson,
  autocompletePrompt,
  buildChatPrompt,
  buildFinalPrompt,
  estimateTokens,
  formatEnvelope,
  goJson,
  graphRagBlock,
  groupByCategory,
  actionPrompt,
  loopContinuation,
  loopPrompt,
  MAX_CONTEXT_TOKENS,
  PREFILL_CHUNK_TOKENS,
  qcPrompt,
  skipsGraphRag,
  synthesisPrompt,
  type LoopTool,
  type RagHit,
} from "./protocol.js";
export { buildChatPrompt } from "./protocol.js";
export { ActionsFileError, builtinRegistry, loadRegistryFile, type Registry } from "./actions.js";
export {
  caseFromRow,
  formatReport,
  HeldOutRowError,
  judgeAnswer,
  summarize,
  type HeimdallReport,
  type HeldOutCase,
  type Verdict,
} from "./judge.js";
export { DOMAINS, INTENTS, type Domain } from "./domain.js";
export const CATEGORIES = [
  "chat_action",
  "chat_help",
  "chat_direct",
  "chat_rag",
  "loop_call",
  "loop_final",
  "synthesis",
  "autocomplete",
  "qc",
] as const;
export type HeimdallCategory = (typeof CATEGORIES)[number];

/** The default --mix (percent). */
export const DEFAULT_MIX: Record<HeimdallCategory, number> = {
  chat_action: 35,
  chat_help: 8,
  chat_direct: 7,
  chat_rag: 10,
  loop_call: 8,
  loop_final: 7,
  synthesis: 15,
  autocomplete: 5,
  qc: 5,
};
export interface HeimdallOptions {
  naming?: Naming;
  /** A registry file (--actions); replaces the built-in one. */
  actions?: string;
  /** Category weights, e.g. "chat_action=60,synthesis=40" (categories left out get 0). */
  mix?: string;
  /** A tokenizer directory: prompts over the prefill chunk (2048 tokens) are left out, measured with it. */
  tokenizer?: string;
  /** Share of eligible chat action rows that carry a graph-RAG block (default 0.3). */
  ragShare?: number;
}

/** A row of this generator, as written (the kit adds `category`). */
export type HeimdallRow =
  | {
      messages: { role: "system" | "user" | "assistant"; content: string }[];
      path: "chat";
      naming: string;
      expect: Expectation;
      category: string;
    }
  | { text: string; prompt_end: number; path: Exclude<HeimdallPath, "chat">; naming: string; expect: Expectation; category: string };
export function parseMix(text: string): Record<HeimdallCategory, number> {
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<HeimdallCategory, number>;
  for (const part of text.split(",").filter((p) => p.trim())) {
    const [name, value] = part.split("=").map((s) => s.trim());
    if (!CATEGORIES.includes(name as HeimdallCategory))
      throw new GeneratorOptionsError(`--mix: unknown category "${name}"; categories: ${CATEGORIES.join(", ")}`);
    const weight = Number(value);
    if (value === undefined || value === "" || !Number.isFinite(weight) || weight < 0)
      throw new GeneratorOptionsError(`--mix: "${part}" needs a weight >= 0, e.g. ${name}=40`);
    out[name as HeimdallCategory] = weight;
  }
  if (Object.values(out).every((w) => w === 0)) throw new GeneratorOptionsError("--mix: every weight is 0");
  return out;
}

// ---------------------------------------------------------------- the context a row is built in

interface Context {
  registry: Registry;
  byRole: Map<string, ActionSpec>;
  tokenizer?: TextTokenizer;
  ragShare: number;
}

/** The catalogue in a random category and action order, as Go's map iteration gives it. */
function shuffledActionPrompt(registry: Registry, rng: Rng): string {
  const groups = rng.shuffle(groupByCategory(registry.actions)).map((g) => ({ category: g.category, actions: rng.shuffle(g.actions) }));
  return actionPrompt(groups);
}

function systemPrompt(ctx: Context, rng: Rng, rag?: string): string {
  return buildFinalPrompt({
    actionPrompt: shuffledActionPrompt(ctx.registry, rng),
    ...(rag ? { additionalInstructions: rag } : {}),
    examples: ctx.registry.promptExamples,
  });
}

/** ActionsAsMCPTools in random order: name, description, the input schema as Go marshals it. */
function loopTools(ctx: Context, rng: Rng): LoopTool[] {
  return rng.shuffle(ctx.registry.actions).map((a) => ({ name: a.name, description: a.description, inputSchema: goJson(a.schema) }));
}

/** The prompt fits what the server really serves: under its context budget, and (with a tokenizer) the prefill chunk. */
function fits(ctx: Context, prompt: string, system?: string, user?: string): boolean {
  if (system !== undefined && estimateTokens(system) + estimateTokens(user ?? "") > MAX_CONTEXT_TOKENS) return false;
  if (ctx.tokenizer && ctx.tokenizer.encode(prompt).length > PREFILL_CHUNK_TOKENS) return false;
  return true;
}

function chatExample(ctx: Context, rng: Rng, user: string, answer: string, expect: Expectation, rag?: string): Example | undefined {
  const system = systemPrompt(ctx, rng, rag);
  const messages = [
    { role: "system" as const, content: system },
    { role: "user" as const, content: user },
  ];
  if (!fits(ctx, buildChatPrompt(messages), system, user)) return undefined;
  return {
    instruction: user,
    ...(rag ? { input: rag } : {}),
    output: answer,
    row: { messages: [...messages, { role: "assistant", content: answer }], path: "chat", naming: ctx.registry.naming, expect },
  };
}

function rawExample(
  ctx: Context,
  path: Exclude<HeimdallPath, "chat">,
  prompt: string,
  answer: string,
  expect: Expectation,
  key: string,
): Example | undefined {
  if (!fits(ctx, prompt)) return undefined;
  return {
    instruction: `${path}\u0000${key}`,
    output: answer,
    row: { text: prompt + answer, prompt_end: prompt.length, path, naming: ctx.registry.naming, expect },
  };
}

// ---------------------------------------------------------------- requests that map to an action

interface Request {
  user: string;
  action: ActionSpec;
  params: Record<string, unknown>;
  /** The role of a built-in intent ("query", "status", …), for results and answers. */
  role: string;
  domain?: Domain;
  family?: IntentFamily;
}

/** Every request the registry can be asked: built-in intents for built-in roles, a custom registry's own examples. */
function requestSpace(ctx: Context): { size: number; at(i: number, rng: Rng): Request | undefined } {
  const fixed: Request[] = [];
  for (const intent of actionIntents(new Set(ctx.byRole.keys())))
    fixed.push({ user: intent.user, action: ctx.byRole.get(intent.role)!, params: intent.params, role: intent.role });
  for (const a of ctx.registry.actions)
    for (const ex of a.examples ?? []) fixed.push({ user: ex.user, action: a, params: ex.params, role: "custom" });
  const query = ctx.byRole.get("query");
  const queries = query ? INTENT_INDEX.length : 0;
  const base = fixed.length + queries;
  return {
    size: base * FRAME_VARIANTS,
    at(i, rng) {
      const k = i % base;
      const framed = (user: string) => (Math.floor(i / base) === 0 ? user : frame(user, rng));
      if (k < fixed.length) {
        const r = fixed[k]!;
        return { ...r, user: framed(r.user) };
      }
      const entry = INTENT_INDEX[k - fixed.length]!;
      const intent = entry.family.at(entry.domain, entry.variant, rng);
      if (!checkCypher(intent.cypher).ok) return undefined;
      return {
        user: framed(intent.question),
        action: query!,
        params: { cypher: intent.cypher },
        role: "query",
        domain: entry.domain,
        family: entry.family,
      };
    },
  };
}

const FRAME_VARIANTS = 4;

function ragHitsFor(domain: Domain, rng: Rng, count: number): RagHit[] {
  const hits: RagHit[] = [];
  for (const l of rng.sample(domain.labels, Math.min(count, domain.labels.length))) {
    const value = rng.pick(l.values);
    hits.push(entityHit(domain, l.label, value, rng));
  }
  return hits;
}

function entityHit(domain: Domain, label: string, value: string, rng: Rng): RagHit {
  const l = domain.labels.find((x) => x.label === label)!;
  const properties: [string, string][] = [[l.key, value]];
  for (const [p, vs] of l.props) properties.push([p, rng.pick(vs)]);
  properties.push([l.numeric[0], String(rng.pick(l.numeric[1]))]);
  const related = domain.rels
    .filter((r) => r.from === label)
    .map((r) => ({
      direction: "out" as const,
      type: r.to,
      title: rng.pick(domain.labels.find((x) => x.label === r.to)!.values.filter((v) => v !== value)),
      via: r.type,
    }));
  return { type: label, title: value, properties: rng.shuffle(properties), related };
}

function actionRequestExample(ctx: Context, req: Request, rng: Rng): Example | undefined {
  const answer = formatEnvelope(req.action.name, req.params);
  if (checkParams(req.action, req.params)) return undefined;
  let rag: string | undefined;
  if (!skipsGraphRag(req.user) && rng.chance(ctx.ragShare))
    rag = graphRagBlock(ragHitsFor(req.domain ?? rng.pick(DOMAINS), rng, rng.range(1, 3)));
  return chatExample(ctx, rng, req.user, answer, { action: req.action.name, params: req.params }, rag);
}

// ---------------------------------------------------------------- prose categories

const HELP_EXPLAIN: Record<string, string> = {
  count_label: "MATCH finds every node with the label and count(n) returns how many there are.",
  sample_label: "MATCH finds nodes with the label and LIMIT keeps only the first ones, so the result stays small.",
  find_by_property:
    "MATCH finds the nodes with the label, WHERE keeps those whose property has the exact value, and LIMIT 25 caps the result.",
  contains_text: "CONTAINS matches a substring of the property, case-sensitively; LIMIT keeps the result small.",
  numeric_filter: "WHERE compares the number, ORDER BY sorts by it, and the query returns the name and the value.",
  top_by_numeric: "ORDER BY ... DESC sorts from the highest value down and LIMIT keeps the top ones.",
  related: "The pattern (a)-[:TYPE]->(b) follows relationships of that type from the matched node to its neighbours.",
  count_rel: "The pattern ()-[r:TYPE]->() matches every relationship of that type and count(r) counts them.",
  degree: "count(r) per node counts its outgoing relationships of that type; ORDER BY total DESC puts the most connected first.",
  orphans: "WHERE NOT (n)--() keeps only nodes that have no relationship in either direction.",
  distinct_values: "DISTINCT removes repeated values, so each value of the property appears once.",
};

const HELP_FRAMES = [
  "How do I write a Cypher query for this: {q}?",
  "What Cypher would I use to {q}?",
  "Explain how to {q} in Cypher",
  "Write me the Cypher (don't run it) to {q}",
];

function helpExample(ctx: Context, i: number, rng: Rng): Example | undefined {
  const entry = INTENT_INDEX[i % INTENT_INDEX.length]!;
  const intent = entry.family.at(entry.domain, entry.variant, rng);
  if (!checkCypher(intent.cypher).ok) return undefined;
  const user = HELP_FRAMES[Math.floor(i / INTENT_INDEX.length) % HELP_FRAMES.length]!.replace("{q}", intent.question);
  const answer = `You can use this query:\n\n${intent.cypher}\n\n${HELP_EXPLAIN[entry.family.name]} Ask me to run it and I will.`;
  return chatExample(ctx, rng, user, answer, { answer: "prose" });
}

const DIRECT: ReadonlyArray<[string, string]> = [
  ["thanks", "You're welcome. Ask me anytime about your graph."],
  ["thank you, that helped", "Glad it helped. I'm here whenever you need another query or a status check."],
  ["who are you", "I am Heimdall, the assistant built into NornicDB. I run actions and Cypher queries against this database for you."],
  [
    "what is NornicDB",
    "NornicDB is a high-performance graph database that speaks Cypher and the Neo4j Bolt protocol, with built-in vector search.",
  ],
  [
    "what is a graph database",
    "A graph database stores data as nodes and the relationships between them, so connected data can be queried by following those relationships directly.",
  ],
  [
    "what is the difference between a node and a relationship",
    "A node is an entity such as a person or a file; a relationship connects two nodes, has a type such as KNOWS, and points from one node to the other.",
  ],
  ["what does LIMIT do in Cypher", "LIMIT caps how many rows a query returns, for example LIMIT 25 keeps only the first 25 rows."],
  [
    "what does OPTIONAL MATCH do",
    "OPTIONAL MATCH works like MATCH but keeps the row with nulls when the pattern is not found, like an outer join.",
  ],
  [
    "what is the difference between WITH and RETURN",
    "WITH passes results on to the next part of the query, while RETURN ends the query and sends the rows back to you.",
  ],
  [
    "can you delete my database",
    "I only run read-only queries and monitoring actions, so I can't delete the database. An administrator can do that from the server.",
  ],
  ["write me a poem", "I'm here to help with NornicDB: queries, statistics and status. Ask me about your data and I'll look it up."],
  ["what's the weather like", "I can't see the weather; I only know what is in this NornicDB database and how the server is doing."],
  [
    "is Cypher case-sensitive",
    "Keywords such as MATCH and RETURN are not case-sensitive, but labels, relationship types and property names are.",
  ],
  [
    "what is an embedding",
    "An embedding is a vector of numbers that captures the meaning of a text, so similar texts end up close together and can be found by vector search.",
  ],
  [
    "what are k-means clusters used for",
    "NornicDB groups embeddings into k-means clusters so vector search can look in the closest clusters first instead of scanning everything.",
  ],
  [
    "how do I connect to NornicDB from Python",
    "Use the official neo4j Python driver with a bolt:// URL pointing at your NornicDB server, then run Cypher through a session.",
  ],
  ["what port does bolt use", "The Bolt protocol listens on port 7687 by default."],
  ["good morning", "Good morning. What would you like to know about your graph today?"],
  ["ok", "Alright. Tell me when you need a query or a status check."],
  ["never mind", "No problem. I'm here when you need me."],
  [
    "what is a label",
    "A label names a kind of node, such as Person or Movie; a node can carry several labels and queries use them to narrow a MATCH.",
  ],
  ["what is a property", "A property is a key and value stored on a node or a relationship, for example name: 'Alice' or age: 30."],
  [
    "what is a relationship type",
    "A relationship type names how two nodes are connected, such as KNOWS or WORKS_AT; every relationship has exactly one.",
  ],
  ["what does MERGE do", "MERGE finds a pattern if it exists and creates it if it does not, so running it twice does not make duplicates."],
  [
    "what does DETACH DELETE do",
    "DETACH DELETE removes a node together with all of its relationships; plain DELETE fails while relationships remain.",
  ],
  [
    "what is shortestPath",
    "shortestPath finds the path with the fewest relationships between two nodes, within the hop limits you give it.",
  ],
  [
    "what is vector search",
    "Vector search finds nodes whose embeddings are closest to the embedding of your question, so results match by meaning rather than exact words.",
  ],
  ["what does UNWIND do", "UNWIND turns a list into rows, one row per element, so each element can be matched or created on its own."],
  ["what is Bifrost", "Bifrost is the chat interface of NornicDB where you talk to me, Heimdall."],
  [
    "what is graph-RAG",
    "Graph-RAG looks up nodes related to your question in the knowledge graph and gives me what it finds, so I can answer from your own data.",
  ],
  [
    "can you write to the database",
    "I run read-only queries. To change data, run a CREATE, MERGE or SET statement yourself through a driver or the browser.",
  ],
  ["are you an AI", "Yes. I am Heimdall, a small language model running inside NornicDB to help you query and monitor the database."],
  [
    "which model are you running on",
    "I run on a local GGUF model that NornicDB loads with llama.cpp; the server configuration names which one.",
  ],
  ["how do I create an index", "Create one with CREATE INDEX FOR (n:Label) ON (n.property); it speeds up lookups by that property."],
  ["what does COUNT do", "count() is an aggregation that returns how many rows or non-null values a query produced."],
  ["what does DISTINCT do", "DISTINCT removes duplicate rows from a result, so each combination of values appears once."],
  ["how do I sort results", "Add ORDER BY with the expression to sort by, and DESC for descending order, before any LIMIT."],
  ["what is a path", "A path is an alternating sequence of nodes and relationships, which a query can bind to a variable such as p."],
  ["bye", "Goodbye. Come back whenever you need something from your graph."],
  ["you are great", "Thank you. Let me know what else you would like to find in your data."],
];

const DIRECT_FRAMES = ["{q}", "{q}?", "Heimdall, {q}", "hey, {q}", "quick one: {q}", "{Q}?"];

function directExample(ctx: Context, i: number, rng: Rng): Example | undefined {
  const [q, a] = DIRECT[i % DIRECT.length]!;
  const user = DIRECT_FRAMES[Math.floor(i / DIRECT.length) % DIRECT_FRAMES.length]!.replace("{q}", q).replace(
    "{Q}",
    q.charAt(0).toUpperCase() + q.slice(1),
  );
  return chatExample(ctx, rng, user, a, { answer: "prose" });
}

const RAG_QUESTIONS = [
  "{who} is {v}",
  "tell me about {v}",
  "what do we know about {v}",
  "what is the {p} of {v}",
  "give me details on {v}",
];
const PEOPLE = new Set(["Person", "Actor", "Director", "Customer"]);

function ragExample(ctx: Context, i: number, rng: Rng): Example | undefined {
  const entities: [Domain, string, string][] = [];
  for (const d of DOMAINS) for (const l of d.labels) for (const v of l.values) entities.push([d, l.label, v]);
  const [domain, label, value] = entities[i % entities.length]!;
  const form = RAG_QUESTIONS[Math.floor(i / entities.length) % RAG_QUESTIONS.length]!;
  const hit = entityHit(domain, label, value, rng);
  const props = hit.properties!.filter(([k]) => k !== domain.labels.find((l) => l.label === label)!.key);
  const [p, pv] = rng.pick(props);
  const user = form
    .replace("{who}", PEOPLE.has(label) ? "who" : "what")
    .replace("{v}", value)
    .replace("{p}", p);
  if (skipsGraphRag(user)) return undefined;
  const others = ragHitsFor(domain, rng, rng.range(0, 2)).filter((h) => h.title !== value);
  const hits = rng.shuffle([hit, ...others]);
  const rel = hit.related?.[0];
  const answer = form.includes("{p}")
    ? `The ${p} of ${value} is ${pv}.`
    : `${value} is a ${label} with ${props.map(([k, v]) => `${k} ${v}`).join(", ")}${rel ? `, linked to ${rel.title} through ${rel.via}` : ""}.`;
  return chatExample(ctx, rng, user, answer, { answer: "prose" }, graphRagBlock(hits));
}

// ---------------------------------------------------------------- agentic loop

function loopCallExample(ctx: Context, req: Request, rng: Rng): Example | undefined {
  if (checkParams(req.action, req.params)) return undefined;
  const prompt = loopPrompt(systemPrompt(ctx, rng), loopTools(ctx, rng), req.user);
  return rawExample(
    ctx,
    "loop",
    prompt,
    formatEnvelope(req.action.name, req.params),
    { action: req.action.name, params: req.params },
    req.user,
  );
}

/** A result to feed back: what `req` returns, and a one-line answer from it. */
function loopOutcome(req: Request, rng: Rng): ActionOutcome | undefined {
  if (req.role === "query" && req.family?.name === "count_label") return outcomeFor("count", req.user, rng);
  if (req.role === "query" && req.family?.name === "count_rel") return outcomeFor("count", req.user, rng);
  return outcomeFor(req.role, req.user, rng);
}

function countBrief(req: Request, outcome: ActionOutcome): string {
  if (req.role !== "query") return outcome.brief;
  const n = (outcome.data.rows as { count: number }[])[0]!.count.toLocaleString("en-US");
  const cypher = String(req.params.cypher);
  const label = /MATCH \(n:(\w+)\)/.exec(cypher)?.[1];
  const rel = /\[r:(\w+)\]/.exec(cypher)?.[1];
  return label ? `There are ${n} ${labelWords(label)}.` : `There are ${n} ${rel} relationships.`;
}

function loopFinalExample(ctx: Context, reqs: Request[], rng: Rng, secondCallOnly: boolean): Example | undefined {
  const first = reqs[0]!;
  let prompt = loopPrompt(systemPrompt(ctx, rng), loopTools(ctx, rng), first.user);
  const briefs: string[] = [];
  for (const [k, req] of reqs.entries()) {
    const outcome = loopOutcome(req, rng);
    if (!outcome) return undefined;
    const call = formatEnvelope(req.action.name, req.params);
    if (secondCallOnly && k === reqs.length - 1)
      return rawExample(ctx, "loop", prompt, call, { action: req.action.name, params: req.params }, `${first.user}\u0000call${k}`);
    prompt += loopContinuation(call, actionResultJson({ success: true, message: outcome.message, data: outcome.data }));
    briefs.push(countBrief(req, outcome));
  }
  const answer = briefs.join(" ");
  return rawExample(ctx, "loop", prompt, answer, { answer: "prose" }, `${first.user}\u0000${answer}`);
}

// ---------------------------------------------------------------- synthesis, autocomplete, QC

function synthesisExample(ctx: Context, i: number, rng: Rng): Example | undefined {
  const roles = ["db_stats", "status", "metrics", "health", "list", "count"];
  const role = roles[i % roles.length]!;
  let question: string;
  let outcome: ActionOutcome | undefined;
  if (role === "list") ({ question, outcome } = listOutcome(rng));
  else if (role === "count") {
    const d = rng.pick(DOMAINS);
    const l = rng.pick(d.labels);
    question = rng.pick([`how many ${labelWords(l.label)} are there`, `count the ${labelWords(l.label)}`]);
    outcome = outcomeFor("count", question, rng)!;
    const n = (outcome.data.rows as { count: number }[])[0]!.count.toLocaleString("en-US");
    outcome = { ...outcome, prose: `There are ${n} ${labelWords(l.label)} in the database.\n\n• ${l.label} nodes: ${n}` };
  } else {
    question = rng.pick(actionIntents(new Set([role])).map((x: ActionIntent) => x.user));
    outcome = outcomeFor(role, question, rng);
  }
  if (!outcome) return undefined;
  const prompt = synthesisPrompt(question, outcome.message, outcome.data);
  return rawExample(ctx, "synthesis", prompt, outcome.prose, { message: outcome.message }, `${question}\u0000${goJson(outcome.data)}`);
}

function autocompleteExample(ctx: Context, i: number, rng: Rng): Example | undefined {
  const entry = INTENT_INDEX[i % INTENT_INDEX.length]!;
  const intent = entry.family.at(entry.domain, entry.variant, rng);
  const full = /\bLIMIT \d+$/.test(intent.cypher) ? intent.cypher : `${intent.cypher} LIMIT 25`;
  const cuts = [...full.matchAll(/ /g)].map((m) => m.index!).filter((at) => at > 6);
  if (cuts.length === 0) return undefined;
  const cutAt = cuts[Math.floor(i / INTENT_INDEX.length) % cuts.length]!;
  // Half the prefixes stop inside a node pattern, as a user typing does.
  const query = rng.chance(0.3) && full.slice(0, cutAt).endsWith(")") ? full.slice(0, cutAt - 1) : full.slice(0, cutAt);
  if (!judgeAutocomplete(full, query).accepted || !checkCypher(full).ok) return undefined;
  const d = entry.domain;
  const schema = {
    labels: d.labels.map((l) => l.label),
    properties: [...new Set(d.labels.flatMap((l) => [l.key, ...l.props.map(([p]) => p), l.numeric[0]]))],
    relationshipTypes: d.rels.map((r) => r.type),
  };
  return rawExample(ctx, "autocomplete", autocompletePrompt(schema, query), full, { query }, query);
}

const SPAM_TARGETS = ["promo-buy-now-77", "tmp-node-000", "casino-bonus-link", "test123", "lorem-ipsum-9", "click-here-offer"];

function qcExample(ctx: Context, i: number, rng: Rng): Example | undefined {
  const d = DOMAINS[i % DOMAINS.length]!;
  const rel = rng.pick(d.rels);
  const from = d.labels.find((l) => l.label === rel.from)!;
  const source = rng.pick(from.values);
  const sourceId = `${from.label.toLowerCase()}-${source.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  const n = rng.range(1, 5);
  const candidates: { targetId: string; type: string; confidence: number; good: boolean }[] = [];
  const used = new Set<string>();
  for (let k = 0; k < n; k++) {
    const kind = rng.next();
    const conf = rng.range(50, 99) / 100;
    if (kind < 0.55) {
      const r = rng.pick(d.rels.filter((x) => x.from === from.label));
      const to = d.labels.find((l) => l.label === r.to)!;
      const target = rng.pick(to.values.filter((v) => v !== source));
      if (!target) continue;
      const id = `${to.label.toLowerCase()}-${target.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
      candidates.push({ targetId: id, type: r.type, confidence: conf, good: !used.has(id) });
      used.add(id);
    } else if (kind < 0.8) {
      candidates.push({
        targetId: rng.pick(SPAM_TARGETS),
        type: rng.pick(["RELATED_TO", "SIMILAR_TO", "LINKS"]),
        confidence: conf,
        good: false,
      });
    } else {
      candidates.push({ targetId: sourceId, type: rng.pick(["SAME_AS", "DUPLICATE_OF", "RELATED_TO"]), confidence: conf, good: false });
    }
  }
  if (candidates.length === 0) return undefined;
  const properties: [string, string][] = rng.shuffle([
    [from.key, source],
    ...from.props.map(([p, vs]): [string, string] => [p, rng.pick(vs)]),
  ]);
  const prompt = qcPrompt({ sourceId, labels: [from.label], properties, candidates });
  const approved = candidates.flatMap((c, k) => (c.good ? [k] : []));
  const rejected = candidates.flatMap((c, k) => (c.good ? [] : [k]));
  const reasons: string[] = [];
  if (approved.length)
    reasons.push(
      `${approved.map((k) => candidates[k]!.targetId).join(", ")} ${approved.length === 1 ? "is a" : "are"} meaningful ${[...new Set(approved.map((k) => candidates[k]!.type))].join("/")} link${approved.length === 1 ? "" : "s"}`,
    );
  if (rejected.some((k) => candidates[k]!.targetId === sourceId)) reasons.push("a self link duplicates the source");
  if (rejected.some((k) => SPAM_TARGETS.includes(candidates[k]!.targetId))) reasons.push("spam targets are rejected");
  if (
    rejected.some(
      (k) => candidates[k]!.good === false && candidates[k]!.targetId !== sourceId && !SPAM_TARGETS.includes(candidates[k]!.targetId),
    )
  )
    reasons.push("repeated targets are duplicates");
  const answer = JSON.stringify({ approved, rejected, reasoning: reasons.join("; ") });
  if ("why" in parseQc(answer)) return undefined;
  return rawExample(ctx, "qc", prompt, answer, { approved, rejected }, prompt);
}

// ---------------------------------------------------------------- the generator

export async function heimdallSpaces(options: HeimdallOptions = {}): Promise<CategorySpace[]> {
  const naming = options.naming ?? "dotted";
  if (naming !== "dotted" && naming !== "underscore")
    throw new GeneratorOptionsError(`--naming must be dotted or underscore, got "${String(naming)}"`);
  const registry = options.actions ? await loadRegistryFile(options.actions) : builtinRegistry(naming);
  const byRole = new Map<string, ActionSpec>();
  for (const a of registry.actions) {
    const role = registry.roles.get(a.name);
    if (role && !role.startsWith("builtin_")) byRole.set(role, a);
  }
  // heimdall.help (dotted) answers "what can you do"; the watcher has no help action there.
  if (registry.naming === "dotted")
    byRole.set(
      "help",
      registry.actions.find((a) => a.name === "heimdall.help")!,
    );
  let tokenizer: TextTokenizer | undefined;
  if (options.tokenizer) {
    try {
      tokenizer = await loadTokenizer(options.tokenizer);
    } catch (error) {
      throw new GeneratorOptionsError(`--tokenizer: ${(error as Error).message}`);
    }
  }
  const ctx: Context = { registry, byRole, ...(tokenizer ? { tokenizer } : {}), ragShare: options.ragShare ?? 0.3 };
  const mix = options.mix ? parseMix(options.mix) : DEFAULT_MIX;
  const requests = requestSpace(ctx);
  if (requests.size === 0)
    throw new GeneratorOptionsError(`${options.actions}: no action has "examples" (requests with params), so no action rows can be made`);
  const loopables = INTENT_INDEX.flatMap((e, k) => (e.family.name === "count_label" || e.family.name === "count_rel" ? [k] : []));
  const outcomeRoles = ["status", "db_stats", "metrics", "health"].filter((r) => byRole.has(r));
  const loopFinalBase = byRole.has("query") ? loopables.length * (1 + loopables.length) + outcomeRoles.length : 0;

  const queryRequest = (k: number, rng: Rng): Request | undefined => {
    const entry = INTENT_INDEX[k]!;
    const intent = entry.family.at(entry.domain, entry.variant, rng);
    return {
      user: intent.question,
      action: byRole.get("query")!,
      params: { cypher: intent.cypher },
      role: "query",
      domain: entry.domain,
      family: entry.family,
    };
  };
  const roleRequest = (role: string, rng: Rng): Request => {
    const users = actionIntents(new Set([role])).filter((x) => Object.keys(x.params).length === 0);
    return { user: rng.pick(users).user, action: byRole.get(role)!, params: {}, role };
  };

  const space = (
    name: HeimdallCategory,
    size: number,
    description: string,
    at: (i: number, rng: Rng) => Example | undefined,
  ): CategorySpace => ({
    name,
    weight: mix[name],
    size: mix[name] > 0 ? size : 0,
    description,
    at,
  });

  return [
    space("chat_action", requests.size, "chat: a request answered with one action envelope (valid params)", (i, rng) => {
      const req = requests.at(i, rng);
      return req && actionRequestExample(ctx, req, rng);
    }),
    space("chat_help", INTENT_INDEX.length * HELP_FRAMES.length, "chat: a Cypher how-to answered in prose with the query", (i, rng) =>
      helpExample(ctx, i, rng),
    ),
    space("chat_direct", DIRECT.length * DIRECT_FRAMES.length, "chat: no action fits; a direct prose answer", (i, rng) =>
      directExample(ctx, i, rng),
    ),
    space(
      "chat_rag",
      DOMAINS.reduce((s, d) => s + d.labels.reduce((t, l) => t + l.values.length, 0), 0) * RAG_QUESTIONS.length,
      "chat: answered in prose from the graph-RAG knowledge block",
      (i, rng) => ragExample(ctx, i, rng),
    ),
    space("loop_call", requests.size, "agentic loop (raw text): the first round's one-line envelope", (i, rng) => {
      const req = requests.at(i, rng);
      return req && loopCallExample(ctx, req, rng);
    }),
    space(
      "loop_final",
      loopFinalBase * 2,
      "agentic loop (raw text): after tool results, a second call or the one-line final answer",
      (i, rng) => {
        const secondCallOnly = i >= loopFinalBase;
        const k = i % loopFinalBase;
        if (k < outcomeRoles.length)
          return secondCallOnly ? undefined : loopFinalExample(ctx, [roleRequest(outcomeRoles[k]!, rng)], rng, false);
        const j = k - outcomeRoles.length;
        const a = Math.floor(j / (1 + loopables.length));
        const b = j % (1 + loopables.length);
        const first = queryRequest(loopables[a]!, rng);
        if (!first) return undefined;
        if (b === 0) return secondCallOnly ? undefined : loopFinalExample(ctx, [first], rng, false);
        if (b - 1 === a) return undefined;
        const second = queryRequest(loopables[b - 1]!, rng)!;
        const w1 = labelOrRel(first);
        const w2 = labelOrRel(second);
        const both = { ...first, user: `how many ${w1} and how many ${w2} are there` };
        return loopFinalExample(ctx, [both, second], rng, secondCallOnly);
      },
    ),
    space("synthesis", 6 * 4000, "synthesis (raw text): prose from an action's raw JSON data, using the numbers", (i, rng) =>
      synthesisExample(ctx, i, rng),
    ),
    space("autocomplete", INTENT_INDEX.length * 8, "autocomplete (raw text): the one completed Cypher line", (i, rng) =>
      autocompleteExample(ctx, i, rng),
    ),
    space("qc", DOMAINS.length * 4000, "edge QC (raw text): JSON approved/rejected indices with the reasoning", (i, rng) =>
      qcExample(ctx, i, rng),
    ),
  ];
}

function labelOrRel(req: Request): string {
  const cypher = String(req.params.cypher);
  const label = /MATCH \(n:(\w+)\)/.exec(cypher)?.[1];
  return label ? labelWords(label) : `${/\[r:(\w+)\]/.exec(cypher)?.[1]} relationships`;
}

export const heimdallGenerator: GeneratorDefinition = {
  name: "heimdall",
  summary:
    "NornicDB Heimdall rows in the server's exact formats: ChatML chat with the system prompt it builds (action envelope, help, direct and graph-RAG answers), and raw-text agentic loop, synthesis, autocomplete and edge-QC prompts. --format and --system do not apply.",
  options: [
    {
      name: "naming",
      type: "string",
      description: "built-in action names: dotted (2025-12 release) or underscore (later releases)",
      default: "dotted",
      choices: ["dotted", "underscore"],
    },
    {
      name: "actions",
      type: "string",
      description: "registry JSON file (names, descriptions, JSON schemas, example requests) instead of the built-in one",
      unset: "the built-in registry",
    },
    {
      name: "mix",
      type: "string",
      description: "category weights, e.g. chat_action=60,synthesis=40",
      unset: Object.entries(DEFAULT_MIX)
        .map(([k, v]) => `${k}=${v}`)
        .join(", "),
    },
    {
      name: "tokenizer",
      type: "string",
      description: "tokenizer directory: leave out prompts over the 2048-token prefill chunk, measured with it",
      unset: "no token check",
    },
  ],
  defaultOutput: "data/heimdall.jsonl",
  defaultCount: 2000,
  prepare: (options: OptionValues) =>
    heimdallSpaces({
      naming: (options.naming as Naming | undefined) ?? "dotted",
      ...(typeof options.actions === "string" && options.actions ? { actions: options.actions } : {}),
      ...(typeof options.mix === "string" && options.mix ? { mix: options.mix } : {}),
      ...(typeof options.tokenizer === "string" && options.tokenizer ? { tokenizer: options.tokenizer } : {}),
    }),
};

/** Both envelope rules, for checks of generated rows. */
export const envelopeRules = { "2025-12": parseEnvelope2025, later: parseEnvelopeLater } as const;
