import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { checkCypher } from "@neural/cypher";
import { loadTokenizer } from "@neural/dataset";
import { collectRows, type Row } from "@neural/generators";
import { realTokenizer } from "@neural/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinRegistry, checkParams, type Registry } from "./actions.js";
import { CATEGORIES, heimdallGenerator, type HeimdallRow } from "./index.js";
import { parseEnvelope2025, parseEnvelopeLater } from "./judge.js";
import {
  actionResultJson,
  autocompletePrompt,
  buildChatPrompt,
  buildFullPrompt,
  CYPHER_PRIMER,
  estimateTokens,
  graphRagBlock,
  loopContinuation,
  loopPrompt,
  qcPrompt,
  synthesisPrompt,
} from "./protocol.js";

// The reference's literal strings (nornicdb-heimdall.md), written out here, not taken from the builders.
const IDENTITY =
  "You are Heimdall, the AI assistant for NornicDB - a high-performance graph database.\nYour role is to help users manage the database by executing actions and running Cypher queries.\n\n";
const MODES =
  'RESPONSE MODES:\n\n1. ACTION MODE - For database operations, respond with JSON:\n   {"action": "heimdall.watcher.status", "params": {}}\n   {"action": "heimdall.watcher.query", "params": {"cypher": "MATCH (n) RETURN count(n)"}}\n' +
  "\n2. HELP MODE - For Cypher questions, explain and provide examples:\n   - If asked about Cypher syntax, explain clearly with examples\n   - If asked how to write a query, provide the query AND explain it\n   - Be helpful and educational\n" +
  "\nIMPORTANT: Always complete your JSON responses with proper closing braces.\n\n";
const FINAL = "Respond with JSON action command only. No explanations, no markdown.\n";

/** The full system prompt by the reference's recipe, from a catalogue text, a context and examples. */
function referenceSystem(catalogue: string, context: string | undefined, examples: { userSays: string; actionJson: string }[]): string {
  let s = IDENTITY + "AVAILABLE ACTIONS:\n" + catalogue + "\n" + CYPHER_PRIMER + "\n" + MODES;
  if (context) s += "ADDITIONAL CONTEXT:\n" + context + "\n\n";
  if (examples.length) s += "EXAMPLES:\n" + examples.map((e) => `User: "${e.userSays}"\n\u2192 ${e.actionJson}\n\n`).join("");
  return s + FINAL;
}

const COUNT = 450;
let rows: HeimdallRow[];

beforeAll(async () => {
  rows = (await collectRows(heimdallGenerator, { count: COUNT, seed: "spec" })).rows as unknown as HeimdallRow[];
});

const answerOf = (r: HeimdallRow) => ("messages" in r ? r.messages.at(-1)!.content : r.text.slice(r.prompt_end));
const promptOf = (r: HeimdallRow) => ("messages" in r ? buildChatPrompt(r.messages.slice(0, -1)) : r.text.slice(0, r.prompt_end));

describe("rows", () => {
  it("are exactly as many as asked, unique, seeded, with every category", async () => {
    expect(rows).toHaveLength(COUNT);
    expect(new Set(rows.map((r) => JSON.stringify(r))).size).toBe(COUNT);
    expect(new Set(rows.map((r) => `${promptOf(r)}\u0000${answerOf(r)}`)).size).toBe(COUNT);
    expect(new Set(rows.map((r) => r.category))).toEqual(new Set(CATEGORIES));
    const again = (await collectRows(heimdallGenerator, { count: COUNT, seed: "spec" })).rows;
    expect(JSON.stringify(again)).toBe(JSON.stringify(rows));
    const mixed = (await collectRows(heimdallGenerator, { count: 100, seed: 1, generatorOptions: { mix: "chat_action=70,synthesis=30" } }))
      .rows as Row[];
    expect(mixed.filter((r) => r.category === "chat_action")).toHaveLength(70);
    expect(mixed.filter((r) => r.category === "synthesis")).toHaveLength(30);
  });

  it("carry envelopes that parse by both releases' rules and validate against the schema; prose answers parse as no envelope", () => {
    const registry = builtinRegistry("dotted");
    let envelopes = 0;
    for (const r of rows.filter((x) => x.path === "chat" || x.path === "loop")) {
      const answer = answerOf(r);
      const a = parseEnvelope2025(answer, registry);
      const b = parseEnvelopeLater(answer, registry);
      const e = r.expect;
      if ("action" in e) {
        envelopes++;
        expect(a).toMatchObject({ kind: "action", action: e.action });
        expect(b).toMatchObject({ kind: "action", action: e.action });
        expect(a.kind === "action" && a.params).toEqual(e.params);
        expect(
          checkParams(
            registry.actions.find((x) => x.name === e.action)!,
            e.params,
          ),
        ).toBeUndefined();
        expect(answer).not.toMatch(/\n/);
      } else {
        expect(a.kind).toBe("text");
        expect(b.kind).toBe("text");
        expect(answer).not.toContain("{");
      }
    }
    expect(envelopes).toBeGreaterThan(150);
  });

  it("carry Cypher that Neo4j's parser accepts: query params, help answers, autocomplete lines", () => {
    const queries: string[] = [];
    for (const r of rows) {
      if ("action" in r.expect && typeof r.expect.params.cypher === "string") queries.push(r.expect.params.cypher);
      if (r.category === "chat_help") queries.push(answerOf(r).split("\n\n")[1]!);
      if (r.path === "autocomplete") queries.push(answerOf(r));
    }
    expect(queries.length).toBeGreaterThan(100);
    for (const q of queries) expect(checkCypher(q).ok, q).toBe(true);
  });

  it("build chat system prompts byte for byte as the server does, the catalogue shuffled per row", () => {
    const registry = builtinRegistry("dotted");
    const catalogues = new Set<string>();
    for (const r of rows.filter((x): x is Extract<HeimdallRow, { messages: unknown }> => "messages" in x)) {
      const system = r.messages[0]!.content;
      const catalogue = system.slice(system.indexOf("AVAILABLE ACTIONS:\n") + 19, system.indexOf("\n" + CYPHER_PRIMER));
      catalogues.add(catalogue);
      // The catalogue holds each action once, as `- {name}: {description}` under its category.
      for (const a of registry.actions) expect(catalogue.split(`- ${a.name}: ${a.description}\n`)).toHaveLength(2);
      const contextStart = system.indexOf("ADDITIONAL CONTEXT:\n");
      const context = contextStart < 0 ? undefined : system.slice(contextStart + 20, system.indexOf("\n\nEXAMPLES:\n"));
      expect(system).toBe(referenceSystem(catalogue, context, registry.promptExamples as { userSays: string; actionJson: string }[]));
      expect(estimateTokens(system)).toBeLessThanOrEqual(6000);
      if (r.category === "chat_rag") expect(context).toMatch(/^\n\n=== KNOWLEDGE FROM GRAPH DATABASE ===\n/);
    }
    expect(catalogues.size).toBeGreaterThan(20);
  });

  it("build raw-text prompts from the reference's literal strings", () => {
    for (const r of rows) {
      const prompt = promptOf(r);
      if (r.path === "synthesis") {
        expect(
          prompt.startsWith(
            "You are Heimdall, the AI assistant for NornicDB. Answer the user's question using the data provided.\n\nUSER QUESTION: ",
          ),
        ).toBe(true);
        expect(prompt.endsWith("9. Do NOT suggest commands - just present the data\n\nYOUR RESPONSE:")).toBe(true);
        expect(Buffer.byteLength(answerOf(r))).toBeGreaterThanOrEqual(50);
        expect(answerOf(r)).not.toMatch(/^[{[]/);
      }
      if (r.path === "loop")
        expect(prompt).toMatch(
          /\nUser: [^\n]+\n\nIf the ADDITIONAL CONTEXT above contains KNOWLEDGE FROM GRAPH DATABASE, answer from it in one short sentence\. Otherwise output one line: \{"action": "<name>", "params": \{\.\.\.\}\} or a direct answer\.\n\nAssistant: (.|\n)*Assistant: $|\n\nAssistant: $/,
        );
      if (r.path === "qc")
        expect(
          prompt.startsWith(
            'Review graph edges. Output JSON only.\nFormat: {"approved":[indices],"rejected":[indices],"reasoning":"why"}\nApprove if nodes are meaningfully related. Reject spam/duplicates.\n\nSRC:',
          ),
        ).toBe(true);
    }
  });

  it("stay within the prefill chunk measured with a real tokenizer (Qwen2.5)", async () => {
    const qwen = realTokenizer("qwen2.5");
    const dir = await mkdtemp(path.join(tmpdir(), "heimdall-tok-"));
    await writeFile(path.join(dir, "tokenizer.json"), JSON.stringify(qwen.tokenizer));
    await writeFile(path.join(dir, "tokenizer_config.json"), JSON.stringify(qwen.config));
    const { rows: fitted, summary } = await collectRows(heimdallGenerator, {
      count: 60,
      seed: 3,
      generatorOptions: { tokenizer: dir, mix: "chat_action=40,chat_rag=20,synthesis=20,qc=10,autocomplete=10" },
    });
    const tokenizer = await loadTokenizer(dir);
    expect(fitted).toHaveLength(60);
    for (const r of fitted as unknown as HeimdallRow[]) expect(tokenizer.encode(promptOf(r)).length).toBeLessThanOrEqual(2048);
    expect(summary.count).toBe(60);
  });
});

describe("literal prompts", () => {
  it("match the reference for fixed inputs", () => {
    const catalogue = "## monitoring\n- heimdall.watcher.status: Get status\n\n";
    expect(
      buildFullPrompt({
        actionPrompt: catalogue,
        examples: [{ userSays: "status", actionJson: '{"action": "heimdall.watcher.status", "params": {}}' }],
      }),
    ).toBe(
      referenceSystem(catalogue, undefined, [{ userSays: "status", actionJson: '{"action": "heimdall.watcher.status", "params": {}}' }]),
    );
    expect(
      buildChatPrompt([
        { role: "system", content: "S" },
        { role: "tool", content: "x" },
        { role: "user", content: "U" },
      ]),
    ).toBe("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n");
    expect(
      graphRagBlock([
        {
          type: "Person",
          title: "Alice",
          properties: [["city", "Berlin"]],
          related: [{ direction: "out", type: "Company", title: "Acme", via: "WORKS_AT" }],
        },
      ]),
    ).toBe(
      "\n\n=== KNOWLEDGE FROM GRAPH DATABASE ===\nThe following information was found in the knowledge graph and may help answer the user's question:\n\n" +
        "### 1. [Person] Alice\nProperties:\n  - city: Berlin\nRelated:\n  \u2192 [Company] Acme (via WORKS_AT)\n\n" +
        "=== END KNOWLEDGE ===\n\nUse the above knowledge to help answer the user's question. If you can answer directly, do so. If more detailed search is needed, use the heimdall.watcher.discover action.\n",
    );
    expect(loopPrompt("SYS", [{ name: "t", description: "d", inputSchema: "{}" }], "hi")).toBe(
      'SYS\n\nTOOLS AVAILABLE TO YOU:\n- t: d | inputSchema: {}\n\nUser: hi\n\nIf the ADDITIONAL CONTEXT above contains KNOWLEDGE FROM GRAPH DATABASE, answer from it in one short sentence. Otherwise output one line: {"action": "<name>", "params": {...}} or a direct answer.\n\nAssistant: ',
    );
    expect(loopContinuation("X", actionResultJson({ success: true, message: "a<b", data: { z: 1, a: "&" } }))).toBe(
      'X\n\nTool result: {"success":true,"message":"a\\u003cb","data":{"a":"\\u0026","z":1}}\n\nOutput exactly one line: either {"action": "<name>", "params": {...}} or a brief direct answer to the user. No thinking, no examples, no repetition.\n\nAssistant: ',
    );
    expect(synthesisPrompt("q?", "m", { b: 2, a: [1] })).toBe(
      'You are Heimdall, the AI assistant for NornicDB. Answer the user\'s question using the data provided.\n\nUSER QUESTION: q?\n\nFORMATTED DATA:\nm\n\nRAW DATA (JSON):\n{\n  "a": [\n    1\n  ],\n  "b": 2\n}\n\nINSTRUCTIONS:\n' +
        "1. Answer the user's question directly and completely\n2. Include ALL relevant data points from above - don't omit information\n3. Format your response with clear sections if there are multiple categories\n4. Use bullet points (\u2022) for lists\n5. For feature flags, list each flag with its status (enabled/disabled)\n6. For statistics, include the actual numbers\n7. Be helpful and informative, not brief\n8. Do NOT output JSON - write natural language\n9. Do NOT suggest commands - just present the data\n\nYOUR RESPONSE:",
    );
    expect(autocompletePrompt({ labels: ["Person"], relationshipTypes: ["KNOWS"] }, "MATCH (n:Person")).toBe(
      "Complete this Cypher query. Output ONLY the single completed Cypher line. No explanations, no reasoning, no commentary about the user.\n\nNode labels: Person\nRelationship types (use in patterns like (a)-[:TYPE]->(b)): KNOWS\n" +
        'Rules:\n- Output ONLY the Cypher query line, nothing else\n- No "the user", "they are", "I need to", or any meta-commentary\n- Properties: n.propertyName. Relationships: (a)-[:TYPE]->(b)\n- If missing LIMIT statement at the end, add LIMIT 25 at the end\n\nCurrent query:\nMATCH (n:Person\n\nComplete Cypher query (one line only):',
    );
    expect(
      qcPrompt({
        sourceId: "a",
        labels: ["Person", "Doc"],
        properties: [["name", "x".repeat(201)]],
        candidates: [{ targetId: "b", type: "KNOWS", confidence: 0.875 }],
      }),
    ).toBe(
      `Review graph edges. Output JSON only.\nFormat: {"approved":[indices],"rejected":[indices],"reasoning":"why"}\nApprove if nodes are meaningfully related. Reject spam/duplicates.\n\nSRC:a[Person Doc]\n name:${"x".repeat(197)}...\nEDGES:\n0.b\u2192KNOWS(88%)\n`,
    );
  });
});

describe("registries", () => {
  it("underscore naming: heimdall_watcher_* names with the later release's schemas", async () => {
    const { rows: out } = await collectRows(heimdallGenerator, {
      count: 60,
      seed: 5,
      generatorOptions: { naming: "underscore", mix: "chat_action=1,loop_call=1" },
    });
    const registry: Registry = builtinRegistry("underscore");
    for (const r of out as unknown as HeimdallRow[]) {
      expect(r.naming).toBe("underscore");
      const e = r.expect as { action: string; params: Record<string, unknown> };
      expect(e.action).toMatch(/^heimdall_watcher_/);
      expect(parseEnvelopeLater(answerOf(r), registry)).toMatchObject({ kind: "action", action: e.action });
      expect(
        checkParams(
          registry.actions.find((a) => a.name === e.action)!,
          e.params,
        ),
      ).toBeUndefined();
    }
  });

  it("--actions FILE: a user's registry with its own schemas and requests; a bad file names the field", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "heimdall-reg-"));
    const file = path.join(dir, "actions.json");
    await writeFile(
      file,
      JSON.stringify({
        actions: [
          {
            name: "shop_refund",
            category: "orders",
            description: "Refund an order (params: order_id)",
            schema: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
            examples: [
              { user: "refund order 7", params: { order_id: "7" } },
              { user: "give the money back for order 9", params: { order_id: "9" } },
            ],
          },
          {
            name: "shop_stock",
            category: "inventory",
            description: "Stock level of a product",
            examples: [{ user: "how much stock is left", params: {} }],
          },
        ],
      }),
    );
    const { rows: out } = await collectRows(heimdallGenerator, {
      count: 8,
      seed: 1,
      generatorOptions: { actions: file, mix: "chat_action=1" },
    });
    for (const r of out as unknown as HeimdallRow[]) {
      expect(["shop_refund", "shop_stock"]).toContain((r.expect as { action: string }).action);
      expect((r as { messages: { content: string }[] }).messages[0]!.content).toContain(
        "## orders\n- shop_refund: Refund an order (params: order_id)\n",
      );
    }
    await writeFile(
      file,
      JSON.stringify([
        { name: "x", description: "y", schema: { type: "object", required: ["id"] }, examples: [{ user: "do x", params: {} }] },
      ]),
    );
    await expect(collectRows(heimdallGenerator, { count: 1, seed: 1, generatorOptions: { actions: file } })).rejects.toThrow(
      /actions\[0\]\.examples\[0\]\.params: missing required field "id"/,
    );
  });
});
