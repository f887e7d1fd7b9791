// Action registries: the built-in ones (dotted names of the 2025-12 release, underscore names of the later one) and
// a user's own (--actions FILE). Params are validated against each action's JSON Schema with ajv.
import { readFile } from "node:fs/promises";
import { Ajv, type ValidateFunction } from "ajv";
import type { CatalogueAction, PromptExample } from "./protocol.js";

export type Naming = "dotted" | "underscore";
export type JsonSchema = Record<string, unknown>;

export interface ActionSpec extends CatalogueAction {
  schema: JsonSchema;
  /** Requests that map to this action, with their params (a user registry's own; checked against the schema). */
  examples?: ReadonlyArray<{ user: string; params: Record<string, unknown> }>;
}

export interface Registry {
  naming: Naming | "custom";
  actions: readonly ActionSpec[];
  /** The EXAMPLES section of the chat system prompt. */
  promptExamples: readonly PromptExample[];
  /** The role an action plays for the built-in intents ("query", "discover", …), by registered name. */
  roles: ReadonlyMap<string, string>;
}

/** P's DefaultActionInputSchema. */
export const DEFAULT_SCHEMA: JsonSchema = { type: "object", properties: {}, additionalProperties: true };

const QUERY_SCHEMA_P: JsonSchema = {
  type: "object",
  properties: {
    cypher: { type: "string", description: "Cypher query to execute" },
    params: { type: "object", description: "Optional query parameters" },
    database: { type: "string", description: "Logical database name (optional)" },
  },
  required: ["cypher"],
};
const DISCOVER_SCHEMA_P: JsonSchema = {
  type: "object",
  properties: {
    query: { type: "string", description: "Natural language or keyword search query" },
    limit: { type: "integer", description: "Max results (default 10)" },
    depth: { type: "integer", description: "Traversal depth for relationships from matched nodes (default 1)" },
  },
  required: ["query"],
};
const AUTOCOMPLETE_SCHEMA_P: JsonSchema = {
  type: "object",
  properties: { query: { type: "string", description: "Partial Cypher query to complete" } },
  required: ["query"],
};

// S has no JSON Schema: these say what its code reads (the reference's "Reads" column).
const S_SCHEMAS: Record<string, JsonSchema> = {
  hello: { type: "object", properties: { name: { type: "string" } } },
  set_config: {
    type: "object",
    // max_tokens is type-checked as a Go int, which a decoded JSON number never is: only temperature can succeed.
    properties: { temperature: { type: "number", minimum: 0, maximum: 2 } },
    additionalProperties: false,
    minProperties: 1,
  },
  events: { type: "object", properties: { limit: { type: "integer" } } },
  query: { type: "object", properties: { cypher: { type: "string", minLength: 1 }, params: { type: "object" } }, required: ["cypher"] },
  broadcast: { type: "object", properties: { message: { type: "string", minLength: 1 } }, required: ["message"] },
  notify: {
    type: "object",
    properties: { type: { type: "string" }, title: { type: "string" }, message: { type: "string", minLength: 1 } },
    required: ["message"],
  },
  discover: {
    type: "object",
    properties: {
      query: { type: "string", minLength: 1 },
      types: { type: "array", items: { type: "string" } },
      type: { type: "string" },
      limit: { type: "integer", minimum: 1 },
      depth: { type: "integer", minimum: 1, maximum: 3 },
    },
    required: ["query"],
  },
};

const DOTTED: ReadonlyArray<[string, string, string]> = [
  ["heimdall.help", "system", "List all available SLM actions"],
  ["heimdall.status", "system", "Get SLM system status"],
  ["heimdall.watcher.hello", "test", "Hello World - A simple test action to verify Heimdall is working"],
  ["heimdall.watcher.status", "monitoring", "Get comprehensive NornicDB status including database, runtime, and Heimdall metrics"],
  ["heimdall.watcher.health", "monitoring", "Check system health status"],
  ["heimdall.watcher.config", "configuration", "Get current SLM configuration"],
  ["heimdall.watcher.set_config", "configuration", "Update SLM configuration (params: max_tokens, temperature)"],
  ["heimdall.watcher.metrics", "monitoring", "Get detailed metrics: runtime, memory, goroutines, GC, database stats"],
  ["heimdall.watcher.events", "monitoring", "Get recent system events (params: limit)"],
  ["heimdall.watcher.query", "database", "Execute a read-only Cypher query (params: cypher, params)"],
  ["heimdall.watcher.db_stats", "database", "Get database statistics: node/edge counts, k-means clusters, embeddings, feature flags"],
  ["heimdall.watcher.broadcast", "system", "Broadcast a message to all connected Bifrost clients (params: message)"],
  ["heimdall.watcher.notify", "system", "Send a notification via Bifrost (params: type, title, message)"],
  [
    "heimdall.watcher.discover",
    "search",
    "Semantic search in the knowledge graph (params: query, types, limit, depth). Use this to find information by meaning, not exact keywords.",
  ],
];

// W1 (the intermediate later release): heimdall_watcher_* with P's schemas.
const UNDERSCORE: ReadonlyArray<[string, string, string, JsonSchema]> = [
  ["heimdall_watcher_help", "system", "List all available SLM actions", DEFAULT_SCHEMA],
  ["heimdall_watcher_status", "system", "Get SLM system status (plugins, actions, database, runtime)", DEFAULT_SCHEMA],
  [
    "heimdall_watcher_autocomplete_suggest",
    "query",
    "Generate Cypher query autocomplete suggestions based on database schema",
    AUTOCOMPLETE_SCHEMA_P,
  ],
  [
    "heimdall_watcher_discover",
    "search",
    "Semantic search in the knowledge graph. Use for conceptual search (e.g. 'pharmacy', 'my orders', 'prescription status'). Params: query (required), limit (optional), depth (optional).",
    DISCOVER_SCHEMA_P,
  ],
  [
    "heimdall_watcher_query",
    "database",
    "Execute a read-only Cypher query. Use when the user asks for explicit Cypher, MATCH/RETURN, or nodes by label. Params: cypher (required), params (optional), database (optional).",
    QUERY_SCHEMA_P,
  ],
  [
    "heimdall_watcher_db_stats",
    "database",
    "Get database statistics: node/edge counts, labels, k-means clusters, embeddings, feature flags",
    DEFAULT_SCHEMA,
  ],
];

const env = (name: string, params: string) => `{"action": "${name}", "params": ${params}}`;

/**
 * The handler's defaultExamples as the public fork bellorr/NornicDB (6ac929f4, whose buildFullPrompt is S's) has
 * them. S itself carries 27 plus 16 from the watcher; their text was not available.
 */
export function defaultPromptExamples(): PromptExample[] {
  const q = (cypher: string) => `{"cypher": "${cypher}"}`;
  const query = "heimdall.watcher.query";
  return [
    ["status", env("heimdall.watcher.status", "{}")],
    ["what is the status", env("heimdall.watcher.status", "{}")],
    ["show me metrics", env("heimdall.watcher.metrics", "{}")],
    ["database stats", env("heimdall.watcher.db_stats", "{}")],
    ["health check", env("heimdall.watcher.status", "{}")],
    ["how many nodes", env(query, q("MATCH (n) RETURN count(n) AS total_nodes"))],
    ["count all relationships", env(query, q("MATCH ()-[r]->() RETURN count(r) AS total_relationships"))],
    ["what labels exist", env(query, q("CALL db.labels() YIELD label RETURN label"))],
    ["show relationship types", env(query, q("CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType"))],
    ["show me some nodes", env(query, q("MATCH (n) RETURN n LIMIT 10"))],
    ["sample Person nodes", env(query, q("MATCH (n:Person) RETURN n LIMIT 5"))],
    ["show relationships", env(query, q("MATCH (a)-[r]->(b) RETURN a, type(r), b LIMIT 10"))],
    ["find nodes with name Alice", env(query, q("MATCH (n {name: 'Alice'}) RETURN n"))],
    ["search for nodes containing test", env(query, q("MATCH (n) WHERE n.name CONTAINS 'test' RETURN n LIMIT 20"))],
    ["nodes per label", env(query, q("MATCH (n) RETURN labels(n) AS label, count(n) AS count ORDER BY count DESC"))],
    ["relationship distribution", env(query, q("MATCH ()-[r]->() RETURN type(r) AS type, count(r) AS count ORDER BY count DESC"))],
    ["find highly connected nodes", env(query, q("MATCH (n)-[r]-() RETURN n, count(r) AS connections ORDER BY connections DESC LIMIT 10"))],
    ["orphan nodes", env(query, q("MATCH (n) WHERE NOT (n)--() RETURN n LIMIT 20"))],
  ].map(([userSays, actionJson]) => ({ userSays: userSays!, actionJson: actionJson! }));
}

const roleOf = (name: string) => name.replace(/^heimdall[._](watcher[._])?/, "");

export function builtinRegistry(naming: Naming): Registry {
  const actions: ActionSpec[] =
    naming === "dotted"
      ? DOTTED.map(([name, category, description]) => ({ name, category, description, schema: S_SCHEMAS[roleOf(name)] ?? DEFAULT_SCHEMA }))
      : UNDERSCORE.map(([name, category, description, schema]) => ({ name, category, description, schema }));
  const roles = new Map<string, string>();
  for (const a of actions) {
    const role = roleOf(a.name);
    // heimdall.status and heimdall.watcher.status both exist in S; intents use the watcher's.
    if (naming === "dotted" && (a.name === "heimdall.status" || a.name === "heimdall.help")) roles.set(a.name, `builtin_${role}`);
    else roles.set(a.name, role);
  }
  // The later handler adds no examples of its own.
  return { naming, actions, promptExamples: naming === "dotted" ? defaultPromptExamples() : [], roles };
}

export class ActionsFileError extends Error {
  override name = "GeneratorOptionsError";
}

/**
 * A user's registry: a JSON array (or `{"actions": [...]}`) of `{name, description, category?, schema?, examples?}`,
 * `examples` being `[{"user": "...", "params": {...}}]`; optional top-level `promptExamples`.
 */
export async function loadRegistryFile(file: string): Promise<Registry> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ActionsFileError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ActionsFileError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(data) ? data : (data as { actions?: unknown })?.actions;
  if (!Array.isArray(list) || list.length === 0)
    throw new ActionsFileError(`${file}: expected a non-empty array of actions (or {"actions": [...]})`);
  const actions: ActionSpec[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const where = `${file}: actions[${i}]`;
    if (typeof raw !== "object" || raw === null) throw new ActionsFileError(`${where}: expected an object`);
    const a = raw as Record<string, unknown>;
    if (typeof a.name !== "string" || !a.name.trim()) throw new ActionsFileError(`${where}.name: must be a non-empty string`);
    if (seen.has(a.name)) throw new ActionsFileError(`${where}.name: "${a.name}" is listed twice`);
    seen.add(a.name);
    if (typeof a.description !== "string") throw new ActionsFileError(`${where}.description: must be a string`);
    const schema = (a.schema ?? a.inputSchema ?? DEFAULT_SCHEMA) as JsonSchema;
    if (typeof schema !== "object" || schema === null || Array.isArray(schema))
      throw new ActionsFileError(`${where}.schema: must be a JSON Schema object`);
    let validate: ValidateFunction;
    try {
      validate = compileSchema(schema);
    } catch (error) {
      throw new ActionsFileError(`${where}.schema: ${(error as Error).message}`);
    }
    const examples: { user: string; params: Record<string, unknown> }[] = [];
    if (a.examples !== undefined) {
      if (!Array.isArray(a.examples)) throw new ActionsFileError(`${where}.examples: must be an array`);
      a.examples.forEach((e, k) => {
        const ex = e as { user?: unknown; params?: unknown };
        if (typeof ex?.user !== "string" || !ex.user.trim())
          throw new ActionsFileError(`${where}.examples[${k}].user: must be a non-empty string`);
        const params = ex.params ?? {};
        if (typeof params !== "object" || params === null || Array.isArray(params))
          throw new ActionsFileError(`${where}.examples[${k}].params: must be an object`);
        if (!validate(params)) throw new ActionsFileError(`${where}.examples[${k}].params: ${schemaError(validate)}`);
        examples.push({ user: ex.user, params: params as Record<string, unknown> });
      });
    }
    actions.push({
      name: a.name,
      description: a.description,
      category: typeof a.category === "string" ? a.category : "custom",
      schema,
      examples,
    });
  });
  const promptExamples = Array.isArray((data as { promptExamples?: unknown })?.promptExamples)
    ? ((data as { promptExamples: { userSays: string; actionJson: string }[] }).promptExamples ?? [])
    : [];
  return { naming: "custom", actions, promptExamples, roles: new Map() };
}

const ajv = new Ajv({ allErrors: false, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();

function compileSchema(schema: JsonSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

function schemaError(v: ValidateFunction): string {
  const e = v.errors?.[0];
  if (!e) return "invalid";
  const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, ".") + " " : "";
  if (e.keyword === "required") return `missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
  return `${at}${e.message ?? "invalid"}`;
}

/** Checks params against the action's schema: undefined when valid, else the first problem. */
export function checkParams(action: ActionSpec, params: unknown): string | undefined {
  const v = compileSchema(action.schema);
  return v(params) ? undefined : schemaError(v);
}
