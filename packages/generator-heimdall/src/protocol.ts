// The prompts NornicDB's Heimdall builds, string for string (see the reference nornicdb-heimdall.md: S = the
// 2025-12-31 snapshot, H = the later handler). Every builder takes its inputs explicitly: what the server draws at
// random (the action catalogue's map order, graph-RAG hits) is the caller's choice here.

export interface CatalogueAction {
  name: string;
  category: string;
  description: string;
}

export interface PromptExample {
  userSays: string;
  actionJson: string;
}

/** MaxSystemPromptTokens: above it (by the bytes/4 estimate) the server falls back to the minimal prompt. */
export const MAX_SYSTEM_PROMPT_TOKENS = 6000;
/** DefaultMaxContextTokens: system + last user message above it (bytes/4) is an HTTP 400. */
export const MAX_CONTEXT_TOKENS = 8192;
/** The CGO prefill chunk (BatchSize): past it only the last chunk of the prompt survives. */
export const PREFILL_CHUNK_TOKENS = 2048;

/** NornicDB's token estimate: int(len(bytes) * 0.25). */
export const estimateTokens = (text: string): number => Math.floor(Buffer.byteLength(text, "utf8") * 0.25);

/**
 * ActionPrompt(): per category `## {category}\n`, per action `- {name}: {description}\n`, then `\n`. The server
 * iterates Go maps, so the order is random per request; here it is the order of `categories` and their actions.
 */
export function actionPrompt(categories: ReadonlyArray<{ category: string; actions: readonly CatalogueAction[] }>): string {
  let out = "";
  for (const group of categories) {
    out += `## ${group.category}\n`;
    for (const a of group.actions) out += `- ${a.name}: ${a.description}\n`;
    out += "\n";
  }
  return out;
}

/** Groups actions by category, keeping first-seen order (shuffle before calling to mimic the map order). */
export function groupByCategory(actions: readonly CatalogueAction[]): { category: string; actions: CatalogueAction[] }[] {
  const groups = new Map<string, CatalogueAction[]>();
  for (const a of actions) {
    const list = groups.get(a.category) ?? [];
    list.push(a);
    groups.set(a.category, list);
  }
  return [...groups].map(([category, list]) => ({ category, actions: list }));
}

/** The constant CypherPrimer of pkg/heimdall/types.go (a tab and a trailing space included). */
export const CYPHER_PRIMER =
  "CYPHER QUERY REFERENCE:\n\nBasic Patterns:\n" +
  "  MATCH (n)                     - All nodes\n" +
  "  MATCH (n:Label)               - Nodes with label\n" +
  "  MATCH (n {prop: value})       - Nodes with property\n" +
  "  MATCH (n)-[r]->(m)           - Relationships\n" +
  "  MATCH (n)-[r:TYPE]->(m)      - Typed relationships\n\n" +
  "Common Queries:\n" +
  "  MATCH (n) RETURN count(n)                           - Count all nodes\n" +
  "  MATCH (n:Person) RETURN n LIMIT 10                  - Sample nodes\n" +
  "  MATCH (n)-[r]->(m) RETURN type(r), count(r)        - Relationship stats\n" +
  "  MATCH (n) RETURN labels(n), count(n) GROUP BY labels(n)  - Label distribution\n\n" +
  "Filtering:\n" +
  "  WHERE n.prop = 'value'        - Exact match\n" +
  "  WHERE n.prop CONTAINS 'text'  - Substring\n" +
  "  WHERE n.prop STARTS WITH 'x'  - Prefix\n" +
  "  WHERE n.prop IS NOT NULL      - Exists check\n" +
  "  WHERE n.prop > 10             - Comparison\n\n" +
  "Aggregations:\n" +
  "  count(n)                      - Count\n" +
  "  collect(n.prop)               - List\n" +
  "  sum(n.value), avg(n.value)    - Math\n" +
  "  max(n.value), min(n.value)    - Extremes\n\n" +
  "Path Queries:\n" +
  "  MATCH path = (a)-[*1..3]->(b) - Variable length (1-3 hops)\n" +
  "  MATCH (a)-[:KNOWS*]->(b)      - Any length\n" +
  "  shortestPath((a)-[*]->(b))    - Shortest path\n\n" +
  "Modifications (use carefully):\n" +
  "  CREATE (n:Label {prop: 'value'})                    - Create node\n" +
  "  MATCH (n) SET n.prop = 'value'                      - Update property\n" +
  "  MATCH (n) DETACH DELETE n                           - Delete with relationships\n" +
  "  MATCH (a),(b) CREATE (a)-[:REL]->(b)               - Create relationship\n\n" +
  "Subqueries:\n" +
  "  CALL { MATCH (n) RETURN count(n) as c } RETURN c   - Subquery\n" +
  "  UNWIND [1,2,3] AS x RETURN x                        - List expansion\n\n" +
  "Vector Search:\n" +
  "  CALL db.index.vector.queryNodes('chunk_embedding_index', 50, 'YOUR QUERY HERE')\n" +
  "  YIELD node AS chunk, score\n" +
  "  MATCH (file:File)-[:HAS_CHUNK]->(chunk) \n" +
  "  RETURN file.path AS file,\n" +
  "\tmax(score) AS bestScore,\n" +
  "\tcount(*) AS matchedChunks\n" +
  "  ORDER BY bestScore DESC\n" +
  "  LIMIT 10;\n";

const RESPONSE_MODES =
  "RESPONSE MODES:\n\n1. ACTION MODE - For database operations, respond with JSON:\n" +
  '   {"action": "heimdall.watcher.status", "params": {}}\n' +
  '   {"action": "heimdall.watcher.query", "params": {"cypher": "MATCH (n) RETURN count(n)"}}\n' +
  "\n2. HELP MODE - For Cypher questions, explain and provide examples:\n" +
  "   - If asked about Cypher syntax, explain clearly with examples\n" +
  "   - If asked how to write a query, provide the query AND explain it\n" +
  "   - Be helpful and educational\n" +
  "\nIMPORTANT: Always complete your JSON responses with proper closing braces.\n\n";

export interface SystemPromptInput {
  actionPrompt: string;
  /** AdditionalInstructions (the graph-RAG block goes here); empty = the section is left out. */
  additionalInstructions?: string;
  examples?: readonly PromptExample[];
}

/** buildFullPrompt (S). */
export function buildFullPrompt(input: SystemPromptInput): string {
  let sb =
    "You are Heimdall, the AI assistant for NornicDB - a high-performance graph database.\n" +
    "Your role is to help users manage the database by executing actions and running Cypher queries.\n\n";
  sb += "AVAILABLE ACTIONS:\n" + input.actionPrompt + "\n";
  sb += CYPHER_PRIMER + "\n";
  sb += RESPONSE_MODES;
  if (input.additionalInstructions) sb += "ADDITIONAL CONTEXT:\n" + input.additionalInstructions + "\n\n";
  if (input.examples && input.examples.length > 0) {
    sb += "EXAMPLES:\n";
    for (const ex of input.examples) sb += `User: "${ex.userSays}"\n\u2192 ${ex.actionJson}\n\n`;
  }
  sb += "Respond with JSON action command only. No explanations, no markdown.\n";
  return sb;
}

/** buildMinimalPrompt (S). */
export function buildMinimalPrompt(input: Pick<SystemPromptInput, "actionPrompt">): string {
  return (
    "You are Heimdall, AI assistant for NornicDB graph database.\n\n" +
    "ACTIONS:\n" +
    input.actionPrompt +
    '\nFor queries: {"action": "heimdall.watcher.query", "params": {"cypher": "..."}}\n' +
    "Respond with JSON only.\n"
  );
}

/** BuildFinalPrompt: the full prompt when its estimate fits MaxSystemPromptTokens, else the minimal one. */
export function buildFinalPrompt(input: SystemPromptInput): string {
  const full = buildFullPrompt(input);
  return estimateTokens(full) <= MAX_SYSTEM_PROMPT_TOKENS ? full : buildMinimalPrompt(input);
}

export interface ChatTurn {
  role: string;
  content: string;
}

/** BuildPrompt (types.go): ChatML for user/assistant/system turns (others dropped), then the assistant header. */
export function buildChatPrompt(messages: readonly ChatTurn[]): string {
  let prompt = "";
  for (const m of messages) {
    if (m.role === "system" || m.role === "user" || m.role === "assistant") prompt += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  }
  return prompt + "<|im_start|>assistant\n";
}

/** Messages the S handler skips graph-RAG for: under 5 bytes, or starting (lower-cased) with these words. */
export function skipsGraphRag(message: string): boolean {
  if (Buffer.byteLength(message, "utf8") < 5) return true;
  const lower = message.toLowerCase();
  return ["status", "metrics", "health", "config", "hello", "hi", "help"].some((w) => lower.startsWith(w));
}

export interface RagHit {
  type: string;
  /** Title, or the ID when there is no title. */
  title: string;
  content?: string;
  properties?: ReadonlyArray<[string, string]>;
  related?: ReadonlyArray<{ direction: "out" | "in"; type: string; title: string; via: string }>;
}

const cut200 = (v: string) => (v.length > 200 ? v.slice(0, 200) + "..." : v);

/** performGraphRAG's block (S, depth 2), what goes into AdditionalInstructions. */
export function graphRagBlock(hits: readonly RagHit[]): string {
  let out =
    "\n\n=== KNOWLEDGE FROM GRAPH DATABASE ===\n" +
    "The following information was found in the knowledge graph and may help answer the user's question:\n\n";
  hits.forEach((hit, i) => {
    out += `### ${i + 1}. [${hit.type}] ${hit.title}\n`;
    if (hit.content) out += `Content: ${hit.content}\n`;
    if (hit.properties && hit.properties.length > 0) {
      out += "Properties:\n";
      for (const [k, v] of hit.properties) out += `  - ${k}: ${cut200(v)}\n`;
    }
    if (hit.related && hit.related.length > 0) {
      out += "Related:\n";
      for (const r of hit.related.slice(0, 3))
        out += `  ${r.direction === "out" ? "\u2192" : "\u2190"} [${r.type}] ${r.title} (via ${r.via})\n`;
    }
    out += "\n";
  });
  out +=
    "=== END KNOWLEDGE ===\n\n" +
    "Use the above knowledge to help answer the user's question. If you can answer directly, do so. " +
    "If more detailed search is needed, use the heimdall.watcher.discover action.\n";
  return out;
}

/**
 * Go's encoding/json: object keys of maps sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped; with `indent`, the
 * layout of json.MarshalIndent(v, "", indent).
 */
export function goJson(value: unknown, indent?: string): string {
  const escape = (s: string) =>
    JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const write = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "string") return escape(v);
    if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "null";
    if (typeof v === "boolean") return v ? "true" : "false";
    const nl = indent === undefined ? "" : "\n" + indent.repeat(depth + 1);
    const close = indent === undefined ? "" : "\n" + indent.repeat(depth);
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      return "[" + v.map((x) => nl + write(x, depth + 1)).join(",") + close + "]";
    }
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    if (!(v as { [ORDERED]?: boolean })[ORDERED]) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sep = indent === undefined ? ":" : ": ";
    return "{" + entries.map(([k, x]) => nl + escape(k) + sep + write(x, depth + 1)).join(",") + close + "}";
  };
  return write(value, 0);
}

const ORDERED = Symbol("go struct: fields in declaration order");

/** ActionResult as json.Marshal writes it: success, message, then data (left out when empty), data's keys sorted. */
export function actionResultJson(result: { success: boolean; message: string; data?: Record<string, unknown> }): string {
  const struct: Record<string, unknown> & { [ORDERED]?: boolean } = { success: result.success, message: result.message };
  if (result.data && Object.keys(result.data).length > 0) struct.data = result.data;
  struct[ORDERED] = true;
  return goJson(struct);
}

export interface LoopTool {
  name: string;
  description?: string;
  /** The tool's inputSchema as JSON text (MCP tools carry it; left out when absent). */
  inputSchema?: string;
}

/** The `TOOLS AVAILABLE TO YOU:` block (H prompt-based loop); empty without tools. */
export function loopToolsBlock(tools: readonly LoopTool[]): string {
  if (tools.length === 0) return "";
  let out = "\n\nTOOLS AVAILABLE TO YOU:\n";
  for (const t of tools)
    out += `- ${t.name}${t.description ? `: ${t.description}` : ""}${t.inputSchema ? ` | inputSchema: ${t.inputSchema}` : ""}\n`;
  return out;
}

/** The first prompt of the prompt-based agentic loop (raw text, no ChatML). */
export function loopPrompt(systemPrompt: string, tools: readonly LoopTool[], userMessage: string): string {
  return (
    systemPrompt +
    loopToolsBlock(tools) +
    `\nUser: ${userMessage}\n\n` +
    "If the ADDITIONAL CONTEXT above contains KNOWLEDGE FROM GRAPH DATABASE, answer from it in one short sentence. " +
    'Otherwise output one line: {"action": "<name>", "params": {...}} or a direct answer.\n\nAssistant: '
  );
}

/** What the loop appends after an executed action; `failed` = ExecuteAction returned a Go error. */
export function loopContinuation(rawOutput: string, resultJson: string, failed = false): string {
  return (
    `${rawOutput}\n\nTool result: ${resultJson}\n\n` +
    (failed
      ? 'Output exactly one line: either {"action": "<name>", "params": {...}} or a brief direct answer. no repetition.\n\nAssistant: '
      : 'Output exactly one line: either {"action": "<name>", "params": {...}} or a brief direct answer to the user. No thinking, no examples, no repetition.\n\nAssistant: ')
  );
}

/** buildSynthesisPrompt (S). `data` is printed as json.MarshalIndent(data, "", "  "). */
export function synthesisPrompt(question: string, message: string, data: Record<string, unknown>): string {
  let out = `You are Heimdall, the AI assistant for NornicDB. Answer the user's question using the data provided.\n\nUSER QUESTION: ${question}\n\n`;
  if (message) out += `FORMATTED DATA:\n${message}\n\n`;
  out += `RAW DATA (JSON):\n${goJson(data, "  ")}\n\nINSTRUCTIONS:\n`;
  out += [
    "1. Answer the user's question directly and completely",
    "2. Include ALL relevant data points from above - don't omit information",
    "3. Format your response with clear sections if there are multiple categories",
    "4. Use bullet points (\u2022) for lists",
    "5. For feature flags, list each flag with its status (enabled/disabled)",
    "6. For statistics, include the actual numbers",
    "7. Be helpful and informative, not brief",
    "8. Do NOT output JSON - write natural language",
    "9. Do NOT suggest commands - just present the data",
  ].join("\n");
  return out + "\n\nYOUR RESPONSE:";
}

export interface AutocompleteSchema {
  labels?: readonly string[];
  properties?: readonly string[];
  relationshipTypes?: readonly string[];
}

/** The `{schema}` part of the autocomplete prompt (each line only when non-empty; ≤20 properties, ≤10 types). */
export function autocompleteSchema(schema: AutocompleteSchema): string {
  let out = "";
  if (schema.labels?.length) out += `Node labels: ${schema.labels.join(", ")}\n`;
  if (schema.properties?.length) out += `Node properties (use as n.propertyName): ${schema.properties.slice(0, 20).join(", ")}\n`;
  if (schema.relationshipTypes?.length)
    out += `Relationship types (use in patterns like (a)-[:TYPE]->(b)): ${schema.relationshipTypes.slice(0, 10).join(", ")}\n`;
  return out;
}

/** handleAutocomplete's prompt (H). */
export function autocompletePrompt(schema: AutocompleteSchema, query: string): string {
  return (
    "Complete this Cypher query. Output ONLY the single completed Cypher line. No explanations, no reasoning, no commentary about the user.\n\n" +
    autocompleteSchema(schema) +
    "Rules:\n- Output ONLY the Cypher query line, nothing else\n" +
    '- No "the user", "they are", "I need to", or any meta-commentary\n' +
    "- Properties: n.propertyName. Relationships: (a)-[:TYPE]->(b)\n" +
    "- If missing LIMIT statement at the end, add LIMIT 25 at the end\n\n" +
    `Current query:\n${query}\n\nComplete Cypher query (one line only):`
  );
}

/** Edge QC's system prompt (GetSystemPrompt). */
export function qcSystemPrompt(augment = false): string {
  return (
    'Review graph edges. Output JSON only.\nFormat: {"approved":[indices],"rejected":[indices],"reasoning":"why"}\n' +
    "Approve if nodes are meaningfully related. Reject spam/duplicates." +
    (augment ? '\nMay add: "additional":[{"target_id":"id","type":"TYPE","conf":0.8,"reason":"why"}]' : "")
  );
}

export interface QcCandidate {
  targetId: string;
  type: string;
  /** 0.5 ≤ confidence ≤ 1: lower ones are dropped before the prompt. */
  confidence: number;
}

export interface QcBatch {
  sourceId: string;
  labels: readonly string[];
  /** In the order printed (Go map order: random). */
  properties: ReadonlyArray<[string, string]>;
  candidates: readonly QcCandidate[];
  pool?: readonly string[];
}

/** Go's %.0f: round half to even. */
function goPercent(x: number): string {
  const v = x * 100;
  const floor = Math.floor(v);
  const diff = v - floor;
  const rounded = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  return String(rounded);
}

/** buildBatchPrompt (the user content of an edge-QC request). */
export function qcBatchPrompt(batch: QcBatch): string {
  let out = `SRC:${batch.sourceId}[${batch.labels.join(" ")}]\n`;
  for (const [k, v] of batch.properties) {
    const bytes = Buffer.from(v, "utf8");
    out += ` ${k}:${bytes.length > 200 ? bytes.subarray(0, 197).toString("utf8") + "..." : v}\n`;
  }
  out += "EDGES:\n";
  batch.candidates.forEach((c, i) => {
    out += `${i}.${c.targetId}\u2192${c.type}(${goPercent(c.confidence)}%)\n`;
  });
  if (batch.pool) out += `POOL:${batch.pool.map((id) => `${id},`).join("")}\n`;
  return out;
}

/** The documented raw QC request: system prompt, a blank line, the batch. */
export function qcPrompt(batch: QcBatch, augment = false): string {
  return qcSystemPrompt(augment) + "\n\n" + qcBatchPrompt(batch);
}

/** `{"action": "…", "params": {…}}` in the spacing of the server's own examples. */
export function formatEnvelope(action: string, params: Record<string, unknown>): string {
  return `{"action": ${JSON.stringify(action)}, "params": ${spacedJson(params)}}`;
}

function spacedJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(spacedJson).join(", ")}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${spacedJson(x)}`).join(", ")}}`;
}
