// What users ask Heimdall that maps to a built-in action (besides Cypher queries), and the data actions return.
import type { Rng } from "@neural/generators";
import { DOMAINS, labelWords } from "./domain.js";

export interface ActionIntent {
  /** The action's role (its name without heimdall.watcher. / heimdall_watcher_). */
  role: string;
  user: string;
  params: Record<string, unknown>;
}

const TOPICS = [
  "pharmacy",
  "late orders",
  "authentication code",
  "sci-fi movies",
  "prescription status",
  "billing disputes",
  "the storage engine",
  "customer churn",
  "graph indexing",
  "vector search",
  "Berlin offices",
  "error handling in the parser",
];
const MESSAGES = [
  "maintenance starts at 18:00 UTC",
  "the nightly import finished",
  "the cluster is back online",
  "please save your work",
  "backups completed successfully",
  "a new release is deployed",
];
const NAMES = ["Alice", "Bob", "Carol", "Dmitri", "Elena"];

/** Fixed requests per role; `{x}` slots are filled per variant. */
const FIXED: Record<string, readonly string[]> = {
  status: [
    "status",
    "what is the status",
    "how is the database doing",
    "show server status",
    "is everything running",
    "give me a status report",
    "check nornicdb status",
    "status of the system please",
  ],
  health: [
    "is the database healthy",
    "check system health",
    "run a health check now",
    "are all systems healthy",
    "health status of nornicdb",
  ],
  metrics: [
    "show me metrics",
    "memory usage",
    "how many goroutines are running",
    "show GC stats",
    "runtime metrics please",
    "what is the memory footprint",
  ],
  config: [
    "what is the current configuration",
    "show heimdall config",
    "which temperature is heimdall using",
    "show the SLM settings",
    "config of the assistant",
  ],
  db_stats: [
    "database stats",
    "how many embeddings are there",
    "show database statistics",
    "are k-means clusters enabled",
    "which feature flags are on",
    "give me node and edge counts",
  ],
  events: ["show recent events", "what happened recently", "list recent system events", "any new events"],
  help: ["what can you do", "list your actions", "which commands do you know", "what actions are available", "show me what you can do"],
  hello: ["hello heimdall", "test that heimdall works", "say hello", "ping heimdall"],
};

/** Every built-in (role, request, params) variant, for the roles present in `roles`. */
export function actionIntents(roles: ReadonlySet<string>): ActionIntent[] {
  const out: ActionIntent[] = [];
  for (const [role, users] of Object.entries(FIXED)) if (roles.has(role)) for (const user of users) out.push({ role, user, params: {} });
  if (roles.has("events"))
    for (const n of [5, 10, 20]) out.push({ role: "events", user: `list the last ${n} events`, params: { limit: n } });
  if (roles.has("hello")) for (const name of NAMES) out.push({ role: "hello", user: `say hello to ${name}`, params: { name } });
  if (roles.has("set_config"))
    for (const t of [0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.2]) {
      out.push({ role: "set_config", user: `set the temperature to ${t}`, params: { temperature: t } });
      out.push({ role: "set_config", user: `change heimdall's temperature to ${t}`, params: { temperature: t } });
    }
  if (roles.has("broadcast"))
    for (const m of MESSAGES) {
      out.push({ role: "broadcast", user: `broadcast "${m}" to everyone`, params: { message: m } });
      out.push({ role: "broadcast", user: `tell all connected clients that ${m}`, params: { message: m } });
    }
  if (roles.has("notify"))
    for (const m of MESSAGES) {
      out.push({ role: "notify", user: `send me a notification saying ${m}`, params: { message: m } });
      out.push({
        role: "notify",
        user: `raise a warning notification titled Ops: ${m}`,
        params: { type: "warning", title: "Ops", message: m },
      });
    }
  if (roles.has("discover"))
    for (const t of TOPICS) {
      out.push({ role: "discover", user: `find anything about ${t}`, params: { query: t } });
      out.push({ role: "discover", user: `search the knowledge graph for ${t}`, params: { query: t } });
      out.push({ role: "discover", user: `semantic search for ${t}, top 5`, params: { query: t, limit: 5 } });
    }
  if (roles.has("autocomplete_suggest"))
    for (const d of DOMAINS)
      for (const l of d.labels) {
        const q = `MATCH (n:${l.label}`;
        out.push({ role: "autocomplete_suggest", user: `suggest a completion for ${q}`, params: { query: q } });
        out.push({
          role: "autocomplete_suggest",
          user: `autocomplete this query: MATCH (n:${l.label}) WHERE n.${l.key}`,
          params: { query: `MATCH (n:${l.label}) WHERE n.${l.key}` },
        });
      }
  return out;
}

export interface ActionOutcome {
  message: string;
  data: Record<string, unknown>;
  /** A one-line answer from this result, and a longer prose answer (synthesis). */
  brief: string;
  prose: string;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The result a role's action returns, with random numbers, and answers that use them. */
export function outcomeFor(role: string, question: string, rng: Rng): ActionOutcome | undefined {
  switch (role) {
    case "db_stats": {
      const nodes = rng.range(100, 500_000);
      const edges = rng.range(nodes, nodes * 4);
      const embeddings = rng.range(0, nodes);
      const clusters = rng.range(0, 64);
      const flags = { auto_tlp: rng.chance(0.5), heimdall: true, kmeans: clusters > 0, vector_search: rng.chance(0.7) };
      const flagLines = Object.entries(flags)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `• ${k}: ${v ? "enabled" : "disabled"}`)
        .join("\n");
      return {
        message: "Database statistics retrieved",
        data: { nodes, edges, embeddings, clusters, feature_flags: flags },
        brief: `The database holds ${fmt(nodes)} nodes and ${fmt(edges)} edges, with ${fmt(embeddings)} embeddings in ${clusters} clusters.`,
        prose: `Here are the database statistics:\n\nGraph:\n• Nodes: ${fmt(nodes)}\n• Edges: ${fmt(edges)}\n• Embeddings: ${fmt(embeddings)}\n• K-means clusters: ${clusters}\n\nFeature flags:\n${flagLines}`,
      };
    }
    case "status": {
      const uptime = rng.range(1, 720);
      const goroutines = rng.range(20, 400);
      const memory = rng.range(80, 4000);
      const nodes = rng.range(100, 200_000);
      return {
        message: "NornicDB is running",
        data: {
          status: "running",
          uptime_hours: uptime,
          goroutines,
          memory_mb: memory,
          nodes,
          heimdall: { enabled: true, model: "heimdall" },
        },
        brief: `NornicDB is running: up ${uptime} hours, ${goroutines} goroutines, ${fmt(memory)} MB of memory, ${fmt(nodes)} nodes.`,
        prose: `NornicDB is running normally.\n\n• Uptime: ${uptime} hours\n• Goroutines: ${goroutines}\n• Memory in use: ${fmt(memory)} MB\n• Nodes stored: ${fmt(nodes)}\n• Heimdall: enabled (model heimdall)`,
      };
    }
    case "metrics": {
      const heap = rng.range(20, 3000);
      const goroutines = rng.range(20, 400);
      const gc = rng.range(1, 5000);
      return {
        message: "Runtime metrics",
        data: { heap_mb: heap, goroutines, gc_cycles: gc, cpu_count: rng.pick([2, 4, 8, 16]) },
        brief: `The heap uses ${fmt(heap)} MB with ${goroutines} goroutines after ${fmt(gc)} GC cycles.`,
        prose: `Current runtime metrics:\n\n• Heap in use: ${fmt(heap)} MB\n• Goroutines: ${goroutines}\n• Garbage collection cycles: ${fmt(gc)}`,
      };
    }
    case "health": {
      const ok = rng.chance(0.8);
      const latency = rng.range(1, 90);
      return {
        message: ok ? "All systems healthy" : "Degraded: storage latency high",
        data: { healthy: ok, storage_latency_ms: latency, checks: { storage: ok ? "ok" : "slow", heimdall: "ok", bolt: "ok" } },
        brief: ok
          ? `All systems are healthy; storage latency is ${latency} ms.`
          : `The system is degraded: storage is slow (${latency} ms latency), Heimdall and Bolt are fine.`,
        prose: ok
          ? `Everything is healthy.\n\n• Storage: ok (${latency} ms latency)\n• Heimdall: ok\n• Bolt protocol: ok`
          : `The system is degraded.\n\n• Storage: slow (${latency} ms latency)\n• Heimdall: ok\n• Bolt protocol: ok`,
      };
    }
    case "count": {
      const n = rng.range(0, 90_000);
      return {
        message: "Query returned 1 row",
        data: { rows: [{ count: n }], columns: ["count"] },
        brief: `There are ${fmt(n)}.`,
        prose: `The answer to "${question}" is ${fmt(n)}.\n\n• Count: ${fmt(n)}`,
      };
    }
  }
  return undefined;
}

/** A question and a query-result list for synthesis: names with a number each. */
export function listOutcome(rng: Rng): { question: string; outcome: ActionOutcome } {
  const d = rng.pick(DOMAINS);
  const l = rng.pick(d.labels);
  const [p] = l.numeric;
  const k = rng.range(2, Math.min(5, l.values.length));
  const names = rng.sample(l.values, k);
  const rows = names.map((name) => ({ [l.key]: name, [p]: rng.range(1, 5000) })).sort((a, b) => (b[p] as number) - (a[p] as number));
  const question = rng.pick([
    `top ${k} ${labelWords(l.label)} by ${p}`,
    `which ${labelWords(l.label)} have the highest ${p}`,
    `list ${labelWords(l.label)} with their ${p}`,
  ]);
  const bullets = rows.map((r) => `• ${String(r[l.key])}: ${fmt(r[p] as number)}`).join("\n");
  return {
    question,
    outcome: {
      message: `Query returned ${rows.length} rows`,
      data: { columns: [l.key, p], rows },
      brief: rows.map((r) => `${String(r[l.key])} (${fmt(r[p] as number)})`).join(", ") + ".",
      prose: `Here are the ${labelWords(l.label)} ordered by ${p}:\n\n${bullets}\n\n${String(rows[0]![l.key])} has the highest ${p} at ${fmt(rows[0]![p] as number)}.`,
    },
  };
}
